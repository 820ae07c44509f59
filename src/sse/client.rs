//! The HTTP shell of one event stream (WHATWG HTML §9.2.3): hyper 1 (HTTP/1.1) over
//! hyper-rustls with the ring provider, system roots plus an optional CA file. Decisions come
//! from the pure [`Policy`]; parsing from the pure [`Parser`].
//!
//! One task per `[[sse]]` entry. The task never blocks the runtime: certificate files are read
//! on the blocking pool, DNS runs on hyper-util's resolver threads, and everything else is async.
//! Events go out through a bounded channel, so a slow consumer slows the stream (backpressure)
//! instead of growing memory or losing events (docs/event-streams.md).
//!
//! Not done: proxies (`https_proxy`/`http_proxy`): hyper-util's proxy support would need its
//! `client-proxy` feature and CONNECT tunnelling through the TLS connector; left for a board that
//! needs it. Redirect targets are resolved without dot-segment removal.

use super::parser::{Limits, Output, Parser};
use super::policy::{classify, Action, End, Failure, OnServerError, Policy, Response, Tuning};
use super::{SseError, StopReason};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::{Request, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use super::status::{StreamEvent, StreamState, StreamStatus};

/// One stream's endpoint and bounds (an `[[sse]]` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub name: String,
    pub url: String,
    /// PEM CAs trusted in addition to the system's.
    pub ca_file: Option<PathBuf>,
    pub on_server_error: OnServerError,
    /// Silence (not even a comment) longer than this drops the connection (more than zero).
    pub idle_timeout: Duration,
    /// Caps of the event parser.
    pub limits: Limits,
}

/// Knobs with production defaults; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    pub tuning: Tuning,
    /// Jitter seed (default: random per process).
    pub seed: u64,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Redirects followed per attempt (more is a network error, as in Fetch).
    pub max_redirects: u32,
    /// A reconnection time persisted from an earlier run.
    pub retry_ms: Option<u64>,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions {
            tuning: Tuning::default(),
            seed: std::collections::hash_map::RandomState::new().build_hasher().finish(),
            connect_timeout: Duration::from_secs(30),
            max_redirects: 10,
            retry_ms: None,
        }
    }
}

/// The running stream task; dropping the handle (or [`StreamHandle::stop`]) aborts it and closes
/// its connection.
#[derive(Debug)]
pub struct StreamHandle {
    task: JoinHandle<()>,
}

impl StreamHandle {
    pub fn stop(self) {}

