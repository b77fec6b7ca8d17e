//! Natively the SDK speaks HTTPS (reqwest with rustls and the webpki roots) and checks the
//! server's certificate: a real CloudStack or CLM is reached over TLS, and a certificate that no
//! trusted authority signed is refused with a transport error that says why.

use std::sync::Arc;

use jobwire::{ApiKeyCredentials, ClientConfig, Credentials, Error, JobClient};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// A self-signed certificate for `localhost` / 127.0.0.1 (valid for 100 years), and its key.
const CERT: &[u8] = include_bytes!("../fixtures/untrusted-cert.der");
const KEY: &[u8] = include_bytes!("../fixtures/untrusted-key.der");

/// Listens with TLS on a free port; reports each handshake's outcome.
async fn tls_listener() -> (u16, tokio::sync::mpsc::UnboundedReceiver<Result<(), String>>) {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(KEY.to_vec()));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(CERT.to_vec())], key)
        .expect("fixture certificate and key match");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (report, outcomes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let outcome = acceptor.accept(stream).await.map(drop).map_err(|e| e.to_string());
            let _ = report.send(outcome);
        }
    });
    (port, outcomes)
}

#[tokio::test]
async fn https_endpoints_are_reached_over_tls_and_untrusted_certificates_refused() {
    let (port, mut handshakes) = tls_listener().await;
    let credentials = Credentials::ApiKey(ApiKeyCredentials { api_key: "key".into(), secret_key: "secret".into() });
    let config = ClientConfig {
        credentials,
        max_retries: 0,
        ..ClientConfig::new(format!("https://localhost:{port}/client/api"))
    };
    let client = JobClient::new(config).expect("valid config");
    let err = client.call_value("listZones", &[]).await.expect_err("the certificate is not trusted");
    let text = err.to_string();
    assert!(matches!(err, Error::Transport(_)), "a transport error: {err:?}");
    assert!(text.contains("certificate"), "the error names the certificate problem: {text}");
    let server_side = tokio::time::timeout(std::time::Duration::from_secs(5), handshakes.recv())
        .await
        .ok()
        .flatten()
        .expect("the client reached the TLS listener");
    assert!(server_side.is_err(), "the client broke off the handshake");
}
