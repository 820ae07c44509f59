//! The writer thread: the one place the store commits. Hot-path writes (spool, message
//! commits, removals of delivered rows) are queued here and awaited, so a commit's `fsync`
//! never stalls the runtime; jobs that queue up while a commit is in flight are committed
//! together, each in its own savepoint, with one `fsync` (group commit); consecutive jobs of
//! the same durability form a group, so writes that need no `fsync` never wait for one. The synchronous
//! methods take their turn in the same queue and write on the caller's thread while the
//! writer waits: one writer at a time, in queue order. With `wal_autocheckpoint=0`, the writer
//! checkpoints (PASSIVE) when it is idle or when the WAL passes [`WAL_LIMIT`].

use super::{Db, Result, StoreError, Sync};
use rusqlite::{ffi, Connection, Transaction, TransactionBehavior};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// The writer's stack: SQLite needs little (its deepest paths are well under 100 KiB).
const STACK: usize = 256 << 10;
/// Queued async writes at most; callers wait (asynchronously) for a slot.
pub(super) const QUEUE_SLOTS: usize = 256;
/// Jobs joined into one transaction at most.
const MAX_GROUP: usize = 128;
/// Nothing queued for this long after a commit: checkpoint.
const IDLE: Duration = Duration::from_millis(20);
/// A WAL file larger than this is checkpointed at once (`journal_size_limit` then truncates it).
pub(super) const WAL_LIMIT: u64 = 1 << 20;

/// What a group commit tells each job: `None` when it committed.
type Reply = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;

/// One queued write.
trait Task: Send {
    /// Runs inside the group transaction; the reply is sent once the commit is known.
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> (Reply, Option<rusqlite::Error>);
    /// The group failed before this job ran.
    fn fail(self: Box<Self>, e: &rusqlite::Error);
}

enum Job {
    Write {
        sync: Sync,
        task: Box<dyn Task>,
    },
    /// A synchronous caller writes on its own thread: `go` hands it the turn, `done` ends it
    /// (true when it committed).
    Turn {
        go: Sender<()>,
        done: Receiver<bool>,
    },
}

/// A slot in the writer's queue (see [`QUEUE_SLOTS`]).
pub struct WriteSlot(#[allow(dead_code)] OwnedSemaphorePermit);

/// The answer of a queued write.
pub struct Pending<T>(oneshot::Receiver<Result<T>>);

impl<T> Pending<T> {
    pub async fn wait(self) -> Result<T> {
        self.await
    }
}

impl<T> std::future::Future for Pending<T> {
    type Output = Result<T>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T>> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| r.unwrap_or_else(|_| Err(stopped())))
    }
}

/// Test hook: see [`super::Store::stall_next_commit`].
pub struct CommitStall {
    reached: Option<oneshot::Receiver<()>>,
    resume: Option<Sender<bool>>,
}

impl CommitStall {
    /// Waits until the writer holds a transaction and stalls before its commit.
    pub async fn reached(&mut self) {
        if let Some(r) = self.reached.take() {
            let _ = r.await;
        }
    }

    /// Lets the stalled commit go on (dropping does too).
    pub fn release(mut self) {
        self.resume.take();
    }

    /// Makes the stalled group fail (rolled back, as on an I/O error) instead of committing.
    pub fn fail(mut self) {
        if let Some(r) = self.resume.take() {
            let _ = r.send(true);
        }
    }
}

struct StallHook {
    reached: oneshot::Sender<()>,
    resume: Receiver<bool>,
}

/// The handle the store's clones share; dropping the last one stops and joins the thread.
pub(super) struct Writer {
    jobs: Option<Sender<Job>>,
    slots: Arc<Semaphore>,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    stall: Mutex<Option<StallHook>>,
    commits: AtomicU64,
}

impl Writer {
    pub(super) fn spawn(db: Arc<Db>) -> std::io::Result<Writer> {
        Ok(Self::spawn_opening(move || Ok(db))?.0)
    }

    /// Spawns the thread, which first runs `open` (so the caller can wait on another peer
    /// meanwhile), sends its result to the receiver, then serves jobs on that database.
    pub(super) fn spawn_opening<F>(open: F) -> std::io::Result<(Writer, oneshot::Receiver<Result<Arc<Db>>>)>
    where
        F: FnOnce() -> Result<Arc<Db>> + Send + 'static,
    {
        let (jobs, rx) = mpsc::channel();
        let shared = Arc::new(Shared { stall: Mutex::new(None), commits: AtomicU64::new(0) });
        let s = shared.clone();
        let (opened_tx, opened) = oneshot::channel();
        let thread =
            std::thread::Builder::new().name("store-writer".into()).stack_size(STACK).spawn(move || {
                match open() {
                    Ok(db) => {
                        let wal = super::integrity::companions(&db.path)[1].clone();
                        let _ = opened_tx.send(Ok(db.clone()));
                        run(&db, &wal, &rx, &s);
                    }
                    Err(e) => drop(opened_tx.send(Err(e))),
                }
            })?;
        let writer = Writer {
            jobs: Some(jobs),
            slots: Arc::new(Semaphore::new(QUEUE_SLOTS)),
            shared,
            thread: Some(thread),
        };
        Ok((writer, opened))
    }

