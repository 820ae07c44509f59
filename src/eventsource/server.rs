//! The shell: hyper 1 (HTTP/1.1, one request per connection) over a Unix socket listener
//! (peer credentials from `SO_PEERCRED`) and an optional loopback TCP listener.
//!
//! Bounded: connections at once (a semaphore), request head size and read time, subscribers
//! (the hub's caps), and each subscriber's buffer (full: the connection is closed).

use super::frame;
use super::hub::{Hub, Subscription};
use super::request::{cors_headers, decide, Decision, Peer, RequestHead, Rules, Subscribe};
use super::token::Tokens;
use crate::cai::access::{groups_from_proc_status, AccessPolicy, Caller};
use hyper::body::{Body, Bytes, Frame};
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

/// The request head's cap (hyper's smallest read buffer).
const MAX_HEAD_BYTES: usize = 8192;
/// Backlog events read from the history at a time.
const BACKLOG_PAGE: usize = 16;

/// What the shell needs besides the hub.
#[derive(Debug, Clone)]
pub struct Settings {
    pub socket: Option<PathBuf>,
    pub tcp: Option<SocketAddr>,
    pub allowed_origins: Vec<String>,
    pub heartbeat: Duration,
    pub retry_ms: u64,
    /// Time to send the request head.
    pub header_timeout: Duration,
    /// Connections at once (subscribers and requests still being read).
    pub max_connections: usize,
}

struct Ctx {
    hub: Hub,
    policy: Arc<AccessPolicy>,
    tokens: Arc<Tokens>,
    settings: Settings,
    connections: Arc<Semaphore>,
}

