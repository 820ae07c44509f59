//! Routed messages: the atomic commit (dedup + queue entries + spool cleanup), the
//! per-registration queues, expiry and the caps.

use super::spool::{delete_spooled, trim_dead_letters};
use super::{to_i64, to_u64, Result, Store, Sync};
use crate::cai::lifetime::{supersedes, SiOrder};
use crate::message::{EventInfo, Kind, Message, Source};
use rusqlite::types::Type;
use rusqlite::{params, OptionalExtension, Row, Transaction};
use std::collections::BTreeMap;

pub use otapush_proto::disposition::{Disposition, QueueTarget, UNCLAIMED};

/// Event streams may fill the queue caps up to all but 1/this of them; the rest is kept for
/// SMS, which cannot be slowed down, so that an SMS at the caps never drops a stream event
/// whose Last-Event-ID the server already considers delivered.
pub const STREAM_RESERVE_DIVISOR: u64 = 16;

/// What a commit did with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted and queued: deliver it and signal `PushReceived`.
    New,
    /// Its id was committed within the dedup window: nothing done.
    Duplicate,
    /// Refused (its disposition was [`Disposition::DeadLetter`]).
    DeadLettered,
    /// Dropped: expired on arrival, or an SI older than a queued one of the same `si-id`.
    Discarded,
}

/// The head of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The entry's position; pass it to [`Store::remove_queued`] once delivered.
    pub seq: i64,
    pub registration: i64,
    pub expires_ms: u64,
    pub message: Message,
}

const MESSAGE_COLUMNS: &str = "m.id, m.kind, m.source, m.originator, m.sent_time, m.received_time, \
     m.application_id, m.content_type, m.content_type_params, m.headers, m.transaction_id, m.pdu_type, \
     m.port, m.stream, m.event_type, m.event_id";

impl Store {
    /// Commits routed messages in one transaction: each message whose id was not seen
    /// within the dedup window is recorded and queued per its disposition (or dead-lettered),
    /// the consumed spool rows are deleted, and the caps are enforced (oldest first, logged).
    /// After a crash or power cut either all of it happened or none (the spooled PDUs are then
    /// replayed and give the same ids). New events move their stream's Last-Event-ID here, in
    /// the same transaction, and join the EventSource history ([`crate::store::Limits::history_window`]).
    pub fn commit_messages(
        &self,
        batch: &[(&Message, Disposition)],
        consumed_spool_ids: &[i64],
        now_ms: u64,
    ) -> Result<Vec<(String, Outcome)>> {
        let limits = self.limits.clone();
        self.write(Sync::Normal, |tx| commit_batch(tx, &limits, batch, consumed_spool_ids, now_ms))
    }

    /// The oldest unexpired entry of a registration's queue, with its message.
    pub fn queue_head(&self, registration: i64, now_ms: u64) -> Result<Option<Queued>> {
        self.queue_head_after(registration, i64::MIN, now_ms)
    }