    pub(super) async fn slot(&self) -> WriteSlot {
        // The semaphore is never closed.
        WriteSlot(self.slots.clone().acquire_owned().await.expect("writer slots are never closed"))
    }

    /// Queues `f` (which must own its data) for the next group transaction.
    pub(super) fn queue<T, F>(&self, slot: WriteSlot, sync: Sync, f: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let task = Box::new(Queued { f, reply, _slot: slot });
        if let Some(jobs) = &self.jobs {
            // A send fails only once the thread is gone; the reply is then dropped.
            let _ = jobs.send(Job::Write { sync, task });
        }
        Pending(rx)
    }

    /// Waits for this caller's turn; writing is allowed until the returned guard drops.
    pub(super) fn turn(&self) -> Option<Sender<bool>> {
        let (go, go_rx) = mpsc::channel();
        let (done, done_rx) = mpsc::channel();
        self.jobs.as_ref()?.send(Job::Turn { go, done: done_rx }).ok()?;
        go_rx.recv().ok()?;
        Some(done)
    }

    pub(super) fn stall_next_commit(&self) -> CommitStall {
        let (reached_tx, reached) = oneshot::channel();
        let (resume, resume_rx) = mpsc::channel();
        *lock(&self.shared.stall) = Some(StallHook { reached: reached_tx, resume: resume_rx });
        CommitStall { reached: Some(reached), resume: Some(resume) }
    }

