//! The core driven by events, its actions answered by an in-memory peer (a spool, a seen set,
//! a store that can be made to fail), the way quinn-proto tests drive a connection.

use super::*;
use crate::config::SseConfig;
use crate::ctl::encode::{encode_push, PushRequest};
use crate::message::{event_message_id, Source};
use crate::sse::Event as SseEvent;
use std::collections::HashSet;

const APP: &str = "x-oma-application:sse.ticker";
const T0: u64 = 1_800_000_000_000;
/// Minute and second 50 are the semi-octet 0x05, the byte a search for the reference 5 would hit.
const SCTS: crate::sms::Timestamp = crate::sms::Timestamp {
    year: 2027,
    month: 1,
    day: 15,
    hour: 3,
    minute: 50,
    second: 50,
    tz_quarters: 0,
    nonbcd: false,
};

fn ticker() -> SseConfig {
    SseConfig {
        name: "ticker".into(),
        url: "http://127.0.0.1:9/ticker".into(),
        application_id: APP.into(),
        ca_file: None,
        on_server_error: Default::default(),
        idle_timeout: 45,
        max_event_bytes: 1 << 20,
    }
}

fn config() -> Config {
    let mut cfg = Config::default();
    cfg.sse.push(ticker());
    cfg
}

/// What the store answers with while it fails (a full disk).
fn disk_full() -> StoreError {
    let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL);
    StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, Some("database or disk is full".into())))
}

/// The shell's part, in memory.
struct Peer {
    core: DaemonCore,
    now: u64,
    spool: BTreeMap<i64, (Vec<u8>, u64)>,
    next_id: i64,
    seen: HashSet<String>,
    failing: bool,
    room: bool,
    /// Messages committed as new, in order.
    delivered: Vec<Message>,
    /// Every action since the last [`Peer::take`].
    actions: Vec<Action>,
    durable: BTreeMap<u64, bool>,
}

impl Peer {
    fn new(cfg: Config) -> Peer {
        Peer {
            core: DaemonCore::new(cfg),
            now: T0,
            spool: BTreeMap::new(),
            next_id: 1,
            seen: HashSet::new(),
            failing: false,
            room: true,
            delivered: Vec::new(),
            actions: Vec::new(),
            durable: BTreeMap::new(),
        }
    }

    fn started(cfg: Config) -> Peer {
        let mut p = Peer::new(cfg);
        p.feed(Event::Start { spooled: Vec::new() });
        p.take();
        p
    }

    fn feed(&mut self, event: Event) {
        self.core.handle(self.now, event);
        while let Some(a) = self.core.poll_action() {
            self.actions.push(a.clone());
            if let Some(answer) = self.answer(a) {
                self.core.handle(self.now, answer);
            }
        }
    }

    fn answer(&mut self, a: Action) -> Option<Event> {
        let fail = || DurableError::Store(Arc::new(disk_full()));
        match a {
            Action::Spool(rows) => Some(Event::Spooled(if self.failing {
                Err(fail())
            } else {
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        let id = self.next_id;
                        self.next_id += 1;
                        self.spool.insert(id, r);
                        id
                    })
                    .collect())
            })),
            Action::Commit { messages, consumed, room_for } => {
                Some(Event::Committed(if room_for.is_some() && !self.room {
                    Err(DurableError::NoRoom)
                } else if self.failing {
                    Err(DurableError::Commit(Arc::new(crate::cai::Error::Store(disk_full()))))
                } else {
                    for id in consumed {
                        assert!(self.spool.remove(&id).is_some(), "spool row {id} consumed twice");
                    }
                    Ok(messages
                        .into_iter()
                        .map(|m| {
                            if self.seen.insert(m.id.clone()) {
                                self.delivered.push(m);
                                store::Outcome::New
                            } else {
                                store::Outcome::Duplicate
                            }
                        })
                        .collect())
                }))
            }
            Action::ReadSpool(ids) => Some(Event::SpoolRead(if self.failing {
                Err(fail())
            } else {
                Ok(ids
                    .iter()
                    .filter_map(|id| {
                        self.spool.get(id).map(|(pdu, t)| SpooledPdu {
                            id: *id,
                            pdu: pdu.clone(),
                            received_ms: *t,
                        })
                    })
                    .collect())
            })),
            Action::Durable { key, result } => {
                assert!(self.durable.insert(key, result.is_ok()).is_none(), "durable {key} answered twice");
                None
            }
            Action::DeadLetter { spool_ids, .. } | Action::Discard(spool_ids) => {
                for id in spool_ids {
                    self.spool.remove(&id);
                }
                None
            }
            _ => None,
        }
    }

    fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    /// Runs the clock to the next timeout and ticks.
    fn tick(&mut self) {
        self.now = self.core.next_timeout().expect("a timeout is armed");
        self.feed(Event::Tick);
    }
}

