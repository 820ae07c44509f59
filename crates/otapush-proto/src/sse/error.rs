//! Why an event stream attempt failed or the stream stopped, typed until the D-Bus or log edge
//! (the `Streams` property's `Reason` and `LastError` are their text).

use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// One failed attempt, or a stream broken mid-body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SseError {
    /// A status that is not a stream (HTML §9.2.3).
    #[error("HTTP {0}")]
    Status(u16),
    /// 204: the server asks the client to stop reconnecting.
    #[error("HTTP 204 No Content")]
    NoContent,
    /// A 200 whose MIME essence is not `text/event-stream`; the header as sent, or `(none)`.
    #[error("wrong content type {0:?}")]
    ContentType(String),
    /// The configured URL cannot be requested.
    #[error("url {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    #[error("request for {uri}: {reason}")]
    /// The request could not be built.
    Request {
        /// The URI.
        uri: String,
        /// Why.
        reason: String,
    },
    #[error("no response from {uri} within {} s", .wait.as_secs_f64())]
    /// No response headers in time.
    NoResponse {
        /// The URI.
        uri: String,
        /// How long the client waited.
        wait: Duration,
    },
    /// Connect, TLS or HTTP errors, with their sources.
    #[error("{uri}: {reason}")]
    Network {
        /// The URI.
        uri: String,
        /// The error and its sources.
        reason: String,
    },
    #[error("more than {0} redirects")]
    /// More redirects than allowed.
    TooManyRedirects(u32),
    #[error("HTTP {status}: redirect without a valid Location")]
    /// A redirect without a usable `Location`.
    BadRedirect {
        /// Its status.
        status: u16,
    },
    #[error("reading the stream: {0}")]
    /// The body broke mid-stream.
    Body(String),
    /// No byte, not even a comment, for the idle timeout.
    #[error("idle for {} s", .0.as_secs_f64())]
    Idle(Duration),
    #[error("the event receiver is gone")]
    /// The daemon stopped taking events.
    ReceiverGone,
    #[error("ca_file {}: {reason}", .path.display())]
    /// The configured CA file could not be read.
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    #[error("TLS setup: {0}")]
    /// The TLS configuration could not be built.
    Tls(String),
    #[error("loading certificates: {0}")]
    /// The system's CA certificates could not be loaded.
    Certificates(String),
}

/// Why a stream stopped until the config is reloaded (or for good, after 204).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StopReason {
    #[error("HTTP 204 No Content: the server asked to stop")]
    /// 204 No Content.
    NoContent,
    /// A 4xx, another unexpected status or a wrong content type.
    #[error("{0} (stopped until the config is reloaded)")]
    Refused(SseError),
    /// A 5xx or network error with `on_server_error = "stop"`.
    #[error("{0} (on_server_error = \"stop\")")]
    ServerError(SseError),
    /// The client could not be set up (certificates, TLS).
    #[error("{0}")]
    Setup(SseError),
    #[error("built without the sse-http feature: events arrive by SMS only")]
    /// The daemon was built without `sse-http`.
    NoHttp,
}