    /// The oldest unexpired entry of a registration's queue after position `after` (an entry
    /// delivered whose removal has not committed yet). Read on its own connection: it does not
    /// wait for a commit in progress on the writer thread, and sees the last one.
    pub fn queue_head_after(&self, registration: i64, after: i64, now_ms: u64) -> Result<Option<Queued>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT q.seq, q.reg, q.expires_ms, {MESSAGE_COLUMNS}, m.body FROM queue q \
                 JOIN message m ON m.id = q.msg WHERE q.reg = ?1 AND q.expires_ms > ?2 AND q.seq > ?3 \
                 ORDER BY q.seq LIMIT 1"
            );
            let mut q = conn.prepare_cached(&sql)?;
            let head = q
                .query_row(params![registration, to_i64(now_ms), after], |r| {
                    let mut message = read_message(r, 3)?;
                    message.body = r.get(19)?;
                    Ok(Queued {
                        seq: r.get(0)?,
                        registration: r.get(1)?,
                        expires_ms: to_u64(r.get(2)?),
                        message,
                    })
                })
                .optional()?;
            Ok(head)
        })
    }

    /// Removes one queue entry (delivered, or rejected by its agent). False if it was gone.
    pub fn remove_queued(&self, seq: i64) -> Result<bool> {
        Ok(self.remove_all_queued(&[seq])? > 0)
    }

    /// Removes the queue entries at `seqs` (answered by their agent); gives how many there were.
    pub fn remove_all_queued(&self, seqs: &[i64]) -> Result<usize> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let removed = self.write(Sync::Normal, |tx| delete_all_queued(tx, seqs))?;
        if removed > 0 {
            self.room.notify_one();
        }
        Ok(removed)
    }

    /// Whether an event-stream message of `body_len` octets fits under the caps with the
    /// reserve kept for SMS ([`STREAM_RESERVE_DIVISOR`]). Streams wait for room (back-pressure)
    /// instead of committing past the caps, which would drop the oldest queued messages.
    pub fn room_for_stream_event(&self, body_len: usize) -> Result<bool> {
        let t = self.totals_queued()?;
        let max_messages = self.limits.max_queued_messages;
        let max_bytes = self.limits.max_queued_bytes;
        let messages = max_messages - max_messages / STREAM_RESERVE_DIVISOR;
        let bytes = max_bytes - max_bytes / STREAM_RESERVE_DIVISOR;
        // An empty queue takes any one event (one that fits the caps alone), so a single event
        // larger than the byte share still goes through.
        if t.0 == 0 {
            return Ok(true);
        }
        Ok(t.0 < messages && t.1.saturating_add(body_len as u64) <= bytes)
    }

    /// Resolves once queue entries have left since the last call (or at once if some left
    /// before it): the moment to try [`Store::room_for_stream_event`] again.
    pub async fn room_freed(&self) {
        self.room.notified().await
    }

    /// Distinct queued messages and their body octets.
    fn totals_queued(&self) -> Result<(u64, u64)> {
        let conn = self.lock();
        let (m, b): (i64, i64) = conn
            .prepare_cached("SELECT messages, bytes FROM totals WHERE k = 0")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((to_u64(m), to_u64(b)))
    }

    /// How many entries a registration's queue holds.
    pub fn queued_count(&self, registration: i64) -> Result<u64> {
        let conn = self.lock();
        let n: i64 = conn
            .prepare_cached("SELECT count(*) FROM queue WHERE reg = ?1")?
            .query_row([registration], |r| r.get(0))?;
        Ok(to_u64(n))
    }

    /// How many entries a registration's queue holds that its agent has not acknowledged.
    /// `acknowledged` lists the positions acknowledged whose removal may not have committed,
    /// taken before this read: a position leaves that list once its removal committed (then
    /// the read no longer sees it) or failed (then the entry is delivered again; an answer
    /// made meanwhile leaves it out once). One statement on the read-only connection: it does
    /// not wait for a commit in progress (`ListRegistrations`).
    pub fn queued_unacknowledged(&self, registration: i64, acknowledged: &[i64]) -> Result<u64> {
        const ALL: &str = "SELECT count(*) FROM queue WHERE reg = ?1";
        // Integers only: the list is written into the statement (SQLite here has no JSON).
        // A one-off statement is not cached: it would push the queue-head query out.
        let list: Vec<String> = acknowledged.iter().map(i64::to_string).collect();
        self.read(|conn| {
            let n: i64 = if list.is_empty() {
                conn.prepare_cached(ALL)?.query_row([registration], |r| r.get(0))?
            } else {
                let sql = format!("{ALL} AND seq NOT IN ({})", list.join(","));
                conn.prepare(&sql)?.query_row([registration], |r| r.get(0))?
            };
            Ok(to_u64(n))
        })
    }

    /// The earliest expiry of any queue entry (Unix ms), to sleep until then.
    pub fn next_expiry(&self) -> Result<Option<u64>> {
        let conn = self.lock();
        let t: Option<i64> =
            conn.prepare_cached("SELECT min(expires_ms) FROM queue")?.query_row([], |r| r.get(0))?;
        Ok(t.map(to_u64))
    }

    /// Drops every queue entry expired at `now_ms`, each with a log line; gives
    /// (registration, message id) of each.
    pub fn expire(&self, now_ms: u64) -> Result<Vec<(i64, String)>> {
        self.write(Sync::Normal, |tx| {
            let mut expired = Vec::new();
            {
                let mut q = tx.prepare_cached("SELECT reg, msg FROM queue WHERE expires_ms <= ?1")?;
                let rows =
                    q.query_map([to_i64(now_ms)], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
                for row in rows {
                    expired.push(row?);
                }
            }
            tx.prepare_cached("DELETE FROM queue WHERE expires_ms <= ?1")?.execute([to_i64(now_ms)])?;
            for (reg, id) in &expired {
                if *reg == UNCLAIMED {
                    log::warn!("message {id}: no registration claimed it in time, dropped");
                } else {
                    log::warn!("message {id}: expired in the queue of registration {reg}, dropped");
                }
            }
            Ok(expired)
        })
        .inspect(|expired| {
            if !expired.is_empty() {
                self.room.notify_one();
            }
        })
    }

    /// Moves the unclaimed messages that `wanted` accepts (called with the message without its
    /// body) to `registration`'s queue, keeping their order. Gives the moved message ids.
    pub fn claim_unclaimed(
        &self,
        registration: i64,
        expires_ms: u64,
        mut wanted: impl FnMut(&Message) -> bool,
    ) -> Result<Vec<String>> {
        self.write(Sync::Normal, |tx| {
            let mut claimed = Vec::new();
            {
                let sql = format!(
                    "SELECT q.seq, {MESSAGE_COLUMNS} FROM queue q JOIN message m ON m.id = q.msg \
                     WHERE q.reg = ?1 ORDER BY q.seq"
                );
                let mut q = tx.prepare_cached(&sql)?;
                let mut rows = q.query([UNCLAIMED])?;
                while let Some(r) = rows.next()? {
                    let m = read_message(r, 1)?;
                    if wanted(&m) {
                        claimed.push((r.get::<_, i64>(0)?, m.id));
                    }
                }
            }
            let mut mv =
                tx.prepare_cached("UPDATE OR IGNORE queue SET reg = ?1, expires_ms = ?2 WHERE seq = ?3")?;
            let mut del = tx.prepare_cached("DELETE FROM queue WHERE seq = ?1 AND reg = ?2")?;
            for (seq, _) in &claimed {
                mv.execute(params![registration, to_i64(expires_ms), seq])?;
                // Left behind only if the registration already had it queued.
                del.execute(params![seq, UNCLAIMED])?;
            }
            Ok(claimed.into_iter().map(|(_, id)| id).collect())
        })
    }
}

