//! The Jobwire dashboard (Leptos CSR). It uses only the public `jobwire` SDK, like any other app.
//! Views live in the library so browser tests can mount them.

mod api;
mod app;
mod components;
mod state;

pub use app::App;
pub use state::{JobData, JobRow};
