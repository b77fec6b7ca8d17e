//! Every CLM reader on arbitrary bytes: errors are fine, panics are bugs.
#![no_main]

use jobwire::protocol::clm::response::{parse_response, parse_task_result, parse_task_status};
use jobwire::protocol::JobSnapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_response(data);
    if let Ok(task) = parse_task_status(data) {
        let _ = JobSnapshot::from(&task).status();
    }
    let _ = parse_task_result(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = jobwire::protocol::clm::date::parse_clm_date(text);
        let _ = jobwire::protocol::date::parse_cloudstack_date(text);
    }
});
