//! The Jobwire dashboard (Leptos CSR). It uses only the public `jobwire` SDK, like any other app.
//! Views live in the library so browser tests can mount them.

pub mod api;
mod app;
pub mod bench;
pub mod browser;
pub mod components;
pub mod state;
pub mod tracker;

pub use app::App;
pub use state::{JobData, JobRow};
