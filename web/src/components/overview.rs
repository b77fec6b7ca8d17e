//! Counts by state, throughput and a duration histogram drawn as inline SVG (testable and
//! readable by screen readers, unlike a canvas).

use leptos::prelude::*;

use crate::state::{counts, duration_histogram, state_label, JobRow, ALL_STATES};

const BINS: usize = 12;
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 90.0;

/// The overview of `jobs`, recomputed when `revision` or the job list changes.
#[component]
pub fn Overview(jobs: Signal<Vec<JobRow>>, revision: Signal<u64>, now_ms: Signal<f64>) -> impl IntoView {
    let stats = Memo::new(move |_| {
        revision.track();
        jobs.with(|rows| (counts(rows), duration_histogram(rows, BINS)))
    });
    let throughput = move || {
        let now = now_ms.get();
        revision.track();
        jobs.with(|rows| {
            rows.iter()
                .filter(|r| r.data.with_untracked(|d| d.finished_ms.is_some_and(|f| now - f <= 60_000.0)))
                .count()
        })
    };
    let bars = move || {
        let (_, histogram) = stats.get();
        let max = histogram.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        let bar_w = WIDTH / histogram.counts.len() as f64;
        histogram
            .counts
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let h = (n as f64 / max) * (HEIGHT - 14.0);
                let from = i as f64 * histogram.bucket_secs;
                let to = from + histogram.bucket_secs;
                let label = format!("{from:.1}–{to:.1} s: {n} jobs");
                view! {
                    <rect
                        class="bar"
                        data-testid="histogram-bar"
                        data-count=n
                        x=format!("{:.1}", i as f64 * bar_w + 1.0)
                        y=format!("{:.1}", HEIGHT - 12.0 - h)
                        width=format!("{:.1}", (bar_w - 2.0).max(1.0))
                        height=format!("{h:.1}")
                    >
                        <title>{label}</title>
                    </rect>
                }
            })
            .collect_view()
    };
    let axis = move || {
        let (_, histogram) = stats.get();
        format!("0 s … {:.1} s", histogram.bucket_secs * histogram.counts.len() as f64)
    };
    let summary = move || {
        let (_, histogram) = stats.get();
        let finished: usize = histogram.counts.iter().sum();
        format!("Duration histogram of {finished} finished jobs, {} buckets of {:.1} s", BINS, histogram.bucket_secs)
    };
    view! {
        <section class="overview" aria-label="Overview" data-testid="overview">
            <ul class="counts">
                {ALL_STATES
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let label = state_label(s);
                        view! {
                            <li class=format!("count {label}")>
                                <span class="count-n" data-testid=format!("count-{label}")>{move || stats.get().0[i]}</span>
                                <span class="count-label">{label}</span>
                            </li>
                        }
                    })
                    .collect_view()}
                <li class="count">
                    <span class="count-n" data-testid="throughput">{throughput}</span>
                    <span class="count-label">"finished / min"</span>
                </li>
            </ul>
            <figure class="histogram">
                <svg
                    viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                    role="img"
                    aria-label=summary
                    data-testid="histogram"
                    preserveAspectRatio="none"
                >
                    {bars}
                    <line x1="0" x2=WIDTH.to_string() y1=(HEIGHT - 12.0).to_string() y2=(HEIGHT - 12.0).to_string() class="axis" />
                </svg>
                <figcaption>"Durations of finished jobs, " <span data-testid="histogram-range">{axis}</span></figcaption>
            </figure>
        </section>
    }
}
