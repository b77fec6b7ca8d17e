//! The crate's one public error type: every failure a caller can see, by layer.

use crate::protocol::{ApiError, ProtocolError};
use crate::transport::TransportError;

/// Everything that can go wrong between a call and its answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The server answered something that is not a valid protocol message.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The request did not complete (network, HTTP status without a protocol body, abort).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The server refused the request with a protocol error (CloudStack `errorcode`/`errortext`).
    #[error("{0}")]
    Api(ApiError),
    /// The server refused the login (CloudStack 531, 401 on older servers).
    #[error("login refused: {0}")]
    LoginFailed(ApiError),
    /// The job ran and ended in failure; the job itself is finished.
    #[error("job {job_id} failed: {error}")]
    JobFailed {
        /// The job that failed.
        job_id: String,
        /// The server's reason.
        error: ApiError,
        /// The job's whole final status object as the server sent it (CloudStack's
        /// `queryAsyncJobResult` answer, CLM's Task), for what [`ApiError`] does not name.
        raw: Box<serde_json::Value>,
    },
    /// The client stopped waiting before the job finished; the job may still be running.
    #[error("stopped waiting for job {job_id} after {waited_ms} ms; the job may still be running")]
    WaitTimedOut {
        /// The job that was being waited for.
        job_id: String,
        /// How long the client waited.
        waited_ms: u64,
    },
    /// The caller's configuration or arguments are unusable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
