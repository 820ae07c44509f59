//! The endpoint's pure core: a request head and its peer → what to answer (docs/eventsource.md).
//!
//! Routes: `GET /v1/events/<application id>[/<stream>]` (segments percent-encoded, RFC 3986
//! §2.1), query `lastEventId`, `token`, and the selection `event`, `topic`, `group`. Last-Event-ID: the header (sent by EventSource on
//! reconnect, HTML §9.2.3) wins over the query (set by a page resuming after a reload).
//! Access: a Unix socket peer by its uid and groups against the `[access]` rules, like
//! `Register`; a TCP peer by a token for that application id, or by an allowed `Origin` for an
//! application id no rule restricts. CORS (Fetch standard, CORS protocol) for TCP only.

use super::select::Selection;
use super::token::Tokens;
use super::PATH_PREFIX;
use crate::cai::access::{AccessPolicy, Caller};

/// The parts of a request the decision reads (header values as sent; `None` when absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestHead<'a> {
    pub method: &'a str,
    /// The request target: path and query.
    pub target: &'a str,
    pub host: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub last_event_id: Option<&'a str>,
    pub authorization: Option<&'a str>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A Unix socket peer, from `SO_PEERCRED` (and its groups).
    Unix(Caller),
    /// A loopback TCP peer (identity unknown).
    Tcp,
}

/// What access is decided against.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub policy: &'a AccessPolicy,
    pub tokens: &'a Tokens,
    pub allowed_origins: &'a [String],
    pub now_ms: u64,
}

/// An accepted subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub app_id: String,
    pub stream: Option<String>,
    pub last_event_id: Option<String>,
    /// Which events it gets (docs/pubsub.md).
    pub select: Selection,
    /// The Unix peer's uid (counted against the per-uid cap).
    pub uid: Option<u32>,
    /// `Access-Control-Allow-Origin`, when the request is cross-origin and allowed.
    pub cors_origin: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Subscribe(Subscribe),
    /// A CORS preflight that is allowed: 204 with [`cors_headers`].
    Preflight {
        origin: String,
    },
    /// An error status and its reason (the response body).
    Reject {
        status: u16,
        reason: String,
    },
}

fn reject(status: u16, reason: impl Into<String>) -> Decision {
    Decision::Reject { status, reason: reason.into() }
}

/// Decides one request.
pub fn decide(head: &RequestHead<'_>, peer: &Peer, rules: &Rules<'_>) -> Decision {
    let preflight = match head.method {
        "GET" => false,
        "OPTIONS" => true,
        m => return reject(405, format!("method {m} not allowed (GET, OPTIONS)")),
    };
    if *peer == Peer::Tcp && !host_is_loopback(head.host) {
        return reject(403, "Host must be localhost, 127.0.0.1 or [::1]");
    }
    let target = match parse_target(head.target) {
        Ok(t) => t,
        Err((status, why)) => return reject(status, why),
    };
    let token = target.token.as_deref().or_else(|| {
        head.authorization.and_then(|a| a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("bearer ")))
    });
    let origin = head.origin.filter(|o| !o.is_empty() && *o != "null");
    let app = target.app_id.as_str();
    let (uid, cors_origin) = match peer {
        Peer::Unix(caller) => {
            if !rules.policy.may_receive(Some(app), caller) {
                return reject(403, format!("uid {} may not receive {app}", caller.uid));
            }
            (Some(caller.uid), None)
        }
        Peer::Tcp => match token {
            // The token is the credential: any page holding it may read (a file: page sends
            // `Origin: null`, which CORS allows to echo).
            Some(t) if rules.tokens.check(t, app, rules.now_ms) => {
                (None, head.origin.filter(|o| !o.is_empty()).map(str::to_string))
            }
            Some(_) => return reject(403, format!("the token is not valid for {app}")),
            None => {
                let Some(o) = origin.filter(|o| origin_allowed(o, rules.allowed_origins)) else {
                    return reject(403, format!("{app} needs a token or an allowed Origin"));
                };
                // (uid_t)-1 is nobody's uid: only rules naming nobody (or no rule) let it in.
                if !rules.policy.may_receive(Some(app), &Caller { uid: u32::MAX, gids: Vec::new() }) {
                    return reject(403, format!("{app} is restricted by an [access] rule: use a token"));
                }
                (None, Some(o.to_string()))
            }
        },
    };
    if preflight {
        return match cors_origin {
            Some(origin) => Decision::Preflight { origin },
            None => reject(403, "preflight without an allowed Origin"),
        };
    }
    let last_event_id =
        head.last_event_id.map(str::to_string).or(target.last_event_id).filter(|id| !id.is_empty());
    Decision::Subscribe(Subscribe {
        app_id: target.app_id,
        stream: target.stream,
        last_event_id,
        select: target.select,
        uid,
        cors_origin,
    })
}

