//! Routing (pure): which queues one message goes to.
//!
//! Every registration whose filter matches and whose owner may receive the application id gets
//! the message: connected ones deliver now, persistent ones whose agent is gone queue it. With
//! no such registration it waits in the unclaimed queue for `[cai] unclaimed_ttl`, for the
//! first matching registration that appears. An SMS whose originator the application id's
//! allow list does not name becomes a dead letter. A message addressed to groups goes to their
//! members only, one queue row each, under its one id (docs/pubsub.md). A push past its own
//! expiry (`Expires`, `si-expires`: [`crate::lifetime`]) is discarded; otherwise its expiry
//! bounds `QueueTtl`.

use crate::access::{AccessPolicy, Caller};
use crate::disposition::{Disposition, QueueTarget, UNCLAIMED};
use crate::filter::{Address, Filter};
use crate::message::Message;
use crate::push_meta::effective_app_id;

/// A registration as routing sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The registration's id.
    pub id: i64,
    /// Its filter.
    pub filter: &'a Filter,
    /// Who registered it.
    pub owner: &'a Caller,
    /// Its agent is on the bus now.
    pub connected: bool,
}

/// Whether a registration with `filter`, owned by `owner`, is to get `m`.
pub fn accepts(filter: &Filter, owner: &Caller, policy: &AccessPolicy, m: &Message) -> bool {
    filter.matches(m) && policy.may_receive(effective_app_id(m), owner)
}

