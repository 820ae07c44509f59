//! Registrations: persistent ones survive restarts; the others live while their owner is on
//! the bus, and are kept here only so their queues can refer to them.

use super::queue::{delete_all_queued, release_queue};
use super::{to_i64, Result, Store, StoreError, Sync};
use rusqlite::params;

/// A registration as stored. `filter` is the Push-CAI layer's own serialization (opaque here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRegistration {
    pub id: i64,
    pub uid: u32,
    /// The owner's groups when it registered (for access rules on routing).
    pub gids: Vec<u32>,
    pub name: String,
    pub persistent: bool,
    pub filter: String,
}

impl Store {
    /// Adds a registration and gives its id (ids are never reused).
    pub fn insert_registration(
        &self,
        uid: u32,
        gids: &[u32],
        name: &str,
        persistent: bool,
        filter: &str,
        now_ms: u64,
    ) -> Result<i64> {
        let gids = gids_text(gids)?;
        self.write(Sync::Durable, |tx| {
            tx.prepare_cached(
                "INSERT INTO registration (uid, gids, name, persistent, filter, created_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![uid, gids, name, persistent, filter, to_i64(now_ms)])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Replaces a registration's owner groups and filter (a takeover of a persistent one).
    pub fn update_registration(&self, id: i64, gids: &[u32], filter: &str) -> Result<()> {
        let gids = gids_text(gids)?;
        self.write(Sync::Durable, |tx| {
            tx.prepare_cached("UPDATE registration SET gids = ?2, filter = ?3 WHERE id = ?1")?
                .execute(params![id, gids, filter])?;
            Ok(())
        })
    }

    /// Every stored registration, oldest first.
    pub fn registrations(&self) -> Result<Vec<StoredRegistration>> {
        let conn = self.lock();
        let mut q = conn
            .prepare_cached("SELECT id, uid, gids, name, persistent, filter FROM registration ORDER BY id")?;
        let rows = q.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, uid, gids, name, persistent, filter) = row?;
            let gids = serde_json::from_str(&gids).map_err(|e| StoreError::Corrupt {
                what: format!("registration {id}"),
                reason: e.to_string(),
            })?;
            out.push(StoredRegistration { id, uid, gids, name, persistent, filter });
        }
        Ok(out)
    }

    /// Ends a registration: the entries at `answered` (its agent acknowledged or rejected them)
    /// are removed, its other queued messages move to the unclaimed queue (kept
    /// `unclaimed_ttl_ms` from their arrival, for the next matching registration) and the row
    /// goes. Gives how many messages moved.
    pub fn end_registration(&self, id: i64, answered: &[i64], unclaimed_ttl_ms: u64) -> Result<u64> {
        let (removed, moved) = self.write(Sync::Durable, |tx| {
            let removed = delete_all_queued(tx, answered)?;
            let moved = release_queue(tx, id, unclaimed_ttl_ms)?;
            tx.prepare_cached("DELETE FROM registration WHERE id = ?1")?.execute([id])?;
            Ok((removed, moved))
        })?;
        if removed > 0 {
            self.room.notify_one();
        }
        Ok(moved)
    }
}

fn gids_text(gids: &[u32]) -> Result<String> {
    serde_json::to_string(gids)
        .map_err(|e| StoreError::Corrupt { what: "registration groups".into(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::super::queue::{Disposition, QueueTarget, UNCLAIMED};
    use super::super::tests::temp_store;
    use super::super::Limits;

    #[test]
    fn registrations_persist_and_persistent_names_are_unique_per_uid() {
        let dir = tempfile::tempdir().unwrap();
        let s = super::Store::open(dir.path(), Limits::default()).unwrap();
        let a = s.insert_registration(1000, &[1000, 27], "mms", true, "{}", 1).unwrap();
        let b = s.insert_registration(1000, &[1000], "", false, "{\"Port\":2948}", 2).unwrap();
        assert!(s.insert_registration(1000, &[], "mms", true, "{}", 3).is_err(), "same uid+Name");
        s.insert_registration(1001, &[], "mms", true, "{}", 3).unwrap();
        s.update_registration(a, &[5], "{\"Kind\":\"text\"}").unwrap();
        drop(s);
        let s = super::Store::open(dir.path(), Limits::default()).unwrap();
        let regs = s.registrations().unwrap();
        assert_eq!(regs.len(), 3);
        assert_eq!(
            (regs[0].id, regs[0].gids.as_slice(), regs[0].filter.as_str()),
            (a, &[5u32][..], "{\"Kind\":\"text\"}")
        );
        assert!(regs[0].persistent);
        assert_eq!((regs[1].id, regs[1].persistent), (b, false));
    }

    #[test]
    fn ending_a_registration_hands_its_queue_to_the_unclaimed_queue() {
        let (_d, s) = temp_store(Limits::default());
        let r = s.insert_registration(0, &[], "", false, "{}", 0).unwrap();
        let m = super::super::queue::tests::msg("gone", b"x");
        let d = Disposition::Queue(vec![QueueTarget { registration: r, expires_ms: 50 }]);
        s.commit_messages(&[(&m, d)], &[], 1000).unwrap();
        assert_eq!(s.end_registration(r, &[], 5000).unwrap(), 1);
        assert!(s.registrations().unwrap().is_empty());
        let head = s.queue_head(UNCLAIMED, 0).unwrap().unwrap();
        // Kept 5000 ms from its arrival at 1000.
        assert_eq!((head.message.id.as_str(), head.expires_ms), ("gone", 6000));
    }

    #[test]
    fn ending_a_registration_removes_the_entries_its_agent_answered() {
        let (_d, s) = temp_store(Limits::default());
        let r = s.insert_registration(0, &[], "", false, "{}", 0).unwrap();
        let (a, b) =
            (super::super::queue::tests::msg("acked", b"x"), super::super::queue::tests::msg("not", b"y"));
        let to_r = || Disposition::Queue(vec![QueueTarget { registration: r, expires_ms: 50_000 }]);
        s.commit_messages(&[(&a, to_r()), (&b, to_r())], &[], 1000).unwrap();
        let acked = s.queue_head(r, 0).unwrap().unwrap();
        assert_eq!(acked.message.id, "acked");
        assert_eq!(s.end_registration(r, &[acked.seq], 5000).unwrap(), 1);
        assert_eq!(s.totals().unwrap().messages, 1);
        assert_eq!(s.queue_head(UNCLAIMED, 0).unwrap().unwrap().message.id, "not");
        assert_eq!(s.queued_count(UNCLAIMED).unwrap(), 1);
    }
}
