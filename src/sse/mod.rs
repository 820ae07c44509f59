//! Server-sent events (WHATWG HTML §9.2): the event-stream parser, the HTTP client and its
//! reconnect policy.
