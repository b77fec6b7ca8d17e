//! Apache CloudStack: request building and signing ([`request`], [`signing`]) and response
//! parsing into the shared job model ([`response`]).

pub mod objects;
pub mod request;
pub mod response;
pub mod serialize;
pub mod session;
pub mod signing;

pub use request::{Auth, Request};
pub use response::{
    parse_async_submit, parse_envelope, parse_job_list, parse_job_status, AsyncSubmit, Envelope, JobList,
};
pub use session::{login_request, parse_login, LoginError, LoginSession};
