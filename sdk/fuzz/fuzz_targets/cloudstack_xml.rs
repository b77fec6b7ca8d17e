//! Every CloudStack reader on arbitrary XML bytes: errors are fine, panics are bugs.
#![no_main]

use jobwire::protocol::cloudstack::{parse_async_submit, parse_envelope, parse_job_list, parse_job_status, parse_login};
use jobwire::protocol::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = parse_envelope(data, Format::Xml) {
        let _ = envelope.api_error();
        let _ = parse_async_submit(&envelope);
        let _ = parse_job_status(&envelope).map(|job| job.status());
        let _ = parse_job_list(&envelope);
        let _ = parse_login(&envelope);
    }
});