    pub(super) fn commits(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Queued<T, F> {
    f: F,
    reply: oneshot::Sender<Result<T>>,
    _slot: WriteSlot,
}

impl<T, F> Task for Queued<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
{
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> (Reply, Option<rusqlite::Error>) {
        let Queued { f, reply, _slot } = *self;
        let out = tx.execute_batch("SAVEPOINT job").map_err(StoreError::from).and_then(|()| f(tx));
        match out {
            Ok(v) => match tx.execute_batch("RELEASE job") {
                Ok(()) => {
                    (Box::new(move |e| drop(reply.send(e.map_or(Ok(v), |e| Err(copy(e).into()))))), None)
                }
                Err(e) => {
                    let abort = copy(&e);
                    (Box::new(move |_| drop(reply.send(Err(e.into())))), Some(abort))
                }
            },
            Err(e) => {
                // Undo this job only; the group goes on unless SQLite rolled it all back.
                let undone = tx.execute_batch("ROLLBACK TO job; RELEASE job");
                let abort = match (&e, undone) {
                    (_, Err(u)) => Some(u),
                    (StoreError::Sqlite(s), Ok(())) if tx.is_autocommit() => Some(copy(s)),
                    (_, Ok(())) if tx.is_autocommit() => Some(failure(ffi::SQLITE_ABORT, "rolled back")),
                    _ => None,
                };
                (Box::new(move |_| drop(reply.send(Err(e)))), abort)
            }
        }
    }

    fn fail(self: Box<Self>, e: &rusqlite::Error) {
        let _ = self.reply.send(Err(copy(e).into()));
    }
}

fn run(db: &Db, wal: &std::path::Path, rx: &Receiver<Job>, shared: &Shared) {
    let mut dirty = false;
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(j) => j,
            None if dirty => match rx.recv_timeout(IDLE) {
                Ok(j) => j,
                Err(RecvTimeoutError::Timeout) => {
                    checkpoint(&lock(&db.conn));
                    dirty = false;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
        };
        let committed;
        match job {
            Job::Turn { go, done } => {
                // Ends when the caller reports, or drops its end (even by a panic).
                committed = go.send(()).is_ok() && done.recv().unwrap_or(false);
            }
            Job::Write { sync, task } => {
                // A group is all durable or all not: a removal queued behind spooled PDUs
                // commits without waiting for their `fsync` (queue order is kept).
                let mut group = vec![(sync, task)];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(Job::Write { sync: s, task }) if s == sync => group.push((s, task)),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let mut conn = lock(&db.conn);
                committed = commit_group(&mut conn, group, shared);
                shared.commits.fetch_add(1, Ordering::Relaxed);
                drop(conn);
            }
        }
        // Only after a commit that worked, as SQLite's auto-checkpoint did: on a full disk a
        // checkpoint would let a few commits through whose acknowledgements then fail (and
        // their messages come again).
        if !committed {
            dirty = false;
            continue;
        }
        dirty = true;
        if std::fs::metadata(wal).is_ok_and(|m| m.len() > WAL_LIMIT) {
            checkpoint(&lock(&db.conn));
        }
    }
}

/// One transaction for the group (its jobs share one durability).
fn commit_group(conn: &mut Connection, group: Vec<(Sync, Box<dyn Task>)>, shared: &Shared) -> bool {
    let durable = group.iter().any(|(s, _)| *s == Sync::Durable);
    let level = if durable { "FULL" } else { "NORMAL" };
    let tx = match conn
        .pragma_update(None, "synchronous", level)
        .and_then(|()| conn.transaction_with_behavior(TransactionBehavior::Immediate))
    {
        Ok(tx) => tx,
        Err(e) => {
            for (_, task) in group {
                task.fail(&e);
            }
            return false;
        }
    };
    let mut replies = Vec::with_capacity(group.len());
    let mut tasks = group.into_iter();
    let mut abort = None;
    for (_, task) in tasks.by_ref() {
        let (reply, failed) = task.run(&tx);
        replies.push(reply);
        if failed.is_some() {
            abort = failed;
            break;
        }
    }
    let hook = lock(&shared.stall).take();
    if let Some(h) = hook {
        let _ = h.reached.send(());
        if h.resume.recv().unwrap_or(false) {
            abort = abort.or(Some(failure(ffi::SQLITE_IOERR, "injected failure")));
        }
    }
    let result = match abort {
        Some(e) => {
            drop(tx);
            Err(e)
        }
        None => tx.commit(),
    };
    let err = result.err();
    let rolled_back = failure(ffi::SQLITE_ABORT, "rolled back");
    for (_, task) in tasks {
        task.fail(err.as_ref().unwrap_or(&rolled_back));
    }
    for reply in replies {
        reply(err.as_ref());
    }
    err.is_none()
}

fn checkpoint(conn: &Connection) {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        Ok(()) => {}
        // A full disk is reported by the commits that fail (src/store/health.rs).
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) => {
            log::debug!("store: WAL checkpoint: {e}")
        }
        Err(e) => log::warn!("store: WAL checkpoint: {e}"),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn failure(code: std::ffi::c_int, what: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(what.into()))
}

/// The same failure for every job of a group (SQLite errors are not `Clone`).
fn copy(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, msg) => rusqlite::Error::SqliteFailure(*code, msg.clone()),
        other => failure(ffi::SQLITE_ERROR, &other.to_string()),
    }
}

