//! The EventSource history: a bounded, persisted window of the newest events per application
//! id, in one order (commit order) for events that came by SMS and by an event stream alike.
//! Rows are added in the message commit's transaction (docs/eventsource.md, Resume).

use super::{to_i64, Result, Store};
use crate::cai::filter::Address;
use crate::message::Message;
use rusqlite::{params, OptionalExtension, Transaction};

/// One event of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// Commit order, over all application ids.
    pub seq: i64,
    /// The application id, lower case.
    pub app_id: String,
    /// The stable message id (the `id:` field).
    pub id: String,
    /// The `[[sse]]` stream name (empty when an SMS event matched no configured stream).
    pub stream: String,
    pub event_type: String,
    pub data: String,
    /// The topic its message named (a WAP Push header, or the event's JSON `topic`).
    pub topic: Option<String>,
    /// The groups its message was addressed to.
    pub groups: Vec<String>,
}

/// Separates group names in the `groups` column (names are trimmed text without controls).
const GROUP_SEPARATOR: &str = "\u{1f}";

/// What a subscriber gets before live events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resume {
    /// The (first) events after the subscriber's Last-Event-ID, oldest first (from the start of
    /// the window when it sent none, or one the window no longer holds).
    pub events: Vec<HistoryEvent>,
    /// The Last-Event-ID was given but is not in the window: events may have been missed.
    pub gap: bool,
}

/// The event fields a message contributes, if it is an event with an application id.
fn event_of(m: &Message) -> Option<(String, &str, &str)> {
    let e = m.event.as_ref()?;
    let app = m.application_id.as_deref()?.to_ascii_lowercase();
    Some((app, &e.stream, &e.event_type))
}

/// Appends an event message to its application's window and trims the window to `window`
/// events. Not an event, or `window` 0: nothing.
pub(super) fn append(tx: &Transaction<'_>, m: &Message, window: u64) -> Result<()> {
    let Some((app, stream, event_type)) = event_of(m).filter(|_| window > 0) else { return Ok(()) };
    let data = String::from_utf8_lossy(&m.body);
    let address = Address::of(m);
    let groups: Vec<&str> =
        address.groups.iter().map(String::as_str).filter(|g| !g.contains(GROUP_SEPARATOR)).collect();
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO history (app, msg, stream, event_type, data, topic, groups) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![app, m.id, stream, event_type, data, address.topic, groups.join(GROUP_SEPARATOR)])?;
    if added > 0 {
        tx.prepare_cached(
            "DELETE FROM history WHERE app = ?1 AND seq <= \
             (SELECT seq FROM history WHERE app = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![app, to_i64(window)])?;
    }
    Ok(())
}

const COLUMNS: &str = "seq, app, msg, stream, event_type, data, topic, groups";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryEvent> {
    let data: String = r.get(5)?;
    let (topic, groups) = match r.get::<_, Option<String>>(7)? {
        Some(g) => {
            (r.get(6)?, g.split(GROUP_SEPARATOR).filter(|g| !g.is_empty()).map(str::to_owned).collect())
        }
        // Written before schema 5: the address its data names.
        None => {
            let a = Address::of_event_data(data.as_bytes());
            (a.topic, a.groups)
        }
    };
    Ok(HistoryEvent {
        seq: r.get(0)?,
        app_id: r.get(1)?,
        id: r.get(2)?,
        stream: r.get(3)?,
        event_type: r.get(4)?,
        data,
        topic,
        groups,
    })
}

impl Store {
    /// The first `limit` events of `app_id` (and of `stream`, if given) after `last_event_id`,
    /// oldest first; continue with [`Store::history_page`] after the last one's `seq`.
    pub fn history_after(
        &self,
        app_id: &str,
        stream: Option<&str>,
        last_event_id: Option<&str>,
        limit: usize,
    ) -> Result<Resume> {
        let app = app_id.to_ascii_lowercase();
        let (after, gap) = match last_event_id.filter(|id| !id.is_empty()) {
            None => (0, false),
            Some(id) => {
                let conn = self.lock();
                let seq = conn
                    .prepare_cached("SELECT seq FROM history WHERE app = ?1 AND msg = ?2")?
                    .query_row(params![app, id], |r| r.get::<_, i64>(0))
                    .optional()?;
                (seq.unwrap_or(0), seq.is_none())
            }
        };
        Ok(Resume { events: self.history_page(&app, stream, after, limit)?, gap })
    }