fn last_ids(actions: &[Action]) -> Vec<(String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SetLastId { stream, id } => Some((stream.clone(), id.clone())),
            _ => None,
        })
        .collect()
}

fn commits(actions: &[Action]) -> usize {
    actions.iter().filter(|a| matches!(a, Action::Commit { .. })).count()
}

fn store_states(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StoreState(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

fn push_pdus(app_id: &str, content_type: &str, body: &[u8]) -> Vec<Vec<u8>> {
    push_pdus_ref(app_id, content_type, body, 5)
}

/// The SCTS is fixed: PDUs built at different times must not differ.
fn push_pdus_ref(app_id: &str, content_type: &str, body: &[u8], reference: u16) -> Vec<Vec<u8>> {
    let req = PushRequest {
        app_id: Some(app_id.into()),
        content_type: content_type.into(),
        body: body.to_vec(),
        from: "+4912345".into(),
        reference,
        scts: Some(SCTS),
        ..Default::default()
    };
    encode_push(&req).unwrap()
}

fn pdu(key: u64, pdu: &[u8]) -> Pdu {
    Pdu { key, pdu: pdu.to_vec(), stored: true }
}

fn stream_event(id: &str, own_id: bool, data: &str, seq: u64) -> StreamEvent {
    StreamEvent {
        stream: "ticker".into(),
        event: SseEvent { event_type: "message".into(), data: data.into(), id: id.into(), own_id },
        received_ms: T0,
        seq,
    }
}

#[test]
fn start_runs_the_streams_and_says_the_store_is_ok() {
    let mut p = Peer::new(config());
    p.feed(Event::Start { spooled: Vec::new() });
    let a = p.take();
    assert!(matches!(&a[0], Action::StoreState(StoreState::Ok)), "{a:?}");
    assert!(matches!(&a[1], Action::StartStream(c) if c.name() == "ticker"), "{a:?}");
    assert!(matches!(&a[2], Action::PublishStreams), "{a:?}");
    assert_eq!(a.len(), 3);
    assert_eq!(p.core.next_timeout(), None, "nothing ticks while idle");
}

/// The merge: an event by SMS, then the same event (its own id again) over the stream, is one
/// message, and Last-Event-ID moves once.
#[test]
fn an_sms_event_then_the_stream_repeat_of_its_own_id_is_one_message() {
    let mut p = Peer::started(config());
    let pdus = push_pdus(APP, "text/event-stream", b"id: 7\ndata: quote 1\n\n");
    p.feed(Event::Pdus(vec![pdu(0, &pdus[0])]));
    let a = p.take();
    assert_eq!(p.durable.get(&0), Some(&true), "durable before the commit");
    assert_eq!(last_ids(&a), [("ticker".to_string(), "7".to_string())]);
    assert_eq!(p.delivered.len(), 1);
    assert!(p.spool.is_empty(), "the commit consumed the spooled PDU");

    p.feed(Event::Stream(stream_event("7", true, "quote 1", 1)));
    let a = p.take();
    assert_eq!(commits(&a), 1, "{a:?}");
    assert_eq!(last_ids(&a), [], "a duplicate moves nothing");
    assert_eq!(p.delivered.len(), 1, "one message");
    assert_eq!(p.delivered[0].id, event_message_id(APP, "7", ""));
    assert_eq!(p.delivered[0].source, Source::Sms);

    // The next event over the stream is new and moves Last-Event-ID.
    p.feed(Event::Stream(stream_event("8", true, "quote 2", 2)));
    assert_eq!(last_ids(&p.take()), [("ticker".to_string(), "8".to_string())]);
    assert_eq!(p.delivered.len(), 2);
}

/// Regression: an application id is case-insensitive (the stream route and the filters treat
/// it so), but the event's message id hashed it as written: the same event by SMS and over a
/// stream configured with other letter case was delivered twice.
#[test]
fn the_same_event_by_both_paths_is_one_message_whatever_the_application_id_case() {
    let mut cfg = config();
    cfg.sse[0].application_id = "X-OMA-Application:SSE.Ticker".into();
    let mut p = Peer::started(cfg);
    let pdus = push_pdus(APP, "text/event-stream", b"id: 7\ndata: quote 1\n\n");
    p.feed(Event::Pdus(vec![pdu(0, &pdus[0])]));
    p.feed(Event::Stream(stream_event("7", true, "quote 1", 1)));
    assert_eq!(p.delivered.len(), 1, "{:?}", p.delivered);
}

/// An inherited id does not name the event: the stream repeat of an SMS event's id, without an
/// `id` field of its own, is another event (HTML §9.2.6).
#[test]
fn an_inherited_id_is_another_event() {
    let mut p = Peer::started(config());
    let pdus = push_pdus(APP, "text/event-stream", b"id: 7\ndata: quote 1\n\n");
    p.feed(Event::Pdus(vec![pdu(0, &pdus[0])]));
    p.feed(Event::Stream(stream_event("7", false, "quote 2", 1)));
    assert_eq!(p.delivered.len(), 2);
    // Its id stays the stream's: the store commits "7" again, which changes nothing.
    assert_eq!(last_ids(&p.take()), [("ticker".into(), "7".into()), ("ticker".into(), "7".into())]);
}

#[test]
fn a_failed_commit_retries_and_moves_last_event_id_only_once_committed() {
    let mut p = Peer::started(config());
    p.failing = true;
    p.feed(Event::Stream(stream_event("9", true, "quote", 1)));
    let a = p.take();
    assert_eq!(last_ids(&a), [], "nothing committed, nothing moves");
    assert_eq!(store_states(&a), ["failing: store database: database or disk is full"]);
    assert!(!p.core.takes_stream_events(), "the streams wait");
    assert!(!p.core.waits_for_room());
    assert_eq!(p.core.next_timeout(), Some(T0 + 500), "the store's retry");
    p.tick();
    assert_eq!(commits(&p.take()), 0, "only the event is held, on a backoff of its own");
    assert_eq!(p.core.next_timeout(), Some(T0 + 1000), "the held event's first retry");
    p.tick();
    let a = p.take();
    assert_eq!(commits(&a), 1, "tried again: {a:?}");
    assert!(last_ids(&a).is_empty());

    p.failing = false;
    let mut a = Vec::new();
    while commits(&a) == 0 {
        p.tick();
        a = p.take();
    }
    assert_eq!(p.now, T0 + 3000, "the event's backoff doubled");
    assert_eq!(commits(&a), 1);
    assert_eq!(last_ids(&a), [("ticker".to_string(), "9".to_string())]);
    assert_eq!(store_states(&a), ["ok"]);
    assert!(p.core.takes_stream_events());
    assert_eq!(p.delivered.len(), 1);
}

#[test]
fn a_failed_sms_commit_keeps_the_spool_and_holds_new_pdus_until_the_retry() {
    let mut p = Peer::started(config());
    let first = push_pdus(APP, "text/event-stream", b"id: 1\ndata: a\n\n");
    let second = push_pdus(APP, "text/event-stream", b"id: 2\ndata: b\n\n");
    p.failing = true;
    // The spool refuses: the stored PDU's durable answer waits, a routed one is refused.
    p.feed(Event::Pdus(vec![pdu(0, &first[0]), Pdu { stored: false, ..pdu(1, &second[0]) }]));
    let a = p.take();
    assert_eq!(store_states(&a), ["failing: store database: database or disk is full"]);
    assert_eq!(p.durable, BTreeMap::from([(1, false)]));
    assert_eq!(p.core.next_timeout(), Some(T0 + 500));

    // The spool works again but commits still fail: the PDU is durable, its message held.
    p.now += 100;
    p.failing = false;
    p.feed(Event::Pdus(vec![pdu(2, &second[0])]));
    assert_eq!(p.durable.len(), 1, "held behind the refused one: {:?}", p.durable);
    p.failing = true;
    p.tick();
    assert_eq!(p.durable.len(), 1, "still refused");
    p.failing = false;
    p.tick();
    let a = p.take();
    assert_eq!(p.durable, BTreeMap::from([(0, true), (1, false), (2, true)]));
    assert_eq!(
        last_ids(&a),
        [("ticker".to_string(), "1".to_string()), ("ticker".to_string(), "2".to_string())]
    );
    assert_eq!(store_states(&a).last().map(String::as_str), Some("ok"));
    assert!(p.spool.is_empty());
    assert_eq!(p.core.next_timeout(), None);
}

#[test]
fn a_commit_refused_after_the_spool_is_retried_from_memory() {
    let mut p = Peer::started(config());
    let pdus = push_pdus(APP, "text/event-stream", b"id: 3\ndata: c\n\n");
    p.feed(Event::Pdus(vec![]));
    // Spooled fine, the commit fails.
    p.core.handle(p.now, Event::Pdus(vec![pdu(0, &pdus[0])]));
    let Some(Action::Spool(rows)) = p.core.poll_action() else { panic!("spool first") };
    p.spool.insert(10, rows[0].clone());
    p.core.handle(p.now, Event::Spooled(Ok(vec![10])));
    p.failing = true;
    while let Some(a) = p.core.poll_action() {
        p.actions.push(a.clone());
        if let Some(ans) = p.answer(a) {
            p.core.handle(p.now, ans);
        }
    }
    let a = p.take();
    assert_eq!(last_ids(&a), []);
    assert_eq!(p.spool.len(), 1, "kept in the spool");
    p.failing = false;
    p.tick();
    let a = p.take();
    assert_eq!(last_ids(&a), [("ticker".to_string(), "3".to_string())]);
    assert!(p.spool.is_empty());
}

#[test]
fn a_full_queue_holds_the_stream_event_until_room_is_freed() {
    let mut p = Peer::started(config());
    p.room = false;
    p.feed(Event::Stream(stream_event("1", true, "a", 1)));
    assert!(p.core.waits_for_room() && !p.core.takes_stream_events());
    assert!(store_states(&p.take()).is_empty(), "a full queue is not a failing store");
    p.feed(Event::RoomFreed);
    assert!(p.core.waits_for_room(), "still full");
    p.room = true;
    p.feed(Event::RoomFreed);
    assert_eq!(last_ids(&p.take()), [("ticker".to_string(), "1".to_string())]);
    assert!(p.core.takes_stream_events());
}

#[test]
fn the_spool_is_replayed_at_start() {
    let body: Vec<u8> = (0..200u8).collect();
    let two = push_pdus("x-wap-application:mms.ua", "application/vnd.wap.mms-message", &body);
    // A lone segment of another message (reference 6) stays partial until it expires.
    let other = push_pdus_ref("x-wap-application:mms.ua", "application/vnd.wap.mms-message", &body, 6);
    let spooled = vec![
        SpooledPdu { id: 1, pdu: two[1].clone(), received_ms: T0 - 10 },
        SpooledPdu { id: 2, pdu: other[0].clone(), received_ms: T0 - 5 },
        SpooledPdu { id: 3, pdu: two[0].clone(), received_ms: T0 - 1 },
    ];
    let mut p = Peer::new(config());
    for s in &spooled {
        p.spool.insert(s.id, (s.pdu.clone(), s.received_ms));
    }
    p.feed(Event::Start { spooled });
    let a = p.take();
    let consumed: Vec<&Vec<i64>> = a
        .iter()
        .filter_map(|a| match a {
            Action::Commit { consumed, .. } => Some(consumed),
            _ => None,
        })
        .collect();
    assert_eq!(consumed, [&vec![3, 1]], "one commit of the completed message");
    assert_eq!(p.delivered.len(), 1);
    assert_eq!(p.delivered[0].body, body);
    assert_eq!(p.spool.keys().collect::<Vec<_>>(), [&2], "the partial stays spooled");
    let deadline = p.core.next_timeout().unwrap();
    assert_eq!(deadline, T0 - 5 + 3 * 86_400_000, "[wdp] reassembly_timeout");
    p.tick();
    let a = p.take();
    assert!(
        matches!(&a[..], [Action::DeadLetter { spool_ids, reason: Rejection::GivenUp { .. } }] if spool_ids == &[2]),
        "{a:?}"
    );
    assert!(p.spool.is_empty());
}

#[test]
fn reload_applies_the_stream_diff_and_the_wdp_limits() {
    let mut p = Peer::started(config());
    let body: Vec<u8> = (0..200u8).collect();
    let pdus = push_pdus("x-wap-application:mms.ua", "application/vnd.wap.mms-message", &body);
    p.feed(Event::Pdus(vec![pdu(0, &pdus[0])]));
    p.take();

    let mut cfg = config();
    cfg.sse[0].url = "http://127.0.0.1:9/other".into();
    let mut news = ticker();
    news.name = "news".into();
    news.application_id = "x-oma-application:sse.news".into();
    cfg.sse.push(news);
    cfg.wdp.max_partial_bytes = 10;
    p.feed(Event::Reload { cfg: Box::new(cfg), stopped: Vec::new() });
    let a = p.take();
    let names: Vec<String> = a
        .iter()
        .filter_map(|a| match a {
            Action::StopStream(n) => Some(format!("stop {n}")),
            Action::StartStream(c) => Some(format!("start {}", c.name())),
            Action::PublishStreams => Some("publish".into()),
            Action::DeadLetter { spool_ids, .. } => Some(format!("dead letter {spool_ids:?}")),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["dead letter [1]", "stop ticker", "start ticker", "start news", "publish"]);
    assert!(!a.iter().any(|a| matches!(a, Action::ReconfigureBearer(_))));

    // The same configuration again, with "news" stopped by a 4xx: only it restarts.
    let cfg = p.core.config().clone();
    p.feed(Event::Reload { cfg: Box::new(cfg), stopped: vec!["news".into()] });
    let a = p.take();
    assert!(
        matches!(&a[..], [Action::StopStream(n), Action::StartStream(c), Action::PublishStreams] if n == "news" && c.name() == "news"),
        "{a:?}"
    );
}

/// Events are looked up by stream name: an event of a stream no longer configured is dropped.
#[test]
fn an_event_of_a_removed_stream_is_dropped() {
    let mut p = Peer::started(config());
    let mut ev = stream_event("1", true, "a", 1);
    ev.stream = "gone".into();
    p.feed(Event::Stream(ev));
    assert_eq!(commits(&p.take()), 0);
    assert!(p.core.takes_stream_events());
}

/// The retry waits are monotonic, as the shell's sleep is: a wall clock set back during the
/// wait does not postpone the retry.
#[test]
fn a_clock_set_back_during_the_retry_wait_does_not_postpone_the_retry() {
    let mut p = Peer::started(config());
    p.failing = true;
    let pdus = push_pdus(APP, "text/event-stream", b"id: 1\ndata: a\n\n");
    p.feed(Event::Pdus(vec![pdu(0, &pdus[0])]));
    assert_eq!(p.core.next_timeout(), Some(T0 + 500));
    p.failing = false;
    p.now = T0 - 3_600_000;
    p.feed(Event::Tick);
    assert_eq!(p.durable.get(&0), Some(&true), "retried at the tick");
    assert_eq!(p.delivered.len(), 1);
}

const QUOTES: &str = "x-oma-application:sse.quotes";

/// `ticker` and `quotes`: two entries of one URL.
fn shared_config() -> Config {
    let mut cfg = config();
    let mut quotes = ticker();
    quotes.name = "quotes".into();
    quotes.application_id = QUOTES.into();
    cfg.sse.push(quotes);
    cfg
}

fn started_streams(actions: &[Action]) -> Vec<(String, Vec<String>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartStream(c) => Some((c.name().to_string(), c.applications())),
            _ => None,
        })
        .collect()
}

#[test]
fn entries_of_one_url_read_one_connection_and_each_event_is_a_message_per_application() {
    let mut p = Peer::new(shared_config());
    p.feed(Event::Start { spooled: Vec::new() });
    assert_eq!(
        started_streams(&p.take()),
        [("ticker".to_string(), vec![APP.to_string(), QUOTES.to_string()])]
    );

    p.feed(Event::Stream(stream_event("7", true, "quote", 1)));
    let a = p.take();
    assert_eq!(commits(&a), 1, "one transaction for both applications");
    assert_eq!(last_ids(&a), [("ticker".to_string(), "7".to_string())], "one Last-Event-ID");
    let got: Vec<(&str, &str, &str)> = p
        .delivered
        .iter()
        .map(|m| {
            (m.application_id.as_deref().unwrap(), m.event.as_ref().unwrap().stream.as_str(), m.id.as_str())
        })
        .collect();
    let (t, q) = (event_message_id(APP, "7", ""), event_message_id(QUOTES, "7", ""));
    assert_eq!(got, [(APP, "ticker", t.as_str()), (QUOTES, "quotes", q.as_str())]);

    // The server sends it again after a reconnect: nothing new, nothing moves.
    p.feed(Event::Stream(stream_event("7", true, "quote", 2)));
    assert_eq!(last_ids(&p.take()), []);
    assert_eq!(p.delivered.len(), 2);
}

#[test]
fn a_refused_shared_commit_moves_nothing_and_is_retried_for_every_application() {
    let mut p = Peer::started(shared_config());
    p.failing = true;
    p.feed(Event::Stream(stream_event("8", true, "quote", 1)));
    assert_eq!(last_ids(&p.take()), []);
    assert!(p.delivered.is_empty());
    p.failing = false;
    let mut a = Vec::new();
    while commits(&a) == 0 {
        p.tick();
        a = p.take();
    }
    assert_eq!(last_ids(&a), [("ticker".to_string(), "8".to_string())]);
    let apps: Vec<&str> = p.delivered.iter().map(|m| m.application_id.as_deref().unwrap()).collect();
    assert_eq!(apps, [APP, QUOTES]);
}

/// An entry joining a running connection restarts it (from the stored Last-Event-ID); an event
/// held across the reload reaches the applications of the new configuration.
#[test]
fn an_entry_joining_a_shared_url_restarts_the_connection_and_a_held_event_reaches_it() {
    let mut p = Peer::started(config());
    p.room = false;
    p.feed(Event::Stream(stream_event("9", true, "quote", 1)));
    assert!(p.core.waits_for_room());
    p.take();
    p.feed(Event::Reload { cfg: Box::new(shared_config()), stopped: Vec::new() });
    let a = p.take();
    assert!(a.iter().any(|a| matches!(a, Action::StopStream(n) if n == "ticker")), "{a:?}");
    assert_eq!(started_streams(&a), [("ticker".to_string(), vec![APP.to_string(), QUOTES.to_string()])]);
    p.room = true;
    p.feed(Event::RoomFreed);
    let apps: Vec<&str> = p.delivered.iter().map(|m| m.application_id.as_deref().unwrap()).collect();
    assert_eq!(apps, [APP, QUOTES]);
    assert_eq!(last_ids(&p.take()), [("ticker".to_string(), "9".to_string())]);
}
