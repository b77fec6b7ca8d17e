//! `?bench=N`: N fabricated jobs and a stream of updates without a server, for `./dev bench`
//! (time to first render, frame times while they change). Marks progress on `window.__bench`.

use jobwire::JobState;
use leptos::prelude::*;

use crate::browser::now_ms;
use crate::state::{JobRow, ResumeToken};
use crate::tracker::Dashboard;

const COMMANDS: [&str; 5] =
    ["deployVirtualMachine", "createVolume", "createSnapshot", "stopVirtualMachine", "attachVolume"];

/// `n` fabricated rows, all pending, started over the last hour.
pub fn fabricate(n: usize) -> Vec<JobRow> {
    let now = now_ms();
    (0..n)
        .map(|i| {
            let token = ResumeToken {
                job_id: format!("00000000-0000-4000-8000-{i:012}"),
                resource_id: Some(format!("10000000-0000-4000-8000-{i:012}")),
                command: COMMANDS[i % COMMANDS.len()].to_owned(),
            };
            JobRow::new(token, Vec::new(), now - (n - i) as f64 * 100.0)
        })
        .collect()
}

fn mark(name: &str, value: f64) {
    let Some(window) = web_sys::window() else { return };
    let key = js_sys::wasm_bindgen::JsValue::from_str("__bench");
    let target = js_sys::Reflect::get(&window, &key).ok().filter(|v| v.is_object()).unwrap_or_else(|| {
        let object = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&window, &key, &object);
        object.into()
    });
    let _ = js_sys::Reflect::set(&target, &name.into(), &value.into());
}

/// Loads `n` rows; after the first frame marks `rendered`, then (once `__bench.update` is set
/// by the driver) updates a tenth of the rows every frame.
pub fn start(dash: Dashboard, n: usize) {
    dash.add_now(fabricate(n));
    let rows = dash.jobs;
    let tick = std::rc::Rc::new(std::cell::Cell::new(0_usize));
    request_animation_frame(move || {
        mark("rendered", web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now()));
        let _ = set_interval_with_handle(
            move || {
                let updating = web_sys::window()
                    .and_then(|w| js_sys::Reflect::get(&w, &"__benchUpdate".into()).ok())
                    .is_some_and(|v| v.is_truthy());
                if !updating {
                    return;
                }
                let step = tick.get();
                tick.set(step + 1);
                let now = now_ms();
                rows.with_untracked(|rows| {
                    let len = rows.len();
                    let batch = (len / 10).max(1);
                    for k in 0..batch {
                        let i = (step * batch + k * 7) % len.max(1);
                        if let Some(row) = rows.get(i) {
                            // Fabricated data cycles (a real job never goes back; these are not real).
                            row.data.update(|d| {
                                let next = (d.progress.unwrap_or(0.0) + 7.0) % 100.0;
                                d.progress = Some(next);
                                d.state = match (step + i) % 17 {
                                    0 => JobState::Failed,
                                    1..=4 => JobState::Succeeded,
                                    _ => JobState::Pending,
                                };
                                d.finished_ms = d.state.is_terminal().then_some(now);
                            });
                        }
                    }
                });
                dash.touch();
            },
            std::time::Duration::from_millis(16),
        );
    });
}
