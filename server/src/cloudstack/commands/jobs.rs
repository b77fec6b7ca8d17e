//! `queryAsyncJobResult` (with RFC 7240 `Prefer: wait=N` long-polling) and `listAsyncJobs`.

use std::time::Duration;

use axum::http::HeaderMap;
use jobwire::protocol::cloudstack::signing::format_date;
use jobwire::protocol::date::parse_cloudstack_date;
use serde_json::{json, Map, Value};

use super::{page_window, Reply};
use crate::cloudstack::{ApiFailure, Caller, Params};
use crate::model::{unix_ms, Job, JobState};
use crate::AppState;

/// Longest wait a client may ask for with `Prefer: wait=N`.
pub const MAX_WAIT_SECS: u64 = 30;

/// The job as `queryAsyncJobResult` shows it.
pub fn job_view(job: &Job, caller: &Caller, now_ms: u64) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("accountid".into(), json!(caller.user.account_id));
    out.insert("userid".into(), json!(job.owner));
    out.insert("cmd".into(), json!(job.cmd_class));
    match &job.state {
        JobState::Pending => {
            out.insert("jobstatus".into(), json!(0));
            out.insert("jobprocstatus".into(), json!(job.progress(now_ms)));
            out.insert("jobresultcode".into(), json!(0));
        }
        JobState::Succeeded { result } => {
            out.insert("jobstatus".into(), json!(1));
            out.insert("jobprocstatus".into(), json!(0));
            out.insert("jobresultcode".into(), json!(0));
            out.insert("jobresulttype".into(), json!("object"));
            out.insert("jobresult".into(), result.clone());
        }
        JobState::Failed { code, text } => {
            out.insert("jobstatus".into(), json!(2));
            out.insert("jobprocstatus".into(), json!(0));
            out.insert("jobresultcode".into(), json!(530));
            out.insert("jobresulttype".into(), json!("object"));
            out.insert("jobresult".into(), json!({"errorcode": code, "errortext": text}));
        }
    }
    if let Some((kind, id)) = &job.instance {
        out.insert("jobinstancetype".into(), json!(kind));
        out.insert("jobinstanceid".into(), json!(id));
    }
    out.insert("created".into(), json!(format_date(job.created_ms / 1000)));
    if let Some(completed) = job.completed_ms {
        out.insert("completed".into(), json!(format_date(completed / 1000)));
    }
    out.insert("jobid".into(), json!(job.id));
    out
}

/// The `wait` preference of an RFC 7240 `Prefer` header, capped at [`MAX_WAIT_SECS`].
pub fn preferred_wait(headers: &HeaderMap) -> Option<u64> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .filter_map(|token| {
            let (name, value) = token.split(';').next()?.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("wait")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
        .next()
        .map(|secs| secs.min(MAX_WAIT_SECS))
}

/// `queryAsyncJobResult`: 431 for an unknown id, 531 for another user's job. With
/// `Prefer: wait=N` a pending job's answer is held until it finishes or N s pass.
pub async fn query(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    headers: &HeaderMap,
) -> Result<Reply, ApiFailure> {
    let job_id = params.required("queryAsyncJobResult", "jobid")?;
    let job = state.hub.job(job_id).ok_or_else(|| super::invalid_value("queryAsyncJobResult", "jobid", job_id))?;
    if job.owner != caller.user.id {
        return Err(ApiFailure::account(&format!(
            "Account {} is not authorized to see job id={job_id}",
            caller.user.account
        )));
    }
    let mut reply_headers = Vec::new();
    let job = match preferred_wait(headers) {
        Some(wait) => {
            if !job.is_finished() {
                state.hub.wait_for_finish(job_id, Duration::from_secs(wait)).await;
            }
            reply_headers.push(("preference-applied", format!("wait={wait}")));
            reply_headers.push(("vary", "Prefer".to_owned()));
            state.hub.job(job_id).unwrap_or(job)
        }
        None => job,
    };
    Ok(Reply { body: job_view(&job, caller, unix_ms()), headers: reply_headers })
}

/// `listAsyncJobs`: the caller's jobs, newest last, optionally since `startdate`.
pub fn list(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let since_ms = match params.get("startdate") {
        Some(text) => {
            let secs = parse_cloudstack_date(text)
                .ok_or_else(|| ApiFailure::param(format!("Unable to execute API command listasyncjobs due to invalid value. Invalid parameter startdate value={text}")))?;
            u64::try_from(secs).unwrap_or(0) * 1000
        }
        None => 0,
    };
    // Only the requested page is copied and rendered (a listing of many jobs is asked for page
    // by page; rendering every job for each page made a full listing quadratic).
    let window = page_window(params)?;
    let now = unix_ms();
    let (count, jobs) = state.hub.jobs_window(|job| job.owner == caller.user.id && job.created_ms >= since_ms, window);
    if count == 0 {
        return Ok(Map::new());
    }
    let items: Vec<Value> = jobs.iter().map(|job| Value::Object(job_view(job, caller, now))).collect();
    Ok(crate::cloudstack::render::object(json!({"count": count, "asyncjobs": items})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn prefer_wait_is_read_and_capped() {
        let mut headers = HeaderMap::new();
        assert_eq!(preferred_wait(&headers), None);
        headers.insert("prefer", HeaderValue::from_static("respond-async, wait=10"));
        assert_eq!(preferred_wait(&headers), Some(10));
        headers.insert("prefer", HeaderValue::from_static("WAIT=\"600\""));
        assert_eq!(preferred_wait(&headers), Some(MAX_WAIT_SECS));
        headers.insert("prefer", HeaderValue::from_static("wait=soon"));
        assert_eq!(preferred_wait(&headers), None);
    }
}
