//! Schema versions (`PRAGMA user_version`) and the migrations between them.

use super::{Result, StoreError};
use rusqlite::Connection;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// The schema version this code writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1.
///
/// - `spool`: raw PDUs from the modem until they are part of a committed message.
/// - `dead_letter`: PDUs or messages that could not be delivered, with the reason.
/// - `message`: one row per routed message still queued somewhere (the `Message` fields).
/// - `queue`: one row per (registration, message); `reg = 0` is the unclaimed queue. `seq`
///   orders each queue; when a message's last queue row goes, the message goes (trigger).
/// - `seen`: message ids committed within the dedup window.
/// - `totals`: counters kept by triggers, so cap checks cost one row read.
/// - `registration`: persistent registrations (and, while the daemon runs, the others).
/// - `stream`: Last-Event-ID and reconnection time per event stream.
const V1: &str = r#"
CREATE TABLE spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pdu BLOB NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE TABLE dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    dead_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    pdu BLOB,
    message_id TEXT,
    summary TEXT
);
CREATE TABLE message (
    id TEXT PRIMARY KEY NOT NULL,
    received_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    originator TEXT NOT NULL,
    sent_time TEXT,
    received_time TEXT NOT NULL,
    application_id TEXT,
    content_type TEXT NOT NULL,
    content_type_params TEXT,
    headers TEXT,
    transaction_id INTEGER,
    pdu_type TEXT,
    port INTEGER,
    stream TEXT,
    event_type TEXT,
    event_id TEXT,
    body BLOB NOT NULL
);
CREATE TABLE queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    reg INTEGER NOT NULL,
    msg TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    UNIQUE (reg, msg)
);
CREATE INDEX queue_by_reg ON queue (reg);
CREATE INDEX queue_by_msg ON queue (msg);
CREATE INDEX queue_by_expiry ON queue (expires_ms);
CREATE TABLE seen (
    id TEXT PRIMARY KEY NOT NULL,
    seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX seen_by_time ON seen (seen_ms);
CREATE TABLE totals (
    k INTEGER PRIMARY KEY CHECK (k = 0),
    messages INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    seen INTEGER NOT NULL
);
INSERT INTO totals VALUES (0, 0, 0, 0);
CREATE TRIGGER message_added AFTER INSERT ON message BEGIN
    UPDATE totals SET messages = messages + 1, bytes = bytes + length(NEW.body) WHERE k = 0;
END;
CREATE TRIGGER message_removed AFTER DELETE ON message BEGIN
    UPDATE totals SET messages = messages - 1, bytes = bytes - length(OLD.body) WHERE k = 0;
END;
CREATE TRIGGER queue_entry_removed AFTER DELETE ON queue
    WHEN NOT EXISTS (SELECT 1 FROM queue WHERE msg = OLD.msg) BEGIN
    DELETE FROM message WHERE id = OLD.msg;
END;
CREATE TRIGGER seen_added AFTER INSERT ON seen BEGIN
    UPDATE totals SET seen = seen + 1 WHERE k = 0;
END;
CREATE TRIGGER seen_removed AFTER DELETE ON seen BEGIN
    UPDATE totals SET seen = seen - 1 WHERE k = 0;
END;
CREATE TABLE registration (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid INTEGER NOT NULL,
    gids TEXT NOT NULL,
    name TEXT NOT NULL,
    persistent INTEGER NOT NULL,
    filter TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX registration_by_name ON registration (uid, name) WHERE persistent = 1;
CREATE TABLE stream (
    name TEXT PRIMARY KEY NOT NULL,
    last_event_id TEXT,
    reconnect_ms INTEGER
) WITHOUT ROWID;
"#;

/// Version 2: `history`, the EventSource resume window: the newest events per application id
/// (lower case), in commit order (`seq`), each once (docs/eventsource.md).
const V2: &str = r#"
CREATE TABLE history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    msg TEXT NOT NULL,
    stream TEXT NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (app, msg)
);
CREATE INDEX history_by_app ON history (app, seq);
"#;

/// Version 3: a queued Service Indication's replacement key (application id and `si-id`) and
/// `created`, for the WAP-167 §6.2 ordering (docs/dbus-api.md, "Expiry and Service Indications").
const V3: &str = r#"
ALTER TABLE message ADD COLUMN replace_key TEXT;
ALTER TABLE message ADD COLUMN si_created_ms INTEGER;
CREATE INDEX message_by_replace_key ON message (replace_key);
"#;

/// Version 4: fewer pages per message. `spool` and `dead_letter` drop AUTOINCREMENT (its
/// `sqlite_sequence` row was one more page written by every commit that inserts): their ids
/// are internal, referenced only while the row exists, and rows go oldest first, so the
/// largest id (the next one is one above it) is never one a live reference holds. `queue.seq`
/// keeps AUTOINCREMENT: an entry's seq is held by its `Deliver` in flight, and an expiry of
/// the newest entry during that call would otherwise hand its seq to the next message (whose
/// entry the acknowledgement would then remove). `history.seq` keeps it too: clients see it
/// in event ids. `queue`'s uniqueness key turns to `(msg, reg)`, which also serves the
/// lookups by message (the last entry of a message, SI replacement, the caps), so the
/// separate `queue_by_msg` index goes; `queue_by_reg` (`reg`, then `seq`) still orders each
/// queue's head and `queue_by_expiry` the expiry. `message_by_replace_key` becomes partial: only Service Indications have a
/// key, so other messages no longer write to that index.
const V4: &str = r#"
CREATE TABLE spool_v4 (
    id INTEGER PRIMARY KEY,
    pdu BLOB NOT NULL,
    received_ms INTEGER NOT NULL
);
INSERT INTO spool_v4 (id, pdu, received_ms) SELECT id, pdu, received_ms FROM spool;
DROP TABLE spool;
ALTER TABLE spool_v4 RENAME TO spool;
CREATE TABLE dead_letter_v4 (
    id INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    dead_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    pdu BLOB,
    message_id TEXT,
    summary TEXT
);
INSERT INTO dead_letter_v4 SELECT id, received_ms, dead_ms, reason, pdu, message_id, summary
    FROM dead_letter;
DROP TABLE dead_letter;
ALTER TABLE dead_letter_v4 RENAME TO dead_letter;
DELETE FROM sqlite_sequence WHERE name IN ('spool', 'dead_letter');
CREATE TABLE queue_v4 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    reg INTEGER NOT NULL,
    msg TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    UNIQUE (msg, reg)
);
INSERT INTO queue_v4 (seq, reg, msg, expires_ms) SELECT seq, reg, msg, expires_ms FROM queue;
DROP TABLE queue;
ALTER TABLE queue_v4 RENAME TO queue;
CREATE INDEX queue_by_reg ON queue (reg);
CREATE INDEX queue_by_expiry ON queue (expires_ms);
CREATE TRIGGER queue_entry_removed AFTER DELETE ON queue
    WHEN NOT EXISTS (SELECT 1 FROM queue WHERE msg = OLD.msg) BEGIN
    DELETE FROM message WHERE id = OLD.msg;