/// The CORS response headers for an allowed origin (a preflight gets the `-Methods`,
/// `-Headers` and `-Max-Age` ones too).
pub fn cors_headers(origin: &str, preflight: bool) -> Vec<(&'static str, String)> {
    let mut h = vec![("access-control-allow-origin", origin.to_string()), ("vary", "Origin".into())];
    if preflight {
        h.push(("access-control-allow-methods", "GET".into()));
        h.push(("access-control-allow-headers", "last-event-id, authorization, cache-control".into()));
        h.push(("access-control-max-age", "600".into()));
    }
    h
}

/// Exact match, ASCII case-insensitive (scheme and host are), a trailing `/` ignored.
fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin.trim_end_matches('/')))
}

/// Against DNS rebinding: a page of another site reaches the port only under its own name.
fn host_is_loopback(host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Target {
    app_id: String,
    stream: Option<String>,
    last_event_id: Option<String>,
    token: Option<String>,
    select: Selection,
}

fn parse_target(target: &str) -> Result<Target, (u16, String)> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(rest) = path.strip_prefix(PATH_PREFIX) else {
        return Err((404, format!("no such resource; use {PATH_PREFIX}<application id>")));
    };
    let mut segs = rest.split('/');
    let app_id = segs.next().map(|s| decode(s, false)).transpose()?.unwrap_or_default();
    let stream = segs.next().map(|s| decode(s, false)).transpose()?;
    if app_id.is_empty() || stream.as_deref() == Some("") || segs.next().is_some() {
        return Err((404, format!("no such resource; use {PATH_PREFIX}<application id>[/<stream>]")));
    }
    let mut t = Target { app_id, stream, ..Target::default() };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "lastEventId" => t.last_event_id = Some(decode(v, true)?),
            "token" => t.token = Some(decode(v, true)?),
            "event" => {
                Selection::add(&mut t.select.event_types, k, &decode(v, true)?).map_err(|e| (400, e))?
            }
            "topic" => Selection::add(&mut t.select.topics, k, &decode(v, true)?).map_err(|e| (400, e))?,
            "group" => Selection::add(&mut t.select.groups, k, &decode(v, true)?).map_err(|e| (400, e))?,
            _ => {}
        }
    }
    Ok(t)
}

