//! The PDU spool (raw SMS PDUs, durable before the modem deletes them) and dead letters.

use super::{to_i64, to_u64, Result, Store, Sync};
use rusqlite::{params, OptionalExtension};

/// One PDU waiting in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledPdu {
    pub id: i64,
    pub pdu: Vec<u8>,
    pub received_ms: u64,
}

/// A PDU or message that could not be delivered, kept with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: i64,
    pub received_ms: u64,
    /// When it became a dead letter.
    pub dead_ms: u64,
    pub reason: String,
    /// The raw PDU, for a PDU that failed to decode or expired unassembled.
    pub pdu: Option<Vec<u8>>,
    /// The message id, for a message refused after decoding (e.g. originator not allowed).
    pub message_id: Option<String>,
    /// A one-line description of such a message (kind, originator, application id).
    pub summary: Option<String>,
}

impl Store {
    /// Stores one PDU durably (`fsync`ed when this returns) and gives its spool id.
    pub fn spool_pdu(&self, pdu: &[u8], received_ms: u64) -> Result<i64> {
        self.write(Sync::Durable, |tx| {
            tx.prepare_cached("INSERT INTO spool (pdu, received_ms) VALUES (?1, ?2)")?
                .execute(params![pdu, to_i64(received_ms)])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Stores several PDUs in one durable transaction (one `fsync` for the batch).
    pub fn spool_pdus(&self, pdus: &[(&[u8], u64)]) -> Result<Vec<i64>> {
        self.write(Sync::Durable, |tx| insert_pdus(tx, pdus))
    }

    /// Every spooled PDU in arrival order, to rebuild reassembly state at start.
    pub fn spooled_pdus(&self) -> Result<Vec<SpooledPdu>> {
        let conn = self.lock();
        let mut q = conn.prepare_cached("SELECT id, pdu, received_ms FROM spool ORDER BY id")?;
        let rows = q.query_map([], |r| {
            Ok(SpooledPdu { id: r.get(0)?, pdu: r.get(1)?, received_ms: to_u64(r.get(2)?) })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The PDUs still spooled under these ids, in the order given.
    pub fn spooled_by_ids(&self, ids: &[i64]) -> Result<Vec<SpooledPdu>> {
        let conn = self.lock();
        let mut q = conn.prepare_cached("SELECT pdu, received_ms FROM spool WHERE id = ?1")?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let row = q.query_row([id], |r| Ok((r.get(0)?, to_u64(r.get(1)?)))).optional()?;
            if let Some((pdu, received_ms)) = row {
                out.push(SpooledPdu { id, pdu, received_ms });
            }
        }
        Ok(out)
    }

    /// Removes spooled PDUs without a message (e.g. a segment of a message already complete).
    pub fn discard_spooled(&self, spool_ids: &[i64]) -> Result<()> {
        self.write(Sync::Normal, |tx| delete_spooled(tx, spool_ids))
    }

    /// Moves spooled PDUs to the dead letters with `reason`. Unknown ids are ignored.
    pub fn dead_letter(&self, spool_ids: &[i64], reason: &str, now_ms: u64) -> Result<()> {
        let cap = self.limits.max_dead_letters;
        let reason = crate::logging::clip(reason);
        // Not fsynced: if lost, the PDUs are still spooled and fail again on replay.
        self.write(Sync::Normal, |tx| {
            let mut sel = tx.prepare_cached("SELECT pdu, received_ms FROM spool WHERE id = ?1")?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO dead_letter (received_ms, dead_ms, reason, pdu) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for id in spool_ids {
                let row =
                    sel.query_row([id], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))).optional()?;
                if let Some((pdu, received)) = row {
                    ins.execute(params![received, to_i64(now_ms), reason, pdu])?;
                    log::warn!("dead letter: PDU {id} ({} octets): {reason}", pdu.len());
                }
            }
            delete_spooled(tx, spool_ids)?;
            trim_dead_letters(tx, cap)
        })
    }

    /// All dead letters, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let conn = self.lock();
        let mut q = conn.prepare_cached(
            "SELECT id, received_ms, dead_ms, reason, pdu, message_id, summary FROM dead_letter ORDER BY id",
        )?;
        let rows = q.query_map([], |r| {
            Ok(DeadLetter {
                id: r.get(0)?,
                received_ms: to_u64(r.get(1)?),
                dead_ms: to_u64(r.get(2)?),
                reason: r.get(3)?,
                pdu: r.get(4)?,
                message_id: r.get(5)?,
                summary: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

pub(super) fn insert_pdus<P: AsRef<[u8]>>(
    tx: &rusqlite::Transaction<'_>,
    pdus: &[(P, u64)],
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(pdus.len());
    let mut ins = tx.prepare_cached("INSERT INTO spool (pdu, received_ms) VALUES (?1, ?2)")?;
    for (pdu, ms) in pdus {
        ins.execute(params![pdu.as_ref(), to_i64(*ms)])?;
        ids.push(tx.last_insert_rowid());
    }
    Ok(ids)
}

pub(super) fn delete_spooled(tx: &rusqlite::Transaction<'_>, spool_ids: &[i64]) -> Result<()> {
    let mut del = tx.prepare_cached("DELETE FROM spool WHERE id = ?1")?;
    for id in spool_ids {
        del.execute([id])?;
    }
    Ok(())
}

/// Keeps at most `cap` dead letters, dropping the oldest with a log line.
pub(super) fn trim_dead_letters(tx: &rusqlite::Transaction<'_>, cap: u64) -> Result<()> {
    let count: i64 = tx.prepare_cached("SELECT count(*) FROM dead_letter")?.query_row([], |r| r.get(0))?;
    let excess = to_u64(count).saturating_sub(cap);
    if excess > 0 {
        tx.prepare_cached(
            "DELETE FROM dead_letter WHERE id IN (SELECT id FROM dead_letter ORDER BY id LIMIT ?1)",
        )?
        .execute([to_i64(excess)])?;
        log::warn!("dead letters over the cap of {cap}: dropped the {excess} oldest");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::super::Limits;

    #[test]
    fn spool_survives_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b);
        {
            let s = super::Store::open(dir.path(), Limits::default()).unwrap();
            a = s.spool_pdu(&[1, 2, 3], 1000).unwrap();
            b = s.spool_pdus(&[(&[4u8][..], 2000), (&[5u8][..], 3000)]).unwrap();
        }
        let s = super::Store::open(dir.path(), Limits::default()).unwrap();
        let all = s.spooled_pdus().unwrap();
        assert_eq!(all.iter().map(|p| p.id).collect::<Vec<_>>(), vec![a, b[0], b[1]]);
        assert_eq!(all[0].pdu, vec![1, 2, 3]);
        assert_eq!(all[2].received_ms, 3000);
        s.discard_spooled(&[b[0]]).unwrap();
        assert_eq!(s.spooled_pdus().unwrap().len(), 2);
        let some: Vec<i64> = s.spooled_by_ids(&[b[1], b[0], a]).unwrap().iter().map(|p| p.id).collect();
        assert_eq!(some, vec![b[1], a], "the discarded one is gone, the order is the caller's");
    }

    #[test]
    fn dead_letters_keep_reason_and_are_capped() {
        let (_d, s) = temp_store(Limits { max_dead_letters: 2, ..Limits::default() });
        let ids: Vec<i64> = (0..3u8).map(|i| s.spool_pdu(&[i], u64::from(i)).unwrap()).collect();
        s.dead_letter(&ids[..1], "bad TP-DCS at offset 3", 10).unwrap();
        s.dead_letter(&ids[1..], "reassembly timed out", 20).unwrap();
        assert!(s.spooled_pdus().unwrap().is_empty());
        let dl = s.dead_letters().unwrap();
        // The cap of 2 dropped the oldest (PDU 0).
        assert_eq!(dl.len(), 2);
        assert_eq!(dl[0].pdu.as_deref(), Some(&[1u8][..]));
        assert_eq!(dl[0].reason, "reassembly timed out");
        assert_eq!((dl[0].received_ms, dl[0].dead_ms), (1, 20));
        assert_eq!(s.totals().unwrap().dead_letters, 2);
    }
}