END;
DROP INDEX message_by_replace_key;
CREATE INDEX message_by_replace_key ON message (replace_key) WHERE replace_key IS NOT NULL;
"#;

/// Version 5: each EventSource history row keeps the address its message named (docs/pubsub.md),
/// so `?topic=` and `?group=` see a WAP Push's `X-Otapush-Topic`/`X-Otapush-Group` headers as the
/// D-Bus filters do. `groups` holds the names joined by U+001F, `''` for none; NULL marks a row
/// written before this version, whose address is read from its JSON `data` as it was then.
const V5: &str = r#"
ALTER TABLE history ADD COLUMN topic TEXT;
ALTER TABLE history ADD COLUMN groups TEXT;
"#;

/// Brings the database to [`VERSION`], one transaction per step.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::TooNew { found, supported: VERSION });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        log::info!("store schema migrated to version {}", i + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Limits, Store, DB_FILE};
    use super::*;

    /// A store file written by the version-3 schema (as the previous release left it) is
    /// migrated in place: every row stays, and the new tables no longer use AUTOINCREMENT.
    #[test]
    fn a_version_3_store_migrates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "journal_mode", "WAL").unwrap();
            for step in &MIGRATIONS[..3] {
                c.execute_batch(step).unwrap();
            }
            c.pragma_update(None, "user_version", 3).unwrap();
            c.execute_batch(
                "INSERT INTO spool (pdu, received_ms) VALUES (x'0102', 10), (x'03', 11);
                 DELETE FROM spool WHERE id = 2;
                 INSERT INTO dead_letter (received_ms, dead_ms, reason, pdu) VALUES (1, 2, 'bad', x'09');
                 INSERT INTO message (id, received_ms, kind, source, originator, received_time, \
                     content_type, body, replace_key, si_created_ms) \
                     VALUES ('m1', 5, 'wsp_push', 'sms', '+49', 't', 'text/plain', x'41', 'app/si1', 7);
                 INSERT INTO queue (reg, msg, expires_ms) VALUES (0, 'm1', 99);",
            )
            .unwrap();
        }
        let s = Store::open(dir.path(), Limits::default()).unwrap();
        let conn = s.lock();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, VERSION);
        let sql = |name: &str| -> String {
            conn.query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [name], |r| r.get(0)).unwrap()
        };
        assert!(!sql("spool").contains("AUTOINCREMENT"), "{}", sql("spool"));
        assert!(!sql("dead_letter").contains("AUTOINCREMENT"));
        assert!(sql("queue").contains("AUTOINCREMENT"), "queue seq stays unique");
        let no_index: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'queue_by_msg'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(no_index, 0);
        let plan: String = conn
            .query_row("EXPLAIN QUERY PLAN SELECT 1 FROM queue WHERE msg = 'm1'", [], |r| r.get(3))
            .unwrap();
        assert!(plan.contains("sqlite_autoindex_queue"), "{plan}");
        assert!(sql("message_by_replace_key").contains("WHERE replace_key IS NOT NULL"));
        let seqs: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_sequence WHERE name IN ('spool', 'dead_letter')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(seqs, 0);
        drop(conn);
        let spooled = s.spooled_pdus().unwrap();
        assert_eq!((spooled.len(), spooled[0].id, spooled[0].pdu.clone()), (1, 1, vec![1, 2]));
        let dl = s.dead_letters().unwrap();
        assert_eq!((dl.len(), dl[0].reason.as_str(), dl[0].pdu.clone()), (1, "bad", Some(vec![9])));
        let head = s.queue_head(0, 0).unwrap().unwrap();
        assert_eq!((head.message.id.as_str(), head.message.body.clone()), ("m1", b"A".to_vec()));
        let t = s.totals().unwrap();
        assert_eq!((t.messages, t.bytes, t.spooled, t.dead_letters), (1, 1, 1, 1));
        // New rows go on above the kept ones.
        assert_eq!(s.spool_pdu(&[4], 12).unwrap(), 2);
        let keyed: i64 = s
            .lock()
            .query_row("SELECT count(*) FROM message WHERE replace_key = 'app/si1'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(keyed, 1);
        // The last entry's removal still takes its message along (the trigger was rebuilt).
        assert!(s.remove_queued(head.seq).unwrap());
        assert_eq!(s.totals().unwrap().messages, 0);
    }
}
