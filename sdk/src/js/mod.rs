//! What JavaScript sees of the crate.
//!
//! - `api` (feature `js`): the wasm-bindgen `JobClient` and `Job` classes, whose async methods
//!   run the Rust [`crate::client`] and return Promises.
//! - `core` (feature `js-core`): the sans-IO exports the npm package's JavaScript driver calls
//!   (request encoding and signing, answer reading and error typing); the driver does the
//!   fetches, timers and promises, and runs the engine's JavaScript twin, itself.
//! - `engine` (feature `js-engine`): the Rust engine's decisions with the API of the driver's
//!   JavaScript twin (`sdk/js/engine/`), for the test that holds the two equal.
//!
//! Both build the JS objects and error classes the same way (`convert`).

#[cfg(feature = "js")]
mod abort;
#[cfg(feature = "js")]
mod api;
#[cfg(feature = "js")]
mod backend;
mod convert;
#[cfg(feature = "js-core")]
mod core;
#[cfg(feature = "js-engine")]
mod engine;
#[cfg(feature = "js")]
mod watch;

#[cfg(feature = "js")]
pub use api::*;
