//! The gateway in front of a second reference server: the SDK talks only to the gateway and
//! everything (login cookies, signatures, long-polls, errors) passes through unchanged.

use jobwire::engine::PollPolicy;
use jobwire::protocol::JobState;
use jobwire::time::Duration;
use jobwire::{ApiKeyCredentials, ClientConfig, Credentials, Error, JobClient, SessionCredentials};
use jobwire_e2e::{demo, deploy_params, ids, start_gateway, start_server};

#[tokio::test]
async fn session_and_signed_clients_work_through_the_gateway() {
    let upstream = start_server(300).await.unwrap();
    let gateway = start_gateway(&upstream).await.unwrap();
    assert_ne!(upstream, gateway);
    let policy = PollPolicy { first_delay: Duration::from_millis(50), ..PollPolicy::default() };

    let session = Credentials::Session(SessionCredentials {
        username: demo::USERNAME.into(),
        password: demo::PASSWORD.into(),
        domain: String::new(),
    });
    let client = JobClient::new(ClientConfig {
        credentials: session,
        policy: policy.clone(),
        ..ClientConfig::new(gateway.clone())
    })
    .unwrap();
    let job = client.submit("deployVirtualMachine", &deploy_params(ids::SMALL)).await.unwrap();
    let done = client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);

    let signed =
        Credentials::ApiKey(ApiKeyCredentials { api_key: demo::API_KEY.into(), secret_key: demo::SECRET_KEY.into() });
    let client =
        JobClient::new(ClientConfig { credentials: signed, policy, ..ClientConfig::new(gateway.clone()) }).unwrap();
    match client.submit("frobnicate", &[]).await {
        Err(Error::Api(error)) => assert_eq!(error.code, 432),
        other => panic!("expected the upstream's 432, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_not_a_hang() {
    let gateway = start_gateway("http://127.0.0.1:9/client/api").await.unwrap();
    // Two quick retries (502 is transient), then the error.
    let client = JobClient::new(ClientConfig { max_retries: 2, ..ClientConfig::new(gateway) }).unwrap();
    match client.poll("x").await {
        Err(Error::Transport(jobwire::transport::TransportError::Status { status, .. })) => assert_eq!(status, 502),
        other => panic!("expected 502, got {other:?}"),
    }
    assert_eq!(client.requests_sent(), 3);
}