    /// Up to `limit` events of `app_id` (and of `stream`) with a `seq` above `after_seq`.
    pub fn history_page(
        &self,
        app_id: &str,
        stream: Option<&str>,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>> {
        let conn = self.lock();
        let sql = format!(
            "SELECT {COLUMNS} FROM history WHERE app = ?1 AND seq > ?2 AND (?3 IS NULL OR stream = ?3) \
             ORDER BY seq LIMIT ?4"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let events = conn
            .prepare_cached(&sql)?
            .query_map(params![app_id.to_ascii_lowercase(), after_seq, stream, limit], row)?
            .collect::<Result<_, _>>()?;
        Ok(events)
    }

    /// The window's row for a committed message, if it is there (for live fan-out).
    pub fn history_event(&self, app_id: &str, message_id: &str) -> Result<Option<HistoryEvent>> {
        let conn = self.lock();
        let sql = format!("SELECT {COLUMNS} FROM history WHERE app = ?1 AND msg = ?2");
        let ev = conn
            .prepare_cached(&sql)?
            .query_row(params![app_id.to_ascii_lowercase(), message_id], row)
            .optional()?;
        Ok(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::super::{Disposition, Limits, QueueTarget, UNCLAIMED};
    use crate::message::{EventInfo, Message};

    pub(crate) fn event(app: &str, id: &str, data: &str) -> Message {
        let mut m = crate::store::test_message(id, data.as_bytes());
        m.application_id = Some(app.into());
        m.event =
            Some(EventInfo { stream: "ticker".into(), event_type: "quote".into(), event_id: id.into() });
        m
    }

    fn commit(s: &crate::store::Store, msgs: &[Message]) {
        let q =
            || Disposition::Queue(vec![QueueTarget { registration: UNCLAIMED, expires_ms: u64::MAX / 2 }]);
        let batch: Vec<_> = msgs.iter().map(|m| (m, q())).collect();
        s.commit_messages(&batch, &[], 1000).unwrap();
    }

    fn ids(r: &super::Resume) -> Vec<&str> {
        r.events.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn window_is_bounded_per_application_and_resumes_after_an_id() {
        let (_d, s) = temp_store(Limits { history_window: 3, ..Limits::default() });
        let a = "x-oma-application:A";
        commit(&s, &[event(a, "a1", "1"), event(a, "a2", "2"), event("other", "o1", "x")]);
        commit(&s, &[event(a, "a3", "3"), event(a, "a4", "4\nfour")]);
        // A duplicate (same id) and a plain message add nothing.
        commit(&s, &[event(a, "a4", "again"), crate::store::test_message("plain", b"p")]);
        let all = s.history_after("X-OMA-Application:a", None, None, 10).unwrap();
        assert_eq!(ids(&all), ["a2", "a3", "a4"]);
        assert_eq!(all.events[2].data, "4\nfour");
        assert_eq!(all.events[2].app_id, "x-oma-application:a");
        assert!(!all.gap);
        let r = s.history_after(a, None, Some("a3"), 10).unwrap();
        assert_eq!((ids(&r), r.gap), (vec!["a4"], false));
        let r = s.history_after(a, None, Some("a1"), 10).unwrap();
        assert_eq!((ids(&r), r.gap), (vec!["a2", "a3", "a4"], true), "a1 left the window");
        assert_eq!(ids(&s.history_after(a, Some("news"), None, 10).unwrap()), Vec::<&str>::new());
        assert_eq!(ids(&s.history_after("other", Some("ticker"), None, 10).unwrap()), ["o1"]);
        assert_eq!(s.history_event(a, "a3").unwrap().unwrap().data, "3");
        let first = s.history_after(a, None, None, 2).unwrap();
        assert_eq!(ids(&first), ["a2", "a3"]);
        let rest = s.history_page(a, None, first.events[1].seq, 2).unwrap();
        assert_eq!(rest.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a4"]);
        assert_eq!(s.history_event(a, "a1").unwrap(), None);
    }

    #[test]
    fn each_event_keeps_the_address_its_message_named() {
        let (_d, s) = temp_store(Limits { history_window: 10, ..Limits::default() });
        let mut by_sms = event("a", "s1", r#"{"topic":"eur","group":"g"}"#);
        by_sms.headers.insert("X-Otapush-Topic".into(), "usd".into());
        by_sms.headers.insert("X-Otapush-Group".into(), "h, g".into());
        commit(&s, &[by_sms, event("a", "s2", r#"{"group":["k","l"]}"#), event("a", "s3", "plain")]);
        let got: Vec<_> = s.history_after("a", None, None, 10).unwrap().events;
        let address: Vec<_> = got.iter().map(|e| (e.topic.as_deref(), e.groups.clone())).collect();
        assert_eq!(
            address,
            [
                (Some("usd"), vec!["h".to_string(), "g".into()]),
                (None, vec!["k".into(), "l".into()]),
                (None, vec![])
            ],
            "the header wins for the topic, groups are the union"
        );
        // A row written before schema 5 has no stored address: its data names it.
        s.lock()
            .execute(
                "INSERT INTO history (app, msg, stream, event_type, data) VALUES ('a', 'old', 't', '', ?1)",
                [r#"{"topic":"eur","group":"g"}"#],
            )
            .unwrap();
        let old = s.history_event("a", "old").unwrap().unwrap();
        assert_eq!((old.topic.as_deref(), old.groups), (Some("eur"), vec!["g".to_string()]));
    }

    #[test]
    fn no_window_keeps_nothing() {
        let (_d, s) = temp_store(Limits { history_window: 0, ..Limits::default() });
        commit(&s, &[event("a", "a1", "1")]);
        assert_eq!(s.history_after("a", None, None, 10).unwrap(), super::Resume::default());
    }
}