/// Percent-decoding to UTF-8 without control characters (`+` is a space in a query).
fn decode(s: &str, query: bool) -> Result<String, (u16, String)> {
    let bad = || (400, format!("bad percent-encoding in {s:?}"));
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'+' if query => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    let s = String::from_utf8(out).map_err(|_| bad())?;
    if s.chars().any(char::is_control) {
        return Err(bad());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cai::access::ResolveNss;
    use crate::config::{AccessRule, Config};

    const OPEN: &str = "x-oma-application:sse.ticker";
    const DM: &str = "x-wap-application:syncml.dm";

    fn policy() -> AccessPolicy {
        let mut cfg = Config::default();
        cfg.access.rules =
            vec![AccessRule { application_id: DM.into(), users: vec!["1001".into()], ..Default::default() }];
        AccessPolicy::resolve(&cfg.cai_settings().access)
    }

    fn head(method: &'static str, target: &'static str) -> RequestHead<'static> {
        RequestHead { method, target, host: Some("127.0.0.1:8089"), ..Default::default() }
    }

    fn unix(uid: u32) -> Peer {
        Peer::Unix(Caller { uid, gids: vec![] })
    }

    fn run(h: &RequestHead<'_>, peer: &Peer, tokens: &Tokens) -> Decision {
        let origins = vec!["http://localhost:8000".to_string()];
        decide(h, peer, &Rules { policy: &policy(), tokens, allowed_origins: &origins, now_ms: 10 })
    }

    fn status(d: &Decision) -> u16 {
        match d {
            Decision::Subscribe(_) => 200,
            Decision::Preflight { .. } => 204,
            Decision::Reject { status, .. } => *status,
        }
    }

    #[test]
    fn routes_and_last_event_id_from_header_or_query() {
        let t = Tokens::new(1000);
        let h = RequestHead {
            target: "/v1/events/x-oma-application%3Asse.ticker/news?lastEventId=ab%2Bc+d&x=1",
            ..head("GET", "")
        };
        let Decision::Subscribe(s) = run(&h, &unix(1000), &t) else { panic!() };
        assert_eq!(
            s,
            Subscribe {
                app_id: OPEN.into(),
                stream: Some("news".into()),
                last_event_id: Some("ab+c d".into()),
                select: Selection::default(),
                uid: Some(1000),
                cors_origin: None,
            }
        );
        let h = RequestHead { last_event_id: Some("hdr"), ..h };
        let Decision::Subscribe(s) = run(&h, &unix(1000), &t) else { panic!() };
        assert_eq!(s.last_event_id.as_deref(), Some("hdr"), "the header wins");
        let Decision::Subscribe(s) = run(&head("GET", "/v1/events/a?lastEventId="), &unix(1), &t) else {
            panic!()
        };
        assert_eq!(s.last_event_id, None);
        let h = head("GET", "/v1/events/a?event=quote,trade&topic=eur%2Cusd&group=g&event=halt");
        let Decision::Subscribe(s) = run(&h, &unix(1), &t) else { panic!() };
        assert_eq!(s.select.event_types, ["quote", "trade", "halt"], "repeated parameters add up");
        assert_eq!((s.select.topics, s.select.groups), (vec!["eur".into(), "usd".into()], vec!["g".into()]));
        for (target, code) in [
            ("/v1/events/", 404),
            ("/v1/events/a/b/c", 404),
            ("/v1/events/a/", 404),
            ("/other", 404),
            ("/v1/events/a%zz", 400),
            ("/v1/events/a%0a", 400),
            ("/v1/events/%ff", 400),
            ("/v1/events/a?token=%", 400),
            ("/v1/events/a?group=%zz", 400),
        ] {
            assert_eq!(status(&run(&head("GET", target), &unix(1), &t)), code, "{target}");
        }
        assert_eq!(status(&run(&head("POST", "/v1/events/a"), &unix(1), &t)), 405);
    }

    #[test]
    fn unix_peers_by_the_access_rules() {
        let t = Tokens::new(1000);
        let dm = "/v1/events/x-wap-application:syncml.dm";
        assert_eq!(status(&run(&head("GET", dm), &unix(1001), &t)), 200);
        assert_eq!(status(&run(&head("GET", dm), &unix(1002), &t)), 403);
        assert_eq!(status(&run(&head("GET", dm), &unix(0), &t)), 403, "root is not exempt");
    }

    #[test]
    fn tcp_peers_by_token_or_origin_with_cors() {
        let t = Tokens::new(1000);
        let tok = t.issue(DM, 0).unwrap();
        let other = t.issue(OPEN, 0).unwrap();
        let dm = format!("/v1/events/{DM}?token={tok}");
        let h = RequestHead { target: &dm, origin: Some("http://app.example"), ..head("GET", "") };
        let Decision::Subscribe(s) = run(&h, &Peer::Tcp, &t) else { panic!() };
        assert_eq!(s.cors_origin.as_deref(), Some("http://app.example"));
        let bearer = format!("Bearer {tok}");
        let h = RequestHead {
            target: "/v1/events/x-wap-application:syncml.dm",
            authorization: Some(&bearer),
            ..h
        };
        assert_eq!(status(&run(&h, &Peer::Tcp, &t)), 200);
        let wrong = format!("/v1/events/{DM}?token={other}");
        assert_eq!(status(&run(&RequestHead { target: &wrong, ..h }, &Peer::Tcp, &t)), 403);
        // Origin only: allowed for an open application id, not for a restricted one.
        let o = RequestHead {
            origin: Some("HTTP://localhost:8000"),
            ..head("GET", "/v1/events/x-oma-application:sse.ticker")
        };
        let Decision::Subscribe(s) = run(&o, &Peer::Tcp, &t) else { panic!() };
        assert_eq!(s.cors_origin.as_deref(), Some("HTTP://localhost:8000"));
        assert_eq!(
            status(&run(
                &RequestHead { target: "/v1/events/x-wap-application:syncml.dm", ..o },
                &Peer::Tcp,
                &t
            )),
            403
        );
        assert_eq!(
            status(&run(&RequestHead { origin: Some("http://evil.example"), ..o }, &Peer::Tcp, &t)),
            403
        );
        assert_eq!(status(&run(&RequestHead { origin: None, ..o }, &Peer::Tcp, &t)), 403);
        // Preflight.
        let p = RequestHead { method: "OPTIONS", ..o };
        assert_eq!(run(&p, &Peer::Tcp, &t), Decision::Preflight { origin: "HTTP://localhost:8000".into() });
        assert_eq!(
            status(&run(&RequestHead { origin: Some("http://evil.example"), ..p }, &Peer::Tcp, &t)),
            403
        );
        assert!(cors_headers("http://a", true).iter().any(|(k, _)| *k == "access-control-allow-methods"));
        // DNS rebinding: another name for the loopback port.
        for host in [Some("evil.example:8089"), None, Some("10.0.0.1")] {
            assert_eq!(status(&run(&RequestHead { host, ..o }, &Peer::Tcp, &t)), 403, "{host:?}");
        }
        for host in ["localhost:1", "[::1]:8089", "127.0.0.2"] {
            assert_eq!(status(&run(&RequestHead { host: Some(host), ..o }, &Peer::Tcp, &t)), 200, "{host}");
        }
    }
}