/// Deletes queue entries by position; gives how many were there.
pub(super) fn delete_all_queued(tx: &Transaction<'_>, seqs: &[i64]) -> Result<usize> {
    let mut del = tx.prepare_cached("DELETE FROM queue WHERE seq = ?1")?;
    let mut n = 0;
    for seq in seqs {
        n += del.execute([seq])?;
    }
    Ok(n)
}

/// The transaction of [`Store::commit_messages`] (also queued to the writer thread).
pub(super) fn commit_batch<M: std::borrow::Borrow<Message>>(
    tx: &Transaction<'_>,
    limits: &super::Limits,
    batch: &[(M, Disposition)],
    consumed_spool_ids: &[i64],
    now_ms: u64,
) -> Result<Vec<(String, Outcome)>> {
    tx.prepare_cached("DELETE FROM seen WHERE seen_ms < ?1")?
        .execute([to_i64(now_ms.saturating_sub(limits.dedup_window_ms))])?;
    let mut out = Vec::with_capacity(batch.len());
    for (msg, disposition) in batch {
        let msg = msg.borrow();
        out.push((msg.id.clone(), commit_one(tx, msg, disposition, now_ms, limits.history_window)?));
    }
    delete_spooled(tx, consumed_spool_ids)?;
    trim_seen(tx, limits.max_seen_ids)?;
    trim_dead_letters(tx, limits.max_dead_letters)?;
    enforce_caps(tx, limits.max_queued_messages, limits.max_queued_bytes)?;
    Ok(out)
}

/// Moves a registration's queue to the unclaimed queue (kept `unclaimed_ttl_ms` from each
/// message's arrival), so a later matching registration gets it. Gives how many moved.
pub(super) fn release_queue(tx: &Transaction<'_>, registration: i64, unclaimed_ttl_ms: u64) -> Result<u64> {
    let moved = tx
        .prepare_cached(
            "UPDATE OR IGNORE queue SET reg = ?2, expires_ms = \
             (SELECT received_ms FROM message WHERE id = queue.msg) + ?3 WHERE reg = ?1",
        )?
        .execute(params![registration, UNCLAIMED, to_i64(unclaimed_ttl_ms)])?;
    tx.prepare_cached("DELETE FROM queue WHERE reg = ?1")?.execute([registration])?;
    Ok(moved as u64)
}

