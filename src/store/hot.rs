//! The hot-path writes, queued to the writer thread (src/store/writer.rs) and awaited: the
//! runtime goes on serving while they commit, and those queued together share one commit.

use super::queue::{commit_batch, delete_all_queued, Disposition, Outcome};
use super::spool::insert_pdus;
use super::{Pending, Result, Store, Sync, WriteSlot};
use crate::message::Message;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

impl Store {
    /// [`Store::spool_pdus`] on the writer thread: `fsync`ed when this returns Ok.
    pub async fn spool_pdus_async(&self, pdus: Vec<(Vec<u8>, u64)>) -> Result<Vec<i64>> {
        self.write_async(Sync::Durable, move |tx| insert_pdus(tx, &pdus)).await
    }

    /// [`Store::commit_messages`] on the writer thread. Queued at once, in the order of the
    /// calls (a write made after this returns comes after it); await the answer.
    pub fn commit_messages_async(
        &self,
        slot: WriteSlot,
        batch: Vec<(Message, Disposition)>,
        consumed_spool_ids: Vec<i64>,
        now_ms: u64,
    ) -> Pending<Vec<(String, Outcome)>> {
        let limits = self.limits.clone();
        self.writer.queue(slot, Sync::Normal, move |tx| {
            commit_batch(tx, &limits, &batch, &consumed_spool_ids, now_ms)
        })
    }

    /// [`Store::remove_queued`] on the writer thread.
    pub async fn remove_queued_async(&self, seq: i64) -> Result<bool> {
        let slot = self.writer.slot().await;
        Ok(self.remove_queued_later(slot, vec![seq]).await? > 0)
    }

    /// Removes delivered (or rejected) queue entries in one job on the writer thread, queued
    /// at once (after the writes queued before it); it commits with the jobs queued beside it.
    /// The answer (how many entries were there) comes once it committed.
    pub fn remove_queued_later(&self, slot: WriteSlot, seqs: Vec<i64>) -> Removal {
        let pending = self.writer.queue(slot, Sync::Normal, move |tx| delete_all_queued(tx, &seqs));
        Removal { pending, room: self.room.clone() }
    }
}

/// The answer of [`Store::remove_queued_later`].
pub struct Removal {
    pending: Pending<usize>,
    room: Arc<tokio::sync::Notify>,
}

impl Future for Removal {
    type Output = Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        let out = Pin::new(&mut self.pending).poll(cx);
        if let Poll::Ready(Ok(n)) = out {
            if n > 0 {
                self.room.notify_one();
            }
        }
        out
    }
}