    /// True once the stream stopped by itself (see [`StreamState::Stopped`]).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts one stream with the default options. See [`spawn_stream_with`].
pub fn spawn_stream(
    cfg: Settings,
    last_event_id: watch::Receiver<String>,
    bearer: watch::Receiver<bool>,
    events: mpsc::Sender<StreamEvent>,
    status: watch::Sender<StreamStatus>,
) -> StreamHandle {
    spawn_stream_with(cfg, StreamOptions::default(), last_event_id, bearer, events, status)
}

/// Starts one stream on the current tokio runtime. Each connect sends the current value of
/// `last_event_id` (the history the daemon shares with the SMS path). `bearer` says whether a
/// data bearer is up. Events go to `events`; the state goes to `status`.
pub fn spawn_stream_with(
    cfg: Settings,
    opts: StreamOptions,
    last_event_id: watch::Receiver<String>,
    bearer: watch::Receiver<bool>,
    events: mpsc::Sender<StreamEvent>,
    status: watch::Sender<StreamStatus>,
) -> StreamHandle {
    let task = Task { cfg, opts, last_event_id, events, status };
    StreamHandle { task: tokio::spawn(task.run(bearer)) }
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

struct Task {
    cfg: Settings,
    opts: StreamOptions,
    last_event_id: watch::Receiver<String>,
    events: mpsc::Sender<StreamEvent>,
    status: watch::Sender<StreamStatus>,
}

impl Task {
    async fn run(self, mut bearer: watch::Receiver<bool>) {
        let name = self.cfg.name.clone();
        let client = match build_client(&self.cfg, &self.opts).await {
            Ok(c) => c,
            Err(e) => {
                log::error!("stream {name}: {e}");
                self.set_state(StreamState::Stopped { reason: StopReason::Setup(e) });
                return;
            }
        };
        let mut policy = Policy::new(self.cfg.on_server_error, self.opts.tuning, self.opts.seed);
        if let Some(ms) = self.opts.retry_ms {
            policy.set_retry(ms);
        }
        let mut bearer_open = true;
        let mut action = policy.start(*bearer.borrow_and_update());
        loop {
            action = match action {
                Action::Idle => {
                    self.set_state(StreamState::Idle);
                    let up = next_bearer(&mut bearer, &mut bearer_open).await;
                    policy.bearer(up).unwrap_or(Action::Idle)
                }
                Action::Wait { delay_ms, attempt } => {
                    let until_ms = crate::time::now_ms().saturating_add(delay_ms);
                    self.set_state(StreamState::BackingOff { until_ms, attempt });
                    log::info!("stream {name}: reconnecting in {delay_ms} ms (attempt {attempt})");
                    let sleep = tokio::time::sleep(Duration::from_millis(delay_ms));
                    tokio::pin!(sleep);
                    loop {
                        tokio::select! {
                            _ = &mut sleep => break policy.timer().unwrap_or(Action::Idle),
                            up = next_bearer(&mut bearer, &mut bearer_open) => {
                                if let Some(a) = policy.bearer(up) {
                                    break a;
                                }
                            }
                        }
                    }
                }
                Action::Connect => {
                    self.set_state(StreamState::Connecting);
                    self.status.send_modify(|s| s.attempts += 1);
                    let outcome = tokio::select! {
                        r = self.session(&client, &mut policy) => Ok(r),
                        up = next_bearer(&mut bearer, &mut bearer_open) => Err(up),
                    };
                    match outcome {
                        Err(up) => {
                            if up {
                                log::info!("stream {name}: bearer changed, reconnecting");
                            } else {
                                log::info!("stream {name}: bearer down, closing");
                            }
                            policy.bearer(up).unwrap_or(Action::Idle)
                        }
                        Ok(Err(failure)) => {
                            let e = match &failure {
                                Failure::NoContent => SseError::NoContent,
                                Failure::Fatal(e) | Failure::Server(e) => e.clone(),
                            };
                            log::warn!("stream {name}: {e}");
                            self.error(e);
                            policy.failed(failure)
                        }
                        Ok(Ok(end)) => {
                            match &end {
                                End::Eof => log::info!("stream {name}: the server closed the stream"),
                                End::IdleTimeout => {
                                    let e = SseError::Idle(self.cfg.idle_timeout);
                                    log::warn!("stream {name}: {e}, reconnecting");
                                    self.error(e);
                                }
                                End::Error(e) => {
                                    log::warn!("stream {name}: {e}");
                                    self.error(e.clone());
                                }
                            }
                            policy.ended(end)
                        }
                    }
                }
                Action::Stop { reason } => {
                    log::warn!("stream {name}: stopped: {reason}");
                    self.set_state(StreamState::Stopped { reason });
                    return;
                }
            };
        }
    }

    fn set_state(&self, state: StreamState) {
        self.status.send_modify(|s| s.state = state);
    }

    fn error(&self, e: SseError) {
        self.status.send_modify(|s| {
            s.errors += 1;
            s.last_error = Some(e);
        });
    }

    /// One connection attempt: the request (following redirects), then the body until it ends.
    async fn session(&self, client: &HttpClient, policy: &mut Policy) -> Result<End, Failure> {
        let last_id = self.last_event_id.borrow().clone();
        let idle = self.cfg.idle_timeout;
        let mut uri: Uri = self.cfg.url.parse().map_err(|e: hyper::http::uri::InvalidUri| {
            Failure::Fatal(SseError::Url { url: self.cfg.url.clone(), reason: e.to_string() })
        })?;
        let mut redirects = 0;
        let response = loop {
            let request = build_request(&uri, &last_id)?;
            let response = match tokio::time::timeout(idle, client.request(request)).await {
                Err(_) => {
                    return Err(Failure::Server(SseError::NoResponse { uri: uri.to_string(), wait: idle }))
                }
                Ok(Err(e)) => {
                    return Err(Failure::Server(SseError::Network {
                        uri: uri.to_string(),
                        reason: describe(&e),
                    }))
                }
                Ok(Ok(r)) => r,
            };
            let content_type = response.headers().get(CONTENT_TYPE).map(HeaderValue::as_bytes);
            match classify(response.status().as_u16(), content_type) {
                Response::Stream => break response,
                Response::Failure(f) => return Err(f),
                Response::Redirect => {
                    redirects += 1;
                    if redirects > self.opts.max_redirects {
                        return Err(Failure::Server(SseError::TooManyRedirects(self.opts.max_redirects)));
                    }
                    let location = response.headers().get(LOCATION).map(HeaderValue::as_bytes);
                    uri = location.and_then(|l| resolve(&uri, l)).ok_or_else(|| {
                        Failure::Server(SseError::BadRedirect { status: response.status().as_u16() })
                    })?;
                    log::debug!("stream {}: redirected to {uri}", self.cfg.name);
                }
            }
        };
        policy.connected();
        log::info!("stream {}: connected to {uri}", self.cfg.name);
        self.status.send_modify(|s| {
            s.state = StreamState::Connected;
            s.connects += 1;
        });
        self.read_body(response.into_body(), last_id, idle, policy).await
    }

    /// Feeds the body to a parser until it ends, breaks, or stays silent for `idle`.
    async fn read_body(
        &self,
        mut body: Incoming,
        last_id: String,
        idle: Duration,
        policy: &mut Policy,
    ) -> Result<End, Failure> {
        let mut parser = Parser::new(self.cfg.limits).with_last_event_id(last_id);
        let mut outputs = Vec::new();
        loop {
            match tokio::time::timeout(idle, body.frame()).await {
                Err(_) => return Ok(End::IdleTimeout),
                Ok(None) => {
                    parser.finish(&mut |o| outputs.push(o));
                    self.hand_over(&mut outputs, policy).await?;
                    return Ok(End::Eof);
                }
                Ok(Some(Err(e))) => return Ok(End::Error(SseError::Body(describe(&e)))),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        parser.feed(&data, &mut |o| outputs.push(o));
                        self.hand_over(&mut outputs, policy).await?;
                    }
                }
            }
        }
    }

