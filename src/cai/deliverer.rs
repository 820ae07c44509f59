//! The delivery task of one connected registration: takes the head of its queue, calls
//! `Deliver` on its agent (one call in flight, in queue order), and acts on the verdict.
//! Each registration has its own task, so a slow or dead agent delays nobody else.
//!
//! Pipelined (issue 13 item 5): the next head is read while a `Deliver` is in flight, and an
//! acknowledged entry's removal goes to the writer thread without waiting for its commit, so
//! consecutive acknowledgements commit together. Sending N+1 before N's removal is durable is
//! allowed: a crash then delivers N again (same id, at least once), then N+1, in order
//! (docs/dbus-api.md, Agent).

use super::delivery::{verdict, Backoff, Verdict};
use super::meta::meta;
use super::registry::{AgentRef, Registry};
use super::AGENT_INTERFACE;
use crate::store::{Queued, Removal, Store, StoreError};
use crate::time::now_ms;
use futures_lite::future::poll_once;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A head read while the previous `Deliver` was in flight is used only if that call answered
/// within this time; after a slower answer it is read again (an SI may have replaced it).
const PREFETCH_FRESH: Duration = Duration::from_millis(5);

/// Acknowledged entries removed by one writer job at most. The job's savepoint keeps the
/// original of every page it changes in memory (SQLite's statement journal) until it is
/// released, a few pages per entry: the job's size bounds that memory in a burst.
const REMOVALS_PER_JOB: usize = 16;

/// Positions the agent acknowledged (or rejected) whose removal is not known to have committed,
/// shared with `ListRegistrations`: its `Queued` counts what the agent has not acknowledged.
#[derive(Debug, Default)]
pub(super) struct Acknowledged(Mutex<Vec<i64>>);

impl Acknowledged {
    pub(super) fn positions(&self) -> Vec<i64> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<i64>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Acknowledged entries whose removal has not committed. One batch is on the writer at a time
/// and the acknowledgements that come meanwhile form the next, so removals commit in
/// acknowledgement order and stop at the first that fails: the queue then holds a suffix of
/// what was delivered, as after a crash. After a failure, until a removal commits again, each
/// removal is awaited before the next `Deliver` (one redelivery per failure, paced).
#[derive(Default)]
struct Removals {
    /// Every position of `in_flight` and `waiting`, for `ListRegistrations`.
    acknowledged: Arc<Acknowledged>,
    /// The batch on the writer and its last position.
    in_flight: Option<(i64, Removal)>,
    /// (position, message id) of the acknowledgements since.
    waiting: Vec<(i64, String)>,
    /// Ids of the batch on the writer (for the log when it fails).
    in_flight_ids: Vec<String>,
    careful: bool,
}

impl Removals {
    /// The last position delivered whose removal is not known to have committed: the next head
    /// comes after it.
    fn cursor(&self) -> i64 {
        self.waiting
            .last()
            .map(|(seq, _)| *seq)
            .or(self.in_flight.as_ref().map(|(seq, _)| *seq))
            .unwrap_or(i64::MIN)
    }

    /// The agent answered the entry at `seq`: its removal joins the next batch.
    fn push(&mut self, seq: i64, id: String) {
        self.acknowledged.lock().push(seq);
        self.waiting.push((seq, id));
    }

    fn is_empty(&self) -> bool {
        self.in_flight.is_none() && self.waiting.is_empty()
    }