/// Decides the queues of `m` at `now_ms`.
pub fn route<'a>(
    m: &Message,
    candidates: impl IntoIterator<Item = Candidate<'a>>,
    policy: &AccessPolicy,
    now_ms: u64,
    unclaimed_ttl_ms: u64,
) -> Disposition {
    if let Err(reason) = policy.check_originator(effective_app_id(m), m) {
        return Disposition::DeadLetter(reason);
    }
    let own_expiry = crate::lifetime::lifetime(m).expires_ms;
    if let Some(e) = own_expiry.filter(|e| *e <= now_ms) {
        return Disposition::Discard(format!("expired at {}", crate::time::format_unix_ms(e)));
    }
    let bound = |ttl_ms: u64| now_ms.saturating_add(ttl_ms).min(own_expiry.unwrap_or(u64::MAX));
    let address = Address::of(m);
    let app_id = effective_app_id(m);
    let mut targets: Vec<QueueTarget> = candidates
        .into_iter()
        .filter(|c| {
            (c.connected || c.filter.is_persistent())
                && c.filter.matches_addressed(m, &address)
                && policy.may_receive(app_id, c.owner)
        })
        .map(|c| QueueTarget {
            registration: c.id,
            expires_ms: bound(u64::from(c.filter.queue_ttl()) * 1000),
        })
        .collect();
    if targets.is_empty() {
        targets.push(QueueTarget { registration: UNCLAIMED, expires_ms: bound(unclaimed_ttl_ms) });
    }
    Disposition::Queue(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{NumericOnly, Rule, Settings};
    use crate::message::{Kind, Source};

    fn filter(app: Option<&str>, persistent: bool, ttl: Option<u32>) -> Filter {
        Filter {
            application_id: app.map(Into::into),
            persistent: Some(persistent),
            name: Some("n".into()),
            queue_ttl: ttl,
            ..Filter::default()
        }
    }

    fn msg() -> Message {
        Message {
            id: "m".into(),
            kind: Kind::WspPush,
            source: Source::Sms,
            originator: "+4915112345678".into(),
            sent_time: Some("2024-05-01T12:00:00+02:00".into()),
            received_time: "2024-05-01T10:00:05+00:00".into(),
            application_id: Some("x-wap-application:mms.ua".into()),
            content_type: "application/vnd.wap.mms-message".into(),
            content_type_params: Default::default(),
            headers: Default::default(),
            transaction_id: Some(7),
            pdu_type: Some("push".into()),
            port: Some(2948),
            event: None,
            body: b"x".to_vec(),
        }
    }

    fn targets(d: Disposition) -> Vec<(i64, u64)> {
        match d {
            Disposition::Queue(t) => t.into_iter().map(|t| (t.registration, t.expires_ms)).collect(),
            other => panic!("not queued: {other:?}"),
        }
    }

    #[test]
    fn every_match_gets_it_and_unmatched_waits_unclaimed() {
        let p = AccessPolicy::default();
        let me = Caller { uid: 1000, gids: vec![] };
        let mms = filter(Some("x-wap-application:mms.ua"), false, Some(10));
        let all = Filter::default();
        let gone = filter(Some("x-wap-application:mms.ua"), true, None);
        let text_only = Filter { kind: Some(Kind::Text), ..Filter::default() };
        let cands = [
            Candidate { id: 1, filter: &mms, owner: &me, connected: true },
            Candidate { id: 2, filter: &all, owner: &me, connected: true },
            Candidate { id: 3, filter: &gone, owner: &me, connected: false },
            Candidate { id: 4, filter: &text_only, owner: &me, connected: true },
            // Not persistent and not connected: never a target.
            Candidate { id: 5, filter: &all, owner: &me, connected: false },
        ];
        let m = msg();
        assert_eq!(
            targets(route(&m, cands, &p, 1000, 5)),
            vec![(1, 11_000), (2, 1000 + 86_400_000), (3, 1000 + 86_400_000)]
        );
        assert_eq!(targets(route(&m, cands[3..].iter().copied(), &p, 1000, 5)), vec![(UNCLAIMED, 1005)]);
    }

    #[test]
    fn a_group_push_goes_to_each_member_once() {
        let p = AccessPolicy::default();
        let me = Caller { uid: 1000, gids: vec![] };
        let groups = |g: &[&str]| Filter {
            groups: Some(g.iter().map(|s| s.to_string()).collect()),
            ..filter(None, true, None)
        };
        let (g, gh, h) = (groups(&["g"]), groups(&["g", "h"]), groups(&["h"]));
        let all = Filter::default();
        let cands = [
            Candidate { id: 1, filter: &g, owner: &me, connected: true },
            Candidate { id: 2, filter: &gh, owner: &me, connected: false },
            Candidate { id: 3, filter: &h, owner: &me, connected: true },
            Candidate { id: 4, filter: &all, owner: &me, connected: true },
        ];
        let mut m = msg();
        m.headers.insert("X-Otapush-Group".into(), "g,h".into());
        let ids = |d| targets(d).into_iter().map(|(id, _)| id).collect::<Vec<_>>();
        // Addressed to g and h: each member once (2 joined both), the non-member never.
        assert_eq!(ids(route(&m, cands, &p, 0, 5)), vec![1, 2, 3]);
        m.headers.insert("X-Otapush-Group".into(), "g".into());
        assert_eq!(ids(route(&m, cands, &p, 0, 5)), vec![1, 2]);
        // No member: it waits unclaimed, and only a member claims it later.
        m.headers.insert("X-Otapush-Group".into(), "nobody".into());
        assert_eq!(ids(route(&m, cands, &p, 0, 5)), vec![UNCLAIMED]);
        assert!(!accepts(&all, &me, &p, &m) && accepts(&groups(&["nobody"]), &me, &p, &m));
        // Unaddressed: every match, members or not.
        m.headers.clear();
        assert_eq!(ids(route(&m, cands, &p, 0, 5)), vec![1, 2, 3, 4]);
    }

    #[test]
    fn access_rules_restrict_receivers_and_originators() {
        let cfg = Settings {
            rules: vec![Rule {
                application_id: "x-wap-application:mms.ua".into(),
                users: vec!["1001".into()],
                originators: vec!["+4915112345678".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let p = AccessPolicy::resolve_with(&cfg, &NumericOnly);
        let (alice, bob) = (Caller { uid: 1001, gids: vec![] }, Caller { uid: 1002, gids: vec![] });
        let all = Filter::default();
        let cands = [
            Candidate { id: 1, filter: &all, owner: &bob, connected: true },
            Candidate { id: 2, filter: &all, owner: &alice, connected: true },
        ];
        let mut m = msg();
        assert_eq!(targets(route(&m, cands, &p, 0, 5)), vec![(2, 86_400_000)]);
        m.originator = "+4900".into();
        match route(&m, cands, &p, 0, 5) {
            Disposition::DeadLetter(r) => assert!(r.contains("+4900"), "{r}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_push_past_its_expires_is_discarded_and_expires_bounds_queue_ttl() {
        let p = AccessPolicy::default();
        let me = Caller { uid: 1000, gids: vec![] };
        let ten_s = filter(None, false, Some(10));
        let cands = [Candidate { id: 1, filter: &ten_s, owner: &me, connected: true }];
        let mut m = msg();
        // Expires: 784111777 s.
        m.headers.insert("Expires".into(), "Sun, 06 Nov 1994 08:49:37 GMT".into());
        let at = 784_111_777_000;
        assert_eq!(targets(route(&m, cands, &p, at - 20_000, 5)), vec![(1, at - 10_000)], "QueueTtl first");
        assert_eq!(targets(route(&m, cands, &p, at - 5_000, 5)), vec![(1, at)], "Expires first");
        assert_eq!(targets(route(&m, [], &p, at - 5_000, 60_000)), vec![(UNCLAIMED, at)], "unclaimed too");
        match route(&m, cands, &p, at, 5) {
            Disposition::Discard(r) => assert_eq!(r, "expired at 1994-11-06T08:49:37+00:00"),
            other => panic!("{other:?}"),
        }
    }
}
