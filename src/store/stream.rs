//! Event-stream state: the Last-Event-ID and the reconnection time of each `[[sse]]` stream.

use super::{to_i64, to_u64, Result, Store, Sync};
use rusqlite::{params, OptionalExtension, Transaction};

impl Store {
    /// The stream's Last-Event-ID, to send on the next connect.
    pub fn last_event_id(&self, stream: &str) -> Result<Option<String>> {
        let conn = self.lock();
        let v = conn
            .prepare_cached("SELECT last_event_id FROM stream WHERE name = ?1")?
            .query_row([stream], |r| r.get::<_, Option<String>>(0))
            .optional()?;
        Ok(v.flatten())
    }

    /// Records the stream's Last-Event-ID. (Committing a new event message does this too.)
    pub fn set_last_event_id(&self, stream: &str, id: &str) -> Result<()> {
        self.write(Sync::Normal, |tx| put_last_event_id(tx, stream, id))
    }

    /// The stream's reconnection time in ms (the server's last `retry:`), if one was set.
    pub fn reconnect_time(&self, stream: &str) -> Result<Option<u64>> {
        let conn = self.lock();
        let v = conn
            .prepare_cached("SELECT reconnect_ms FROM stream WHERE name = ?1")?
            .query_row([stream], |r| r.get::<_, Option<i64>>(0))
            .optional()?;
        Ok(v.flatten().map(to_u64))
    }

    /// Records the stream's reconnection time in ms.
    pub fn set_reconnect_time(&self, stream: &str, ms: u64) -> Result<()> {
        self.write(Sync::Normal, |tx| {
            tx.prepare_cached(
                "INSERT INTO stream (name, reconnect_ms) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET reconnect_ms = excluded.reconnect_ms",
            )?
            .execute(params![stream, to_i64(ms)])?;
            Ok(())
        })
    }
}

pub(super) fn put_last_event_id(tx: &Transaction<'_>, stream: &str, id: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO stream (name, last_event_id) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET last_event_id = excluded.last_event_id",
    )?
    .execute(params![stream, id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Limits;

    #[test]
    fn stream_state_persists_independently() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = super::Store::open(dir.path(), Limits::default()).unwrap();
            assert_eq!(s.last_event_id("ticker").unwrap(), None);
            s.set_reconnect_time("ticker", 3000).unwrap();
            assert_eq!(s.last_event_id("ticker").unwrap(), None);
            s.set_last_event_id("ticker", "17").unwrap();
            s.set_last_event_id("news", "a").unwrap();
        }
        let s = super::Store::open(dir.path(), Limits::default()).unwrap();
        assert_eq!(s.last_event_id("ticker").unwrap().as_deref(), Some("17"));
        assert_eq!(s.reconnect_time("ticker").unwrap(), Some(3000));
        assert_eq!(s.reconnect_time("news").unwrap(), None);
        assert_eq!(s.last_event_id("news").unwrap().as_deref(), Some("a"));
    }
}