    /// Passes parser outputs on: events to the channel (waiting while it is full), the rest to
    /// the policy and the status.
    async fn hand_over(&self, outputs: &mut Vec<Output>, policy: &mut Policy) -> Result<(), Failure> {
        for o in outputs.drain(..) {
            match o {
                Output::Event(event) => {
                    policy.delivered();
                    let mut seq = 0;
                    self.status.send_modify(|s| {
                        s.events += 1;
                        seq = s.events;
                    });
                    let received_ms = crate::time::now_ms();
                    let ev = StreamEvent { stream: self.cfg.name.clone(), event, received_ms, seq };
                    // While the daemon holds events back (full queues) this waits, and the body
                    // is not polled: hyper stops reading the socket and TCP flow control slows
                    // the server down.
                    if self.events.send(ev).await.is_err() {
                        return Err(Failure::Fatal(SseError::ReceiverGone));
                    }
                }
                Output::Retry(ms) => {
                    policy.set_retry(ms);
                    self.status.send_modify(|s| s.retry_ms = Some(ms));
                }
                Output::Oversized { bytes } => {
                    log::warn!(
                        "stream {}: dropped an event over the cap of {} bytes ({bytes})",
                        self.cfg.name,
                        self.cfg.limits.max_event
                    );
                    self.status.send_modify(|s| s.oversized += 1);
                }
            }
        }
        Ok(())
    }
}

/// The next bearer value; pends forever once the sender is gone (the last value stands).
async fn next_bearer(rx: &mut watch::Receiver<bool>, open: &mut bool) -> bool {
    if *open {
        if rx.changed().await.is_ok() {
            return *rx.borrow_and_update();
        }
        *open = false;
    }
    std::future::pending().await
}

/// `GET` with `Accept: text/event-stream`, `Cache-Control: no-cache` (what Fetch sends for the
/// EventSource request's cache mode `no-store`) and `Last-Event-ID` when there is one.
fn build_request(uri: &Uri, last_id: &str) -> Result<Request<Empty<Bytes>>, Failure> {
    let mut builder =
        Request::get(uri.clone()).header(ACCEPT, "text/event-stream").header(CACHE_CONTROL, "no-cache");
    if !last_id.is_empty() {
        match HeaderValue::from_bytes(last_id.as_bytes()) {
            Ok(v) => builder = builder.header("last-event-id", v),
            Err(_) => log::warn!("last event id {last_id:?} cannot be a header value; not sent"),
        }
    }
    builder
        .body(Empty::new())
        .map_err(|e| Failure::Fatal(SseError::Request { uri: uri.to_string(), reason: e.to_string() }))
}