pub(super) fn stopped() -> StoreError {
    StoreError::Sqlite(failure(ffi::SQLITE_MISUSE, "the store writer has stopped"))
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::super::{test_message, Disposition, Limits, QueueTarget, UNCLAIMED};
    use futures_lite::future::poll_once;

    fn queued_seqs(s: &super::super::Store) -> Vec<i64> {
        let conn = s.lock();
        let mut q = conn.prepare("SELECT seq FROM queue ORDER BY seq").unwrap();
        q.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    }

    /// Ten removals (acks) that queue while a commit is in flight share the next transaction.
    #[tokio::test]
    async fn removals_queued_during_a_commit_share_one_transaction() {
        let (_dir, s) = temp_store(Limits::default());
        let target = QueueTarget { registration: UNCLAIMED, expires_ms: u64::MAX / 2 };
        let msgs: Vec<_> = (0..11).map(|i| test_message(&format!("m{i}"), b"x")).collect();
        let batch: Vec<_> = msgs.iter().map(|m| (m, Disposition::Queue(vec![target]))).collect();
        s.commit_messages(&batch, &[], 1).unwrap();
        let seqs = queued_seqs(&s);
        assert_eq!(seqs.len(), 11);
        let start = s.group_commits();

        let mut stall = s.stall_next_commit();
        let first = tokio::spawn({
            let (s, seq) = (s.clone(), seqs[0]);
            async move { s.remove_queued_async(seq).await }
        });
        stall.reached().await;
        let mut acks: Vec<_> = seqs[1..].iter().map(|&seq| Box::pin(s.remove_queued_async(seq))).collect();
        for ack in &mut acks {
            // The first poll queues the removal; the answer waits for the stalled commit.
            assert!(poll_once(ack.as_mut()).await.is_none(), "answered before the commit");
        }
        stall.release();
        assert!(first.await.unwrap().unwrap());
        for ack in acks {
            assert!(ack.await.unwrap(), "removed");
        }
        assert!(queued_seqs(&s).is_empty());
        assert_eq!(s.group_commits() - start, 2, "the stalled commit and one for the ten acks");
    }

    /// Jobs join a group only with jobs of the same durability, in queue order: the removals
    /// queued between spooled PDUs commit on their own, without an `fsync`.
    #[tokio::test]
    async fn groups_do_not_mix_durable_and_normal_jobs() {
        let (_dir, s) = temp_store(Limits::default());
        let target = QueueTarget { registration: UNCLAIMED, expires_ms: u64::MAX / 2 };
        let msgs: Vec<_> = (0..2).map(|i| test_message(&format!("m{i}"), b"x")).collect();
        let batch: Vec<_> = msgs.iter().map(|m| (m, Disposition::Queue(vec![target]))).collect();
        s.commit_messages(&batch, &[], 1).unwrap();
        let seqs = queued_seqs(&s);
        let start = s.group_commits();
        let mut stall = s.stall_next_commit();
        let first = tokio::spawn({
            let s = s.clone();
            async move { s.spool_pdus_async(vec![(vec![0], 0)]).await }
        });
        stall.reached().await;
        let mut spool1 = Box::pin(s.spool_pdus_async(vec![(vec![1], 1)]));
        let mut ack1 = Box::pin(s.remove_queued_async(seqs[0]));
        let mut ack2 = Box::pin(s.remove_queued_async(seqs[1]));
        let mut spool2 = Box::pin(s.spool_pdus_async(vec![(vec![2], 2)]));
        assert!(poll_once(spool1.as_mut()).await.is_none());
        assert!(poll_once(ack1.as_mut()).await.is_none());
        assert!(poll_once(ack2.as_mut()).await.is_none());
        assert!(poll_once(spool2.as_mut()).await.is_none());
        stall.release();
        first.await.unwrap().unwrap();
        spool1.await.unwrap();
        assert!(ack1.await.unwrap() && ack2.await.unwrap());
        spool2.await.unwrap();
        // A synchronous write's turn comes after the last group was counted.
        s.discard_spooled(&[]).unwrap();
        assert_eq!(s.group_commits() - start, 4, "stalled, [spool], [ack, ack], [spool]");
        let pdus: Vec<Vec<u8>> = s.spooled_pdus().unwrap().into_iter().map(|p| p.pdu).collect();
        assert_eq!(pdus, vec![vec![0], vec![1], vec![2]], "queue order kept");
    }

    /// A job that fails is rolled back alone; the others in its group commit.
    #[tokio::test]
    async fn a_failing_job_leaves_its_group_committed() {
        let (_dir, s) = temp_store(Limits::default());
        let mut stall = s.stall_next_commit();
        let first = tokio::spawn({
            let s = s.clone();
            async move { s.spool_pdus_async(vec![(vec![1], 1)]).await }
        });
        stall.reached().await;
        let mut bad = Box::pin(s.write_async(super::Sync::Normal, |tx| {
            tx.execute_batch(
                "INSERT INTO spool (pdu, received_ms) VALUES (x'02', 2); INSERT INTO nowhere VALUES (1)",
            )?;
            Ok(())
        }));
        let mut good = Box::pin(s.spool_pdus_async(vec![(vec![3], 3)]));
        assert!(poll_once(bad.as_mut()).await.is_none());
        assert!(poll_once(good.as_mut()).await.is_none());
        stall.release();
        first.await.unwrap().unwrap();
        assert!(bad.await.is_err());
        good.await.unwrap();
        let pdus: Vec<Vec<u8>> = s.spooled_pdus().unwrap().into_iter().map(|p| p.pdu).collect();
        assert_eq!(pdus, vec![vec![1], vec![3]], "the failed job's insert was undone");
    }

    /// With `wal_autocheckpoint=0` the writer checkpoints once it is idle: the WAL's frames
    /// go into the database file without any further write.
    #[tokio::test]
    async fn an_idle_writer_checkpoints_the_wal() {
        let (dir, s) = temp_store(Limits::default());
        let db = dir.path().join(super::super::DB_FILE);
        let before = std::fs::metadata(&db).unwrap().len();
        let pdus: Vec<(Vec<u8>, u64)> = (0..200).map(|i| (vec![i as u8; 150], 0)).collect();
        s.spool_pdus_async(pdus).await.unwrap();
        let grown = crate::time::now_ms() + 5_000;
        while std::fs::metadata(&db).unwrap().len() == before {
            assert!(crate::time::now_ms() < grown, "no checkpoint within 5 s of idling");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}
