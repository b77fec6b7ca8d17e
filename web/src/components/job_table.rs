//! The jobs table: sorted, filtered and virtualized (only the rows in view are in the DOM, at a
//! fixed height, between two spacer rows that give the scroll area its full height).

use leptos::html;
use leptos::prelude::*;

use crate::browser::clock;
use crate::state::{state_label, view_rows, Filters, JobRow, SortKey};

/// Height of one row in pixels (the CSS pins it too).
pub const ROW_HEIGHT: f64 = 36.0;
/// Rows rendered beyond each edge of the view.
const OVERSCAN: usize = 6;

#[component]
fn SortHeader(label: &'static str, key: SortKey, filters: RwSignal<Filters>) -> impl IntoView {
    let aria = move || {
        filters.with(|f| match (f.sort == key, f.ascending) {
            (false, _) => "none",
            (true, true) => "ascending",
            (true, false) => "descending",
        })
    };
    let arrow = move || {
        filters.with(|f| match (f.sort == key, f.ascending) {
            (false, _) => "",
            (true, true) => " ▲",
            (true, false) => " ▼",
        })
    };
    let toggle = move |_| {
        filters.update(|f| {
            if f.sort == key {
                f.ascending = !f.ascending;
            } else {
                f.sort = key;
                f.ascending = false;
            }
        })
    };
    view! {
        <th scope="col" aria-sort=aria>
            <button type="button" class="sort" data-testid=format!("sort-{}", key.as_str()) on:click=toggle>
                {label}
                {arrow}
            </button>
        </th>
    }
}