/// Resolves a `Location` against the current URI: absolute, scheme-relative (`//host/p`),
/// absolute-path (`/p`) or path-relative (`p`). Only http and https targets are accepted.
fn resolve(base: &Uri, location: &[u8]) -> Option<Uri> {
    let loc = std::str::from_utf8(location).ok()?.trim();
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let text = if loc.contains("://") {
        loc.to_string()
    } else if let Some(rest) = loc.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if loc.starts_with('/') {
        format!("{scheme}://{authority}{loc}")
    } else {
        let path = base.path();
        let dir = path.rfind('/').and_then(|i| path.get(..=i)).unwrap_or("/");
        format!("{scheme}://{authority}{dir}{loc}")
    };
    let uri: Uri = text.parse().ok()?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => Some(uri),
        _ => None,
    }
}

/// An error and its sources, `a: b: c`.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn build_client(cfg: &Settings, opts: &StreamOptions) -> Result<HttpClient, SseError> {
    let ca_file = cfg.ca_file.clone();
    let tls = tokio::task::spawn_blocking(move || tls_config(ca_file.as_deref()))
        .await
        .map_err(|e| SseError::Certificates(e.to_string()))??;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(opts.connect_timeout));
    let https =
        HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(https))
}

/// The TLS client config: ring explicitly (never a process-wide default provider), the system
/// roots, and the stream's `ca_file` (PEM, one or more certificates) if set. Blocking (file I/O).
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, SseError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        log::debug!("system certificates: {e}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    log::debug!("system certificates: {added} trusted, {ignored} unusable");
    if let Some(path) = ca_file {
        let bad = |reason: String| SseError::CaFile { path: path.to_path_buf(), reason };
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
            found += 1;
        }
        if found == 0 {
            return Err(bad("no certificate in it".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SseError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_locations() {
        let base: Uri = "https://a.example:8443/x/events?k=1".parse().unwrap();
        let r = |l: &str| resolve(&base, l.as_bytes()).map(|u| u.to_string());
        assert_eq!(r("http://b.example/e").as_deref(), Some("http://b.example/e"));
        assert_eq!(r("//c.example/e").as_deref(), Some("https://c.example/e"));
        assert_eq!(r("/top?x=2").as_deref(), Some("https://a.example:8443/top?x=2"));
        assert_eq!(r("sub").as_deref(), Some("https://a.example:8443/x/sub"));
        assert_eq!(r("ftp://d.example/e"), None);
        assert_eq!(r("http://"), None);
        assert_eq!(resolve(&base, b"\xFF"), None);
    }

    #[test]
    fn request_headers() {
        let uri: Uri = "http://h/e".parse().unwrap();
        let req = build_request(&uri, "").unwrap();
        assert_eq!(req.headers()[ACCEPT], "text/event-stream");
        assert_eq!(req.headers()[CACHE_CONTROL], "no-cache");
        assert!(req.headers().get("last-event-id").is_none(), "not sent when empty");
        let req = build_request(&uri, "42 \u{e9}").unwrap();
        assert_eq!(req.headers()["last-event-id"].as_bytes(), "42 \u{e9}".as_bytes(), "UTF-8 octets");
        // A control character cannot be sent; the request goes out without the header.
        let req = build_request(&uri, "a\u{1}b").unwrap();
        assert!(req.headers().get("last-event-id").is_none());
    }

    #[test]
    fn tls_config_reads_a_ca_file_and_rejects_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, ca.pem()).unwrap();
        assert!(tls_config(Some(&good)).is_ok());
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = tls_config(Some(&empty)).unwrap_err();
        assert_eq!(e, SseError::CaFile { path: empty.clone(), reason: "no certificate in it".into() });
        let missing = dir.path().join("missing.pem");
        let e = tls_config(Some(&missing)).unwrap_err();
        assert!(matches!(&e, SseError::CaFile { path, .. } if *path == missing), "{e:?}");
        assert!(e.to_string().starts_with(&format!("ca_file {}: ", missing.display())), "{e}");
    }
}