fn commit_one(
    tx: &Transaction<'_>,
    msg: &Message,
    disposition: &Disposition,
    now_ms: u64,
    history_window: u64,
) -> Result<Outcome> {
    let seen = tx.prepare_cached("SELECT 1 FROM seen WHERE id = ?1")?.exists([&msg.id])?;
    if seen {
        return Ok(Outcome::Duplicate);
    }
    tx.prepare_cached("INSERT INTO seen (id, seen_ms) VALUES (?1, ?2)")?
        .execute(params![msg.id, to_i64(now_ms)])?;
    let targets = match disposition {
        Disposition::DeadLetter(reason) => {
            let reason = crate::logging::clip(reason);
            let summary = format!(
                "{} from {:?} application {:?} content {:?} ({} octets)",
                msg.kind.as_str(),
                msg.originator,
                msg.application_id.as_deref().unwrap_or(""),
                msg.content_type,
                msg.body.len()
            );
            tx.prepare_cached(
                "INSERT INTO dead_letter (received_ms, dead_ms, reason, message_id, summary) \
                 VALUES (?1, ?1, ?2, ?3, ?4)",
            )?
            .execute(params![to_i64(now_ms), reason, msg.id, summary])?;
            log::warn!("dead letter: message {} ({summary}): {reason}", msg.id);
            return Ok(Outcome::DeadLettered);
        }
        Disposition::Discard(reason) => {
            log::info!("message {} ({}) discarded: {reason}", msg.id, msg.content_type);
            return Ok(Outcome::Discarded);
        }
        Disposition::Queue(t) => t,
    };
    let si = crate::cai::lifetime::lifetime(msg).si;
    if let Some(si) = &si {
        if !targets.is_empty() && !supersede_queued_si(tx, msg, si)? {
            return Ok(Outcome::Discarded);
        }
    }
    // A new event moves its stream's Last-Event-ID, queued or not (the daemon's copy follows
    // every `New`).
    if let Some(EventInfo { stream, event_id, .. }) = &msg.event {
        if !stream.is_empty() && !event_id.is_empty() {
            super::stream::put_last_event_id(tx, stream, event_id)?;
        }
    }
    // The EventSource window keeps events whether or not a D-Bus queue takes them.
    super::history::append(tx, msg, history_window)?;
    if targets.is_empty() {
        log::warn!("message {}: routed to no queue, dropped", msg.id);
        return Ok(Outcome::New);
    }
    insert_message(tx, msg, now_ms, si.as_ref())?;
    let mut q =
        tx.prepare_cached("INSERT OR IGNORE INTO queue (reg, msg, expires_ms) VALUES (?1, ?2, ?3)")?;
    for t in targets {
        q.execute(params![t.registration, msg.id, to_i64(t.expires_ms)])?;
    }
    Ok(Outcome::New)
}

