//! Apache CloudStack: request building and signing ([`request`], [`signing`]) and response
//! parsing into the shared job model ([`response`]).

pub mod request;
pub mod response;
pub mod signing;

pub use request::{Auth, Request};
pub use response::{parse_async_submit, parse_envelope, parse_job_status, AsyncSubmit, Envelope};
