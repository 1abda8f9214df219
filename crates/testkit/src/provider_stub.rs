//! A real local HTTP server standing in for an SMS or voice provider. It
//! records every request (method, path, headers, body) and answers 200, or
//! fails on purpose: the first N requests, or all of them, with a 503. It
//! can also serve HTTPS with a certificate from a private CA, optionally
//! requiring a client certificate (rustls on ring, as twostep itself), and
//! records the handshakes it refused.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use tokio_rustls::rustls;

use crate::test_ca::CertPair;

#[derive(Clone, Debug)]
pub struct ProviderRequest {
    pub method: String,
    pub path: String,
    /// Lower-case header names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl ProviderRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// A field of a form-encoded body, decoded.
    pub fn form(&self, field: &str) -> Option<String> {
        self.body.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (url_decode(k) == field).then(|| url_decode(v))
        })
    }
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<ProviderRequest>>,
    failed_handshakes: Mutex<Vec<String>>,
    fail_next: AtomicUsize,
    fail_always: AtomicBool,
    failed: AtomicUsize,
}

pub struct ProviderStub {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl ProviderStub {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let router = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url: format!("http://{addr}"), shared, task }
    }

    /// Serves HTTPS at `https://localhost:PORT` with `server`'s certificate;
    /// with `client_ca`, only to clients with a certificate it signed.
    pub async fn start_tls(server: &CertPair, client_ca: Option<&std::path::Path>) -> Self {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(CertificateDer::pem_file_iter(ca).unwrap().map(Result::unwrap));
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let chain = CertificateDer::pem_file_iter(&server.cert).unwrap().map(Result::unwrap).collect();
        let key = PrivateKeyDer::from_pem_file(&server.key).unwrap();
        let config = builder.with_single_cert(chain, key).unwrap();
        let shared = Arc::new(Shared::default());
        let router = Router::new().fallback(record).with_state(shared.clone());
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let listener =
            TlsListener { tcp, acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), shared: shared.clone() };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url: format!("https://localhost:{port}"), shared, task }
    }

    /// Why each refused TLS handshake failed, as the server saw it.
    pub fn failed_handshakes(&self) -> Vec<String> {
        self.shared.failed_handshakes.lock().unwrap().clone()
    }

    /// Answers the next `n` requests with 503 (and records them).
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }

    /// Answers every request with 503 until told otherwise.
    pub fn fail_always(&self, on: bool) {
        self.shared.fail_always.store(on, Ordering::SeqCst);
    }

    /// Requests answered with a failure so far.
    pub fn failed(&self) -> usize {
        self.shared.failed.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<ProviderRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until `n` requests arrived, failed ones included.
    pub async fn wait_for(&self, n: usize) -> Vec<ProviderRequest> {
        for _ in 0..1000 {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {n} provider requests, got {:?}", self.requests());
    }
}

impl Drop for ProviderStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts TCP connections and completes the TLS handshake before axum sees
/// them; a refused handshake is recorded and the next connection taken.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else { continue };
            match tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => self.shared.failed_handshakes.lock().unwrap().push(e.to_string()),
                Err(_) => self.shared.failed_handshakes.lock().unwrap().push("handshake timed out".into()),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let request = ProviderRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    shared.requests.lock().unwrap().push(request);
    let planned = shared.fail_next.load(Ordering::SeqCst);
    let fail = shared.fail_always.load(Ordering::SeqCst) || planned > 0;
    if planned > 0 {
        shared.fail_next.store(planned - 1, Ordering::SeqCst);
    }
    if fail {
        shared.failed.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, r#"{"error": "down for the test"}"#.into());
    }
    (StatusCode::OK, r#"{"sid": "SM00000000000000000000000000000000", "status": "queued"}"#.into())
}