/// WAP-167 §6.2, §6.3 on the queued SIs of `si`'s key: an SI (a delete too) at least as new
/// as all of them removes them (true: queue the new one); one older than one of them arrived
/// out of order and is discarded (false), and they stay.
fn supersede_queued_si(tx: &Transaction<'_>, msg: &Message, si: &SiOrder) -> Result<bool> {
    let queued: Vec<(String, Option<i64>)> = tx
        .prepare_cached("SELECT id, si_created_ms FROM message WHERE replace_key = ?1")?
        .query_map([&si.key], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let older = |c: &Option<i64>| !supersedes(si.created_ms, c.map(to_u64));
    if queued.iter().any(|(_, c)| older(c)) {
        log::info!("message {}: SI older than a queued one with its si-id, discarded (WAP-167 §6.2)", msg.id);
        return Ok(false);
    }
    let mut drop_entries = tx.prepare_cached("DELETE FROM queue WHERE msg = ?1")?;
    for (id, _) in &queued {
        drop_entries.execute([id])?;
        let how = if si.delete { "deleted" } else { "replaced" };
        log::info!("message {id}: queued SI {how} by message {} (WAP-167 §6.2)", msg.id);
    }
    Ok(true)
}

fn map_json(m: &BTreeMap<String, String>) -> Result<Option<String>> {
    if m.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(m)
        .map(Some)
        .map_err(|e| super::StoreError::Corrupt { what: "message map".into(), reason: e.to_string() })
}

fn insert_message(tx: &Transaction<'_>, m: &Message, now_ms: u64, si: Option<&SiOrder>) -> Result<()> {
    let (stream, event_type, event_id) = match &m.event {
        Some(e) => (Some(&e.stream), Some(&e.event_type), Some(&e.event_id)),
        None => (None, None, None),
    };
    tx.prepare_cached(
        "INSERT OR IGNORE INTO message (id, received_ms, kind, source, originator, sent_time, received_time, \
         application_id, content_type, content_type_params, headers, transaction_id, pdu_type, port, \
         stream, event_type, event_id, body, replace_key, si_created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?
    .execute(params![
        m.id,
        to_i64(now_ms),
        m.kind.as_str(),
        m.source.as_str(),
        m.originator,
        m.sent_time,
        m.received_time,
        m.application_id,
        m.content_type,
        map_json(&m.content_type_params)?,
        map_json(&m.headers)?,
        m.transaction_id,
        m.pdu_type,
        m.port,
        stream,
        event_type,
        event_id,
        m.body,
        si.map(|s| &s.key),
        si.and_then(|s| s.created_ms).map(to_i64),
    ])?;
    Ok(())
}

fn bad_column(idx: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, what.into())
}

fn json_map(r: &Row<'_>, idx: usize) -> rusqlite::Result<BTreeMap<String, String>> {
    match r.get::<_, Option<String>>(idx)? {
        None => Ok(BTreeMap::new()),
        Some(s) => serde_json::from_str(&s).map_err(|e| bad_column(idx, e.to_string())),
    }
}

/// Reads the message columns ([`MESSAGE_COLUMNS`]) starting at `at`, without the body.
fn read_message(r: &Row<'_>, at: usize) -> rusqlite::Result<Message> {
    let kind: String = r.get(at + 1)?;
    let kind = Kind::parse(&kind).ok_or_else(|| bad_column(at + 1, format!("unknown kind {kind:?}")))?;
    let source = match r.get_ref(at + 2)?.as_str()? {
        "sms" => Source::Sms,
        "sse" => Source::Sse,
        other => return Err(bad_column(at + 2, format!("unknown source {other:?}"))),
    };
    let stream: Option<String> = r.get(at + 13)?;
    let event = match stream {
        Some(stream) => Some(EventInfo {
            stream,
            event_type: r.get::<_, Option<String>>(at + 14)?.unwrap_or_default(),
            event_id: r.get::<_, Option<String>>(at + 15)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Message {
        id: r.get(at)?,
        kind,
        source,
        originator: r.get(at + 3)?,
        sent_time: r.get(at + 4)?,
        received_time: r.get(at + 5)?,
        application_id: r.get(at + 6)?,
        content_type: r.get(at + 7)?,
        content_type_params: json_map(r, at + 8)?,
        headers: json_map(r, at + 9)?,
        transaction_id: r.get(at + 10)?,
        pdu_type: r.get(at + 11)?,
        port: r.get(at + 12)?,
        event,
        body: Vec::new(),
    })
}

fn trim_seen(tx: &Transaction<'_>, cap: u64) -> Result<()> {
    let seen: i64 = tx.prepare_cached("SELECT seen FROM totals WHERE k = 0")?.query_row([], |r| r.get(0))?;
    let excess = to_u64(seen).saturating_sub(cap);
    if excess > 0 {
        tx.prepare_cached("DELETE FROM seen WHERE id IN (SELECT id FROM seen ORDER BY seen_ms LIMIT ?1)")?
            .execute([to_i64(excess)])?;
    }
    Ok(())
}

/// Drops the oldest messages (from every queue) while a cap is exceeded, one log line each.
fn enforce_caps(tx: &Transaction<'_>, max_messages: u64, max_bytes: u64) -> Result<()> {
    let mut totals = tx.prepare_cached("SELECT messages, bytes FROM totals WHERE k = 0")?;
    let mut oldest = tx.prepare_cached("SELECT id, length(body) FROM message ORDER BY rowid LIMIT 1")?;
    let mut drop_entries = tx.prepare_cached("DELETE FROM queue WHERE msg = ?1")?;
    let mut drop_message = tx.prepare_cached("DELETE FROM message WHERE id = ?1")?;
    loop {
        let (messages, bytes): (i64, i64) = totals.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (messages, bytes) = (to_u64(messages), to_u64(bytes));
        if messages <= max_messages && bytes <= max_bytes {
            return Ok(());
        }
        let Some((id, len)) =
            oldest.query_row([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).optional()?
        else {
            return Ok(());
        };
        log::warn!(
            "queues hold {messages} messages / {bytes} octets (caps {max_messages} / {max_bytes}): \
             dropped the oldest, message {id} ({len} octets)"
        );
        drop_entries.execute([&id])?;
        // Normally gone with its last queue entry (trigger); a row without entries goes here.
        drop_message.execute([&id])?;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::temp_store;
    use super::super::Limits;
    use super::*;

    pub(crate) fn msg(id: &str, body: &[u8]) -> Message {
        Message {
            id: id.into(),
            kind: Kind::WspPush,
            source: Source::Sms,
            originator: "+4915112345678".into(),
            sent_time: Some("2024-05-01T12:00:00+02:00".into()),
            received_time: "2024-05-01T10:00:05+00:00".into(),
            application_id: Some("x-wap-application:mms.ua".into()),
            content_type: "application/vnd.wap.mms-message".into(),
            content_type_params: BTreeMap::from([("charset".into(), "utf-8".into())]),
            headers: BTreeMap::from([("X-Wap-Initiator-URI".into(), "http://mmsc.example".into())]),
            transaction_id: Some(7),
            pdu_type: Some("push".into()),
            port: Some(2948),
            event: None,
            body: body.to_vec(),
        }
    }

    fn q(reg: i64, exp: u64) -> Disposition {
        Disposition::Queue(vec![QueueTarget { registration: reg, expires_ms: exp }])
    }

    #[test]
    fn commit_round_trips_every_field_and_consumes_spool() {
        let (_d, s) = temp_store(Limits::default());
        let spool = s.spool_pdu(b"pdu", 1).unwrap();
        let mut m = msg("a1", b"\x00body\xff");
        m.event =
            Some(EventInfo { stream: "ticker".into(), event_type: "tick".into(), event_id: "41".into() });
        let out = s.commit_messages(&[(&m, q(5, 10_000))], &[spool], 100).unwrap();
        assert_eq!(out, vec![("a1".to_string(), Outcome::New)]);
        assert!(s.spooled_pdus().unwrap().is_empty());
        let head = s.queue_head(5, 100).unwrap().unwrap();
        assert_eq!(head.message, m);
        assert_eq!((head.registration, head.expires_ms), (5, 10_000));
        assert_eq!(s.last_event_id("ticker").unwrap().as_deref(), Some("41"));
        let t = s.totals().unwrap();
        assert_eq!((t.messages, t.bytes, t.seen_ids), (1, 6, 1));
    }

    /// Regression: an event routed to no queue (no agent registered for it) is `New`, and the
    /// daemon moved its Last-Event-ID copy, but the store kept the old one: after a restart the
    /// stream asked for events it had already delivered.
    #[test]
    fn an_event_routed_to_no_queue_still_moves_last_event_id() {
        let (_d, s) = temp_store(Limits::default());
        let mut m = msg("e1", b"quote");
        m.event =
            Some(EventInfo { stream: "ticker".into(), event_type: "tick".into(), event_id: "42".into() });
        let out = s.commit_messages(&[(&m, Disposition::Queue(Vec::new()))], &[], 100).unwrap();
        assert_eq!(out, vec![("e1".to_string(), Outcome::New)]);
        assert_eq!(s.last_event_id("ticker").unwrap().as_deref(), Some("42"));
    }

    #[test]
    fn duplicate_ids_are_not_queued_again_within_the_window() {
        let (_d, s) = temp_store(Limits { dedup_window_ms: 1000, ..Limits::default() });
        let m = msg("dup", b"x");
        assert_eq!(s.commit_messages(&[(&m, q(1, 99_999))], &[], 10).unwrap()[0].1, Outcome::New);
        // Same id in the same batch and again later inside the window.
        let out = s.commit_messages(&[(&m, q(1, 99_999)), (&m, q(2, 99_999))], &[], 500).unwrap();
        assert_eq!(out.iter().map(|o| o.1).collect::<Vec<_>>(), vec![Outcome::Duplicate; 2]);
        assert_eq!(s.queued_count(1).unwrap(), 1);
        assert_eq!(s.queued_count(2).unwrap(), 0);
        // Past the window (seen at 10, window 1000) the id is new again.
        assert_eq!(s.commit_messages(&[(&m, q(2, 99_999))], &[], 1011).unwrap()[0].1, Outcome::New);
        assert_eq!(s.queued_count(2).unwrap(), 1);
    }

    #[test]
    fn several_queues_share_one_message_row_until_the_last_ack() {
        let (_d, s) = temp_store(Limits::default());
        let m = msg("shared", b"12345");
        let d = Disposition::Queue(vec![
            QueueTarget { registration: 1, expires_ms: 1000 },
            QueueTarget { registration: 2, expires_ms: 1000 },
        ]);
        s.commit_messages(&[(&m, d)], &[], 0).unwrap();
        let h1 = s.queue_head(1, 0).unwrap().unwrap();
        assert!(s.remove_queued(h1.seq).unwrap());
        assert!(!s.remove_queued(h1.seq).unwrap());
        assert_eq!(s.totals().unwrap().messages, 1);
        let h2 = s.queue_head(2, 0).unwrap().unwrap();
        assert_eq!(h2.message.body, b"12345");
        s.remove_queued(h2.seq).unwrap();
        assert_eq!(s.totals().unwrap().messages, 0);
        assert_eq!(s.totals().unwrap().bytes, 0);
    }

    /// The pipelined deliverer reads the head after the entries whose removal is pending, on
    /// the read-only connection (which sees each commit), and removes a batch in one job.
    #[tokio::test]
    async fn heads_after_a_position_and_batched_removals() {
        let (_d, s) = temp_store(Limits::default());
        for i in 0..3 {
            s.commit_messages(&[(&msg(&format!("m{i}"), b"xy"), q(4, 1000))], &[], 0).unwrap();
        }
        let h0 = s.queue_head(4, 0).unwrap().unwrap();
        let h1 = s.queue_head_after(4, h0.seq, 0).unwrap().unwrap();
        let h2 = s.queue_head_after(4, h1.seq, 0).unwrap().unwrap();
        assert_eq!([&h0, &h1, &h2].map(|h| h.message.id.as_str()), ["m0", "m1", "m2"]);
        assert_eq!(s.queue_head_after(4, h2.seq, 0).unwrap(), None);
        let slot = s.write_slot().await;
        assert_eq!(s.remove_queued_later(slot, vec![h0.seq, h1.seq, h0.seq]).await.unwrap(), 2);
        assert_eq!(s.queue_head(4, 0).unwrap().unwrap().message.id, "m2");
        assert_eq!(s.totals().unwrap().messages, 1);
        assert_eq!(s.totals().unwrap().bytes, 2);
    }

    #[test]
    fn queue_is_ordered_and_expiry_is_a_deadline() {
        let (_d, s) = temp_store(Limits::default());
        assert_eq!(s.next_expiry().unwrap(), None);
        for (i, exp) in [(0, 500u64), (1, 300), (2, 900)] {
            s.commit_messages(&[(&msg(&format!("m{i}"), b"x"), q(3, exp))], &[], 0).unwrap();
        }
        assert_eq!(s.next_expiry().unwrap(), Some(300));
        assert_eq!(s.queue_head(3, 0).unwrap().unwrap().message.id, "m0");
        // At 300, m1 is expired: the head skips nothing before it, expire() removes it.
        assert_eq!(s.expire(300).unwrap(), vec![(3, "m1".to_string())]);
        assert_eq!(s.next_expiry().unwrap(), Some(500));
        // Past m0's expiry the head is m2 even before expire() runs.
        assert_eq!(s.queue_head(3, 600).unwrap().unwrap().message.id, "m2");
        assert_eq!(s.expire(1000).unwrap().len(), 2);
        assert_eq!(s.totals().unwrap().messages, 0);
    }

    #[test]
    fn a_discarded_push_is_seen_but_not_queued() {
        let (_d, s) = temp_store(Limits::default());
        let m = msg("x1", b"x");
        let out = s.commit_messages(&[(&m, Disposition::Discard("expired".into()))], &[], 5).unwrap();
        assert_eq!(out, vec![("x1".into(), Outcome::Discarded)]);
        assert_eq!(s.queue_head(UNCLAIMED, 0).unwrap(), None);
        assert_eq!(s.totals().unwrap().messages, 0);
        assert!(s.dead_letters().unwrap().is_empty(), "not a dead letter");
        let again = s.commit_messages(&[(&m, q(1, 99))], &[], 6).unwrap();
        assert_eq!(again, vec![("x1".into(), Outcome::Duplicate)], "a replay stays dropped");
    }

    #[test]
    fn service_indications_replace_by_si_id_and_created() {
        use crate::cai::lifetime::{test_sic, SIC};
        let (_d, s) = temp_store(Limits::default());
        let si = |id: &str, si_id: &str, created: u8, action: u8| {
            let mut m = msg(id, b"");
            m.content_type = SIC.into();
            m.body = test_sic(si_id, &[0x20, 0x26, 0x11, created], &[], action);
            m
        };
        let heads = |reg| {
            let mut out = Vec::new();
            while let Some(h) = s.queue_head(reg, 0).unwrap() {
                out.push(h.message.id.clone());
                s.remove_queued(h.seq).unwrap();
            }
            out
        };
        // action="signal-medium" is 0x07, "delete" 0x09; created 2026-11-<day>.
        let commit = |m: &Message, reg| s.commit_messages(&[(m, q(reg, 9999))], &[], 1).unwrap()[0].1;
        assert_eq!(commit(&si("a", "n1", 0x10, 0x07), 1), Outcome::New);
        assert_eq!(commit(&si("other", "n2", 0x10, 0x07), 1), Outcome::New);
        assert_eq!(commit(&si("b", "n1", 0x12, 0x07), 1), Outcome::New, "newer replaces a");
        assert_eq!(commit(&si("late", "n1", 0x11, 0x07), 1), Outcome::Discarded, "older than b");
        assert_eq!(commit(&si("c", "n1", 0x12, 0x07), 1), Outcome::New, "equal created replaces b");
        assert_eq!(heads(1), ["other", "c"]);
        // A delete removes the queued one and is itself delivered; another registration's
        // queue of the same application id counts too.
        assert_eq!(commit(&si("d", "n3", 0x10, 0x07), 2), Outcome::New);
        assert_eq!(commit(&si("del-late", "n3", 0x01, 0x09), 1), Outcome::Discarded, "out of order");
        assert_eq!(commit(&si("del", "n3", 0x11, 0x09), 1), Outcome::New);
        assert_eq!((heads(2), heads(1)), (vec![], vec!["del".to_string()]));
        assert_eq!(s.totals().unwrap().messages, 0);
    }

    #[test]
    fn caps_drop_the_oldest_messages() {
        let (_d, s) =
            temp_store(Limits { max_queued_messages: 3, max_queued_bytes: 10, ..Limits::default() });
        for i in 0..4 {
            s.commit_messages(&[(&msg(&format!("c{i}"), b"ab"), q(1, 9999))], &[], i).unwrap();
        }
        // Count cap 3: c0 dropped.
        assert_eq!(s.queue_head(1, 0).unwrap().unwrap().message.id, "c1");
        // A 7-octet body: 2+2+2+7 = 13 > 10 and 4 > 3, so c1 and c2 go (2+7 = 9).
        s.commit_messages(&[(&msg("big", b"1234567"), q(1, 9999))], &[], 10).unwrap();
        let t = s.totals().unwrap();
        assert_eq!((t.messages, t.bytes), (2, 9));
        assert_eq!(s.queue_head(1, 0).unwrap().unwrap().message.id, "c3");
    }

    #[test]
    fn streams_wait_below_the_caps_and_are_told_when_room_returns() {
        let limits = Limits { max_queued_messages: 32, max_queued_bytes: 1000, ..Limits::default() };
        let (_d, s) = temp_store(limits);
        assert!(s.room_for_stream_event(5000).unwrap(), "an empty queue takes any one event");
        // 32 messages, 1/16 kept for SMS: streams stop at 30.
        for i in 0..30 {
            assert!(s.room_for_stream_event(2).unwrap(), "{i}");
            s.commit_messages(&[(&msg(&format!("s{i}"), b"ab"), q(1, 9999))], &[], 0).unwrap();
        }
        assert!(!s.room_for_stream_event(2).unwrap());
        // SMS may still use the reserve without dropping anything.
        s.commit_messages(&[(&msg("sms", b"ab"), q(1, 9999))], &[], 0).unwrap();
        assert_eq!(s.queue_head(1, 0).unwrap().unwrap().message.id, "s0");
        // A delivery frees room and wakes the waiter (a permit: no race with the check).
        let head = s.queue_head(1, 0).unwrap().unwrap();
        s.remove_queued(head.seq).unwrap();
        s.remove_queued(s.queue_head(1, 0).unwrap().unwrap().seq).unwrap();
        assert!(s.room_for_stream_event(2).unwrap());
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), s.room_freed()).await.unwrap()
        });
        // The byte share: 1000 - 1000/16 = 938 octets for streams.
        assert!(!s.room_for_stream_event(938 - 29 * 2 + 1).unwrap());
        assert!(s.room_for_stream_event(938 - 29 * 2).unwrap());
    }

    #[test]
    fn dead_letter_disposition_is_kept_and_deduplicated() {
        let (_d, s) = temp_store(Limits::default());
        let m = msg("evil", b"x");
        let d = Disposition::DeadLetter("originator not allowed".into());
        let out = s.commit_messages(&[(&m, d.clone())], &[], 5).unwrap();
        assert_eq!(out[0].1, Outcome::DeadLettered);
        assert_eq!(s.commit_messages(&[(&m, d)], &[], 6).unwrap()[0].1, Outcome::Duplicate);
        let dl = s.dead_letters().unwrap();
        assert_eq!(dl.len(), 1);
        assert_eq!(dl[0].message_id.as_deref(), Some("evil"));
        assert!(dl[0].summary.as_deref().unwrap().contains("+4915112345678"));
        assert_eq!(s.totals().unwrap().messages, 0);
    }

    #[test]
    fn unclaimed_messages_are_claimed_in_order_by_a_matching_registration() {
        let (_d, s) = temp_store(Limits::default());
        let mut other = msg("u1", b"x");
        other.application_id = Some("x-wap-application:wml.ua".into());
        for m in [msg("u0", b"x"), other, msg("u2", b"y")] {
            s.commit_messages(&[(&m, q(UNCLAIMED, 5000))], &[], 0).unwrap();
        }
        let got = s
            .claim_unclaimed(9, 7000, |m| {
                assert!(m.body.is_empty(), "claim sees metadata only");
                m.application_id.as_deref() == Some("x-wap-application:mms.ua")
            })
            .unwrap();
        assert_eq!(got, vec!["u0".to_string(), "u2".to_string()]);
        assert_eq!(s.queued_count(9).unwrap(), 2);
        assert_eq!(s.queued_count(UNCLAIMED).unwrap(), 1);
        let head = s.queue_head(9, 0).unwrap().unwrap();
        assert_eq!((head.message.id.as_str(), head.expires_ms), ("u0", 7000));
        assert_eq!(head.message.body, b"x");
    }
}