    /// Collects the batch on the writer if it answered (`wait`, or after a failure: waits for
    /// it) and hands the waiting removals to the writer. Ok(true) when a batch committed. On an
    /// error the waiting removals are dropped too: their entries are still queued and come
    /// again; the error comes with the ids of all of them.
    async fn pump(&mut self, store: &Store, wait: bool) -> Result<bool, (StoreError, Vec<String>)> {
        let mut committed = false;
        loop {
            if let Some((_, removal)) = &mut self.in_flight {
                let answer =
                    if wait || self.careful { Some(removal.await) } else { poll_once(removal).await };
                match answer {
                    None => return Ok(committed),
                    Some(Ok(_)) => {
                        let last = self.in_flight.as_ref().map_or(i64::MIN, |(seq, _)| *seq);
                        self.acknowledged.lock().retain(|seq| *seq > last);
                        committed = true;
                        self.careful = false;
                    }
                    Some(Err(e)) => {
                        self.in_flight = None;
                        self.careful = true;
                        // Not removed: they are the agent's to acknowledge again.
                        self.acknowledged.lock().clear();
                        let mut ids = std::mem::take(&mut self.in_flight_ids);
                        ids.extend(self.waiting.drain(..).map(|(_, id)| id));
                        return Err((e, ids));
                    }
                }
                self.in_flight = None;
            }
            if self.waiting.is_empty() {
                return Ok(committed);
            }
            let slot = store.write_slot().await;
            let take = self.waiting.len().min(REMOVALS_PER_JOB);
            let (seqs, ids): (Vec<i64>, Vec<String>) = self.waiting.drain(..take).unzip();
            self.in_flight = Some((seqs[seqs.len() - 1], store.remove_queued_later(slot, seqs)));
            self.in_flight_ids = ids;
            if !self.careful {
                return Ok(committed);
            }
        }
    }
}

/// Runs until aborted (the registration ended, was taken over, or the service stopped).
/// Whoever aborts it removes the entries left in `acknowledged` (the registry does, with the
/// store write that ends or detaches the registration), so none comes again.
pub(super) async fn run(
    registry: Arc<Registry>,
    conn: zbus::Connection,
    id: i64,
    agent: AgentRef,
    wake: Arc<Notify>,
    acknowledged: Arc<Acknowledged>,
) {
    let store = &registry.store;
    let mut backoff = Backoff::new();
    let timeout = registry.settings.deliver_timeout;
    let mut removals = Removals { acknowledged, ..Removals::default() };
    let mut next: Option<Queued> = None;
    // Held while the queue has messages: the last task to drain lets memory go back.
    let mut busy = None;
    loop {
        match removals.pump(store, false).await {
            Ok(true) => backoff.reset(),
            Ok(false) => {}
            Err((e, ids)) => {
                next = None;
                removal_failed(id, &e, &ids, &mut backoff).await;
                continue;
            }
        }
        let head = match next.take() {
            Some(head) => Ok(Some(head)),
            None => store.queue_head_after(id, removals.cursor(), now_ms()),
        };
        let head = match head {
            Ok(Some(head)) => {
                busy.get_or_insert_with(|| registry.quiet.busy());
                head
            }
            Ok(None) if !removals.is_empty() => {
                // Nothing after the delivered entries: settle their removals before idling, so
                // a failed one is delivered again now, not at the next message.
                match removals.pump(store, true).await {
                    Ok(true) => backoff.reset(),
                    Ok(false) => {}
                    Err((e, ids)) => removal_failed(id, &e, &ids, &mut backoff).await,
                }
                continue;
            }
            Ok(None) => {
                busy = None;
                // `notify_one` stores a permit, so a commit between the query and here is not lost.
                wake.notified().await;
                continue;
            }
            Err(e) => {
                let d = backoff.next_delay();
                log::error!("registration {id}: store: {e}; retrying in {d:?}");
                tokio::time::sleep(d).await;
                continue;
            }
        };
        let m = &head.message;
        let args = (m.id.as_str(), meta(m), m.body.as_slice());
        let call = conn.call_method(
            Some(agent.bus_name.as_str()),
            agent.path.as_str(),
            Some(AGENT_INTERFACE),
            "Deliver",
            &args,
        );
        let mut call = std::pin::pin!(tokio::time::timeout(timeout, call));
        // The first poll sends the call; the next head is read during the round trip.
        let answer = match poll_once(call.as_mut()).await {
            Some(answer) => answer,
            None => {
                let read = Instant::now();
                let prefetched = store.queue_head_after(id, head.seq, now_ms());
                let answer = call.await;
                if read.elapsed() <= PREFETCH_FRESH {
                    next = prefetched.ok().flatten().filter(|n| n.expires_ms > now_ms());
                }
                answer
            }
        };
        match verdict(answer, timeout) {
            Verdict::Ack => {
                log::debug!("registration {id}: message {} delivered", m.id);
                removals.push(head.seq, m.id.clone());
            }
            Verdict::Rejected(why) => {
                log::info!("registration {id}: agent rejected message {} ({why}); not sent again", m.id);
                removals.push(head.seq, m.id.clone());
            }
            Verdict::Retry(why) => {
                next = None;
                let d = backoff.next_delay();
                log::info!("registration {id}: message {} not delivered ({why}); retrying in {d:?}", m.id);
                tokio::time::sleep(d).await;
            }
        }
    }
}

/// A removal did not commit: its entry and those delivered after it (`ids`) are still queued
/// and come again (same ids, in order), after a pause, not in a loop.
async fn removal_failed(id: i64, e: &StoreError, ids: &[String], backoff: &mut Backoff) {
    let d = backoff.next_delay();
    for m in ids {
        log::error!("registration {id}: message {m} delivered, but store: {e}; again in {d:?}");
    }
    tokio::time::sleep(d).await;
}
