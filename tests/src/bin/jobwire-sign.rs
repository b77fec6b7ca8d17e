//! Prints a signed CloudStack request, for load tools (`./dev bench` feeds it to wrk and curl):
//!
//! ```text
//! jobwire-sign <endpoint> <api-key> <secret-key> <command> [name=value ...]
//! ```
//!
//! The signature uses signatureVersion 3 with `expires` one hour ahead, so one URL serves a
//! whole benchmark run.

use std::process::ExitCode;

use jobwire::protocol::cloudstack::{Auth, Request};
use jobwire::protocol::Format;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, api_key, secret_key, command, params @ ..] = args.as_slice() else {
        eprintln!("usage: jobwire-sign <endpoint> <api-key> <secret-key> <command> [name=value ...]");
        return ExitCode::from(2);
    };
    let mut request = Request::new(command.as_str());
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            eprintln!("jobwire-sign: parameter {param:?} is not name=value");
            return ExitCode::from(2);
        };
        request = request.param(name, value);
    }
    let auth = Auth::ApiKey { api_key: api_key.clone(), secret_key: secret_key.clone(), expires_in_secs: Some(3600) };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    println!("{endpoint}?{}", request.encode(Format::Json, &auth, now));
    ExitCode::SUCCESS
}