/// The running endpoint; dropping it stops the listeners (and removes the socket file).
pub struct Endpoint {
    pub socket: Option<PathBuf>,
    /// The bound TCP address (the real port when `tcp_listen` asked for port 0).
    pub tcp_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Binds the configured listeners and serves them on the current runtime.
pub async fn spawn(
    settings: Settings,
    hub: Hub,
    policy: Arc<AccessPolicy>,
    tokens: Arc<Tokens>,
) -> std::io::Result<Endpoint> {
    let mut ep = Endpoint { socket: None, tcp_addr: None, tasks: Vec::new() };
    let unix = match &settings.socket {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            use std::os::unix::fs::{FileTypeExt, PermissionsExt};
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                std::fs::remove_file(path)?;
            }
            let l = tokio::net::UnixListener::bind(path)?;
            // Anyone may connect; the peer's uid decides what it may read.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
            ep.socket = Some(path.clone());
            Some(l)
        }
        None => None,
    };
    let tcp = match settings.tcp {
        Some(addr) if !addr.ip().is_loopback() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{addr} is not loopback"),
            ))
        }
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr).await?;
            ep.tcp_addr = Some(l.local_addr()?);
            Some(l)
        }
        None => None,
    };
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let ctx = Arc::new(Ctx { hub, policy, tokens, settings, connections });
    if let Some(l) = unix {
        let ctx = ctx.clone();
        ep.tasks.push(tokio::spawn(async move {
            loop {
                let stream = match l.accept().await {
                    Ok((s, _)) => s,
                    Err(e) => {
                        log::warn!("eventsource: accept on the Unix socket: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Some(permit) = admit(&ctx) else { continue };
                let peer = match stream.peer_cred() {
                    Ok(c) => Peer::Unix(caller_of(c)),
                    Err(e) => {
                        log::warn!("eventsource: SO_PEERCRED: {e}");
                        continue;
                    }
                };
                tokio::spawn(serve(ctx.clone(), stream, peer, permit));
            }
        }));
    }
    if let Some(l) = tcp {
        ep.tasks.push(tokio::spawn(async move {
            loop {
                let stream = match l.accept().await {
                    Ok((s, _)) => s,
                    Err(e) => {
                        log::warn!("eventsource: accept on TCP: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Some(permit) = admit(&ctx) else { continue };
                tokio::spawn(serve(ctx.clone(), stream, Peer::Tcp, permit));
            }
        }));
    }
    Ok(ep)
}

fn admit(ctx: &Ctx) -> Option<OwnedSemaphorePermit> {
    let p = ctx.connections.clone().try_acquire_owned().ok();
    if p.is_none() {
        log::warn!("eventsource: {} connections already; one refused", ctx.settings.max_connections);
    }
    p
}

/// The peer's uid and groups (its primary gid, and its supplementary groups from /proc).
fn caller_of(c: tokio::net::unix::UCred) -> Caller {
    let mut gids = c
        .pid()
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .map(|s| groups_from_proc_status(&s))
        .unwrap_or_default();
    if !gids.contains(&c.gid()) {
        gids.push(c.gid());
    }
    Caller { uid: c.uid(), gids }
}

async fn serve<S>(ctx: Arc<Ctx>, io: S, peer: Peer, _permit: OwnedSemaphorePermit)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let dropped = Arc::new(Notify::new());
    let svc = {
        let (ctx, dropped) = (ctx.clone(), dropped.clone());
        hyper::service::service_fn(move |req| {
            let r = respond(&ctx, &peer, &dropped, &req);
            async move { Ok::<_, Infallible>(r) }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(ctx.settings.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(false)
        .serve_connection(TokioIo::new(io), svc);
    tokio::select! {
        r = conn => if let Err(e) = r { log::debug!("eventsource: connection: {e}") },
        () = dropped.notified() => log::debug!("eventsource: slow subscriber's connection closed"),
    }
}

fn header<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn respond<B>(ctx: &Ctx, peer: &Peer, dropped: &Arc<Notify>, req: &Request<B>) -> Response<EsBody> {
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let head = RequestHead {
        method: req.method().as_str(),
        target,
        host: header(req, "host"),
        origin: header(req, "origin"),
        last_event_id: header(req, "last-event-id"),
        authorization: header(req, "authorization"),
    };
    let rules = Rules {
        policy: &ctx.policy,
        tokens: &ctx.tokens,
        allowed_origins: &ctx.settings.allowed_origins,
        now_ms: crate::time::now_ms(),
    };
    match decide(&head, peer, &rules) {
        Decision::Reject { status, reason } => {
            log::info!("eventsource: {} {target}: {status} {reason}", head.method);
            plain(status, &reason)
        }
        Decision::Preflight { origin } => {
            let mut r = Response::new(EsBody::Full(None));
            *r.status_mut() = StatusCode::NO_CONTENT;
            add_headers(&mut r, &cors_headers(&origin, true));
            r
        }
        Decision::Subscribe(s) => subscribe(ctx, s, dropped.clone()),
    }
}

fn subscribe(ctx: &Ctx, s: Subscribe, dropped: Arc<Notify>) -> Response<EsBody> {
    let sub = match ctx.hub.subscribe(&s.app_id, s.stream.as_deref(), s.select.clone(), s.uid, dropped) {
        Ok(sub) => sub,
        Err(e) => {
            log::warn!("eventsource: subscription to {} refused: {e}", s.app_id);
            let mut r = plain(503, &e.to_string());
            add_headers(&mut r, &[("retry-after", "5".into())]);
            return r;
        }
    };
    let resume = match ctx.hub.store().history_after(
        &s.app_id,
        s.stream.as_deref(),
        s.last_event_id.as_deref(),
        BACKLOG_PAGE,
    ) {
        Ok(r) => r,
        Err(e) => {
            log::warn!("eventsource: history of {}: {e}", s.app_id);
            return plain(500, "history unavailable");
        }
    };
    let more = resume.events.len() == BACKLOG_PAGE;
    let hb = ctx.settings.heartbeat;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + hb, hb);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let body = EventStream {
        first: Some(Bytes::from(frame::opening(ctx.settings.retry_ms, resume.gap))),
        backlog: resume.events.into(),
        more_backlog: more,
        store: ctx.hub.store().clone(),
        app_id: s.app_id.clone(),
        stream: s.stream.clone(),
        select: s.select,
        sub,
        last_seq: 0,
        heartbeat,
    };
    let mut r = Response::new(EsBody::Events(Box::new(body)));
    add_headers(
        &mut r,
        &[("content-type", "text/event-stream".into()), ("cache-control", "no-store".into())],
    );
    if let Some(o) = &s.cors_origin {
        add_headers(&mut r, &cors_headers(o, false));
    }
    r
}

fn plain(status: u16, reason: &str) -> Response<EsBody> {
    let mut r = Response::new(EsBody::Full(Some(Bytes::from(format!("{reason}\n")))));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    add_headers(&mut r, &[("content-type", "text/plain; charset=utf-8".into())]);
    if status == 405 {
        add_headers(&mut r, &[("allow", "GET, OPTIONS".into())]);
    }
    r
}

fn add_headers(r: &mut Response<EsBody>, h: &[(&'static str, String)]) {
    for (k, v) in h {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().insert(*k, v);
        }
    }
}

/// A response body: a short text, or the event stream.
pub enum EsBody {
    Full(Option<Bytes>),
    Events(Box<EventStream>),
}

/// The event stream of one subscriber: the opening and the backlog (read from the history a
/// page at a time, as the client takes it), then live events (skipping those the backlog had)
/// and heartbeats while idle.
pub struct EventStream {
    first: Option<Bytes>,
    backlog: std::collections::VecDeque<crate::store::HistoryEvent>,
    /// The last page was full: read the next one when `backlog` is empty.
    more_backlog: bool,
    store: crate::store::Store,
    app_id: String,
    stream: Option<String>,
    /// Backlog events it does not select are skipped (the hub skips live ones).
    select: crate::eventsource::select::Selection,
    sub: Subscription,
    last_seq: i64,
    heartbeat: tokio::time::Interval,
}

impl EventStream {
    /// The next backlog event it selects, reading the next page when needed.
    fn next_backlog(&mut self) -> Option<crate::store::HistoryEvent> {
        loop {
            let ev = self.next_backlog_any()?;
            if self.select.matches(&ev) {
                return Some(ev);
            }
            self.last_seq = ev.seq;
        }
    }

    fn next_backlog_any(&mut self) -> Option<crate::store::HistoryEvent> {
        if self.backlog.is_empty() && self.more_backlog {
            match self.store.history_page(&self.app_id, self.stream.as_deref(), self.last_seq, BACKLOG_PAGE) {
                Ok(page) => {
                    self.more_backlog = page.len() == BACKLOG_PAGE;
                    self.backlog = page.into();
                }
                Err(e) => {
                    // Live events follow; the client resumes from the history when it reconnects.
                    log::warn!("eventsource: history of {}: {e}", self.app_id);
                    self.more_backlog = false;
                }
            }
        }
        self.backlog.pop_front()
    }
}

impl Body for EsBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let s = match self.get_mut() {
            EsBody::Full(b) => return Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            EsBody::Events(s) => s,
        };
        if let Some(b) = s.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if let Some(ev) = s.next_backlog() {
            s.last_seq = ev.seq;
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(frame::event(&ev))))));
        }
        loop {
            match s.sub.events.poll_recv(cx) {
                Poll::Ready(Some(ev)) if ev.seq <= s.last_seq => continue,
                Poll::Ready(Some(ev)) => {
                    s.last_seq = ev.seq;
                    s.heartbeat.reset();
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(frame::event(&ev))))));
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => break,
            }
        }
        match s.heartbeat.poll_tick(cx) {
            Poll::Ready(_) => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(frame::heartbeat()))))),
            Poll::Pending => Poll::Pending,
        }
    }
}