/// The table of `jobs` as `filters` selects and orders them. `revision` re-sorts (state
/// changes are batched into it); `selected` is the job whose detail is open.
#[component]
pub fn JobTable(
    jobs: Signal<Vec<JobRow>>,
    filters: RwSignal<Filters>,
    revision: Signal<u64>,
    now_ms: Signal<f64>,
    selected: RwSignal<Option<String>>,
) -> impl IntoView {
    let rows = Memo::new(move |_| {
        revision.track();
        let f = filters.get();
        jobs.with(|all| view_rows(all, &f))
    });
    let scroller = NodeRef::<html::Div>::new();
    let scroll_top = RwSignal::new(0.0_f64);
    let viewport = RwSignal::new(480.0_f64);
    let cursor = RwSignal::new(None::<String>);
    let total = move || rows.with(Vec::len);
    let first = move || ((scroll_top.get() / ROW_HEIGHT).floor() as usize).saturating_sub(OVERSCAN);
    let visible = Memo::new(move |_| {
        let start = first();
        let count = (viewport.get() / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN;
        rows.with(|rows| {
            let end = (start + count).min(rows.len());
            let start = start.min(end);
            (start..end).map(|i| (i, rows[i].clone())).collect::<Vec<_>>()
        })
    });
    let top_pad = move || format!("{}px", visible.with(|v| v.first().map_or(0, |(i, _)| *i)) as f64 * ROW_HEIGHT);
    let bottom_pad = move || {
        let after = visible.with(|v| v.last().map_or(0, |(i, _)| i + 1));
        format!("{}px", (total().saturating_sub(after)) as f64 * ROW_HEIGHT)
    };
    let on_scroll = move |_| {
        if let Some(el) = scroller.get_untracked() {
            scroll_top.set(f64::from(el.scroll_top()));
            viewport.set(f64::from(el.client_height()).max(ROW_HEIGHT));
        }
    };
    Effect::new(move |_| {
        if let Some(el) = scroller.get() {
            viewport.set(f64::from(el.client_height()).max(ROW_HEIGHT));
        }
    });
    // Keyboard: arrows, Page Up/Down, Home/End move the cursor; Enter opens its detail.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let len = total();
        if len == 0 {
            return;
        }
        let page = ((viewport.get_untracked() / ROW_HEIGHT) as usize).max(1);
        let current =
            cursor.get_untracked().and_then(|id| rows.with_untracked(|rows| rows.iter().position(|r| r.id == id)));
        let target = match (ev.key().as_str(), current) {
            ("ArrowDown", None) | ("Home", _) => 0,
            ("ArrowDown", Some(i)) => (i + 1).min(len - 1),
            ("ArrowUp", Some(i)) => i.saturating_sub(1),
            ("ArrowUp", None) => 0,
            ("PageDown", i) => (i.unwrap_or(0) + page).min(len - 1),
            ("PageUp", i) => i.unwrap_or(0).saturating_sub(page),
            ("End", _) => len - 1,
            ("Enter" | " ", Some(_)) => {
                ev.prevent_default();
                selected.set(cursor.get_untracked());
                return;
            }
            ("Escape", _) => {
                selected.set(None);
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        cursor.set(rows.with_untracked(|rows| rows.get(target).map(|r| r.id.clone())));
        if let Some(el) = scroller.get_untracked() {
            let top = target as f64 * ROW_HEIGHT;
            let header = ROW_HEIGHT;
            let view = f64::from(el.client_height());
            let current_top = f64::from(el.scroll_top());
            if top < current_top {
                el.set_scroll_top(top as i32);
            } else if top + ROW_HEIGHT + header > current_top + view {
                el.set_scroll_top((top + ROW_HEIGHT + header - view) as i32);
            }
        }
    };
    let active = move || cursor.get().map(|id| format!("job-row-{id}"));
    view! {
        <div
            class="table-scroll"
            node_ref=scroller
            on:scroll=on_scroll
            on:keydown=on_key
            tabindex="0"
            role="region"
            aria-label="Jobs (arrow keys move, Enter opens the detail)"
            aria-activedescendant=active
            data-testid="job-table"
        >
            <table class="jobs" role="grid" aria-label="Jobs" aria-rowcount=move || total() + 1>
                <thead>
                    <tr aria-rowindex="1">
                        <th scope="col">"Job"</th>
                        <SortHeader label="Command" key=SortKey::Command filters />
                        <th scope="col">"Resource"</th>
                        <SortHeader label="State" key=SortKey::State filters />
                        <th scope="col">"Progress"</th>
                        <SortHeader label="Started" key=SortKey::Started filters />
                        <th scope="col" class="num">"Elapsed"</th>
                    </tr>
                </thead>
                <tbody>
                    <tr class="spacer" aria-hidden="true" style:height=top_pad></tr>
                    <For
                        each=move || visible.get()
                        key=|(i, row)| (*i, row.id.clone())
                        children=move |(i, row)| view! { <JobRowView index=i row now_ms cursor selected /> }
                    />
                    <tr class="spacer" aria-hidden="true" style:height=bottom_pad></tr>
                </tbody>
            </table>
            <Show when=move || total() == 0>
                <p class="empty" data-testid="empty">
                    {move || if jobs.with(Vec::is_empty) { "No jobs yet: submit a command to start one." } else { "No job matches the filters." }}
                </p>
            </Show>
        </div>
    }
}

#[component]
fn JobRowView(
    index: usize,
    row: JobRow,
    now_ms: Signal<f64>,
    cursor: RwSignal<Option<String>>,
    selected: RwSignal<Option<String>>,
) -> impl IntoView {
    let data = row.data;
    let id = row.id.clone();
    let is_cursor = {
        let id = id.clone();
        move || cursor.with(|c| c.as_deref() == Some(id.as_str()))
    };
    let is_open = {
        let id = id.clone();
        move || selected.with(|c| c.as_deref() == Some(id.as_str()))
    };
    let open = {
        let id = id.clone();
        move |_| {
            cursor.set(Some(id.clone()));
            selected.set(Some(id.clone()));
        }
    };
    let state = move || data.with(|d| state_label(d.state));
    let progress = move || data.with(|d| d.shown_progress(now_ms.get()).round() as u32);
    let started = data.with_untracked(|d| clock(d.started_ms));
    view! {
        <tr
            id=format!("job-row-{id}")
            data-testid="job-row"
            role="row"
            aria-rowindex=index + 2
            class:cursor=is_cursor.clone()
            class:selected=is_open
            aria-selected=move || is_cursor().to_string()
            on:click=open
        >
            <td class="mono ellipsis" data-testid="job-id" title=row.id.clone()>{row.id.clone()}</td>
            <td class="ellipsis" title=format!("{} · {}", row.protocol.label(), row.source)>
                <span class=format!("proto {}", row.protocol.as_str()) data-testid="job-protocol">{row.protocol.label()}</span>
                " "
                <span data-testid="job-command">{row.command.clone()}</span>
            </td>
            <td class="mono ellipsis" data-testid="job-resource">{row.resource_id.clone().unwrap_or_default()}</td>
            <td>
                <span class=move || format!("badge {}", state()) data-testid="job-state">{state}</span>
            </td>
            <td class="progress-cell">
                <progress max="100" value=progress aria-label="progress"></progress>
                <span class="pct">{move || format!("{}%", progress())}</span>
            </td>
            <td class="num" data-testid="job-started">{started}</td>
            <td class="num" data-testid="job-elapsed">{move || format!("{:.1} s", data.with(|d| d.elapsed_secs(now_ms.get())))}</td>
        </tr>
    }
}
