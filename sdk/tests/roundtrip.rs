//! Property tests: reading what the serializer writes gives back the same job, in JSON and XML.
#![cfg(all(not(target_arch = "wasm32"), feature = "xml"))]

use jobwire::protocol::cloudstack::serialize::{job_to_object, render_envelope};
use jobwire::protocol::cloudstack::{parse_envelope, parse_job_status};
use jobwire::protocol::{ApiError, Format, JobSnapshot, JobState};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Text that survives XML: printable characters, markup included (it must be escaped).
fn text() -> impl Strategy<Value = String> {
    "[ -~éü€<>&\"']{0,24}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,11}"
}

/// Result trees XML can carry: text leaves, objects with at least one field, lists of two or
/// more objects (XML cannot tell a one-item list from an object, nor type its numbers).
fn xml_tree() -> impl Strategy<Value = Value> {
    let leaf = text().prop_map(Value::String);
    leaf.prop_recursive(4, 32, 4, |inner| {
        let object = prop::collection::btree_map(name(), inner.clone(), 1..4)
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
            .boxed();
        prop_oneof![
            object.clone(),
            (name(), prop::collection::vec(object, 2..4))
                .prop_map(|(key, items)| Value::Object(Map::from_iter([(key, Value::Array(items))]))),
        ]
    })
}

/// Result trees JSON can carry: any value with integer numbers.
fn json_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(name(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn job(result: impl Strategy<Value = Value>) -> impl Strategy<Value = JobSnapshot> {
    let state = prop_oneof![
        Just(JobState::Pending),
        Just(JobState::Succeeded),
        Just(JobState::Failed),
        Just(JobState::Cancelled)
    ];
    (
        "[A-Za-z0-9-]{1,36}",
        state,
        prop::option::of(0i64..=100),
        prop::option::of(0i64..1000),
        prop::collection::btree_map(name(), result, 1..3),
        (0i64..1000, prop::option::of(0i64..10_000), "[ -~]{1,30}"),
        prop::option::of("[a-zA-Z.]{1,40}"),
        prop::option::of("20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\\+0000"),
    )
        .prop_map(|(job_id, state, progress, result_code, result, (code, cs, error_text), command, created)| {
            let result = Value::Object(result.into_iter().collect());
            let error = ApiError { code, cs_error_code: cs, text: error_text };
            JobSnapshot {
                job_id,
                state,
                progress: progress.map(|p| p as f64),
                result_code,
                result: (state == JobState::Succeeded).then_some(result),
                error: matches!(state, JobState::Failed | JobState::Cancelled).then_some(error),
                command,
                created: created.clone(),
                completed: if state.is_terminal() { created } else { None },
                raw: Value::Null,
            }
        })
}

fn round_trip(job: &JobSnapshot, format: Format) -> JobSnapshot {
    let bytes = render_envelope("queryasyncjobresultresponse", &job_to_object(job), format);
    let mut back = parse_job_status(&parse_envelope(&bytes, format).unwrap()).unwrap();
    back.raw = Value::Null; // raw is the wire form, not part of the model
    back
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn json_round_trip(job in job(json_tree())) {
        prop_assert_eq!(round_trip(&job, Format::Json), job);
    }

    #[test]
    fn xml_round_trip(job in job(xml_tree())) {
        prop_assert_eq!(round_trip(&job, Format::Xml), job);
    }
}
