//! Jobwire: track the asynchronous jobs of cloud APIs (Apache CloudStack, BMC CLM) as plain
//! futures in Rust and Promises in JavaScript.
//!
//! Layers, each depending only on the ones above it:
//! - [`protocol`]: pure data and parsing (requests, signing, JSON/XML responses);
//! - [`engine`]: sans-IO decisions (when to poll next), testable with a fake clock;
//! - [`transport`]: one `send` function, `fetch` in wasm and reqwest natively;
//! - [`client`]: the Rust API gluing the three together;
//! - `js` (wasm only, feature `js`, on by default): the wasm-bindgen API exported to JavaScript.
//!
//! Feature `xml` (on by default) reads and writes CloudStack's XML answers; without it the
//! crate reads JSON only (the npm package's build: every CloudStack command answers in JSON).
//! In wasm, JSON is read and written by the host's `JSON.parse` / `JSON.stringify`
//! ([`protocol::json`]).
//!
//! Natively every future of the clients is `Send` (given `Send` callbacks): a wait can be
//! `tokio::spawn`ed on a multi-threaded runtime. In WebAssembly nothing needs to be (see
//! [`MaybeSend`]).

pub mod client;
pub mod engine;
pub mod error;
pub mod protocol;
pub mod time;
pub mod transport;

#[cfg(all(target_arch = "wasm32", any(feature = "js", feature = "js-core")))]
pub mod js;

// Unit tests run in headless Chromium too when built for wasm.
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

pub use client::{
    ApiKeyCredentials, ClientConfig, ClmClient, ClmConfig, Credentials, JobClient, MaybeSend, SessionCredentials,
    SubmittedJob, WaitEvent,
};
pub use error::{Error, Result};
pub use protocol::{JobSnapshot, JobState};

// Feature `small-alloc` (the npm package): Talc instead of std's dlmalloc, 2 KB smaller gzipped.
#[cfg(all(feature = "small-alloc", target_arch = "wasm32"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
