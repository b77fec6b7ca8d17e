//! The seed's verbatim XML examples (CloudStack API guide §4.5) and their JSON equivalents
//! read into the same model.
#![cfg(not(target_arch = "wasm32"))]

use jobwire::protocol::cloudstack::objects::{typed_result, VirtualMachine};
use jobwire::protocol::cloudstack::{parse_async_submit, parse_envelope, parse_job_status};
use jobwire::protocol::{ApiError, Format, JobSnapshot, JobState};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/cloudstack/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture in JSON, and in XML where this build reads XML (the `xml` feature).
fn both(stem: &str) -> Vec<(Format, Vec<u8>)> {
    let mut bodies = vec![(Format::Json, fixture(&format!("{stem}.json")))];
    if cfg!(feature = "xml") {
        bodies.push((Format::Xml, fixture(&format!("{stem}.xml"))));
    }
    bodies
}

fn status(format: Format, body: &[u8]) -> JobSnapshot {
    parse_job_status(&parse_envelope(body, format).unwrap()).unwrap()
}

#[test]
fn seed_submit_gives_job_and_resource_ids() {
    for (format, body) in both("seed-submit") {
        let submit = parse_async_submit(&parse_envelope(&body, format).unwrap()).unwrap();
        assert_eq!((submit.job_id.as_str(), submit.resource_id.as_deref()), ("1", Some("100")), "{format:?}");
    }
}

#[test]
fn seed_pending() {
    for (format, body) in both("seed-pending") {
        let job = status(format, &body);
        assert_eq!((job.job_id.as_str(), job.state, job.progress), ("1", JobState::Pending, Some(1.0)), "{format:?}");
        assert_eq!((job.result, job.error), (None, None));
    }
}

#[test]
fn seed_succeeded_with_the_virtual_machine() {
    for (format, body) in both("seed-succeeded") {
        let job = status(format, &body);
        assert_eq!(job.state, JobState::Succeeded, "{format:?}");
        let result = job.result.unwrap();
        let vm: VirtualMachine = typed_result(&result, "virtualmachine").unwrap().unwrap();
        assert_eq!(vm.id, "450");
        assert_eq!(vm.name.as_deref(), Some("i-2-450-VM"));
        assert_eq!(vm.cpunumber, Some(1));
        assert_eq!(vm.memory, Some(512));
        assert_eq!(vm.nic.len(), 1);
        assert_eq!(vm.nic[0].ipaddress.as_deref(), Some("10.1.1.225"));
        // Fields the typed view does not name are still in the raw result.
        assert_eq!(result["virtualmachine"]["hypervisor"], "XenServer");
    }
}

#[test]
fn seed_failed_with_the_capacity_text() {
    for (format, body) in both("seed-failed") {
        let job = status(format, &body);
        assert_eq!(job.state, JobState::Failed, "{format:?}");
        assert_eq!(
            job.error,
            Some(ApiError {
                code: 551,
                cs_error_code: None,
                text: "Unable to deploy virtual machine id = 100 due to not enough capacity".into()
            })
        );
    }
}
