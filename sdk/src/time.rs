//! Clock access that works in browsers too: `std::time::Instant::now` panics on
//! wasm32-unknown-unknown, `web_time` maps to `performance.now()` there.

pub use web_time::{Duration, Instant, SystemTime, UNIX_EPOCH};
