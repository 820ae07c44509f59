//! Durable state in SQLite (WAL): spooled PDUs, dead letters, routed messages and their
//! per-registration queues, persistent registrations, the dedup history and event-stream state.
//!
//! Reads are synchronous and short (a fraction of a millisecond) under the connection's mutex.
//! Every commit goes through one writer thread (src/store/writer.rs): the hot paths (spool,
//! message commits, removal of delivered rows) queue their writes and `.await` the answer, so
//! a commit's `fsync` (milliseconds on flash) and the WAL checkpoints never block the runtime,
//! and writes queued during a commit share the next one (group commit). The synchronous write
//! methods take their turn in the same queue, blocking their caller briefly.
//!
//! Durability: only the PDU spool (and registrations) commit with `synchronous=FULL`: the
//! modem deletes a PDU once [`Store::spool_pdu`] returns, so that is the one promise that needs
//! an `fsync` per call (batch with [`Store::spool_pdus`] to share one). Everything else commits
//! with `synchronous=NORMAL`: in WAL mode a power cut can only roll back the newest commits, in
//! order, and never corrupt. A lost message commit leaves its spool rows in place (they are
//! replayed and give the same ids); a lost event commit also loses the Last-Event-ID it moved
//! (the server replays those events); a lost acknowledgement redelivers (at least once, same id).

mod health;
mod history;
mod hot;
mod integrity;
mod lock;
mod queue;
mod registration;
mod schema;
mod spool;
mod stream;
mod writer;

pub use health::{Health, StoreState};
pub use history::{HistoryEvent, Resume};
pub use hot::Removal;
pub use lock::LOCK_FILE;
pub use queue::{Disposition, Outcome, QueueTarget, Queued, UNCLAIMED};
pub use registration::StoredRegistration;
pub use spool::{DeadLetter, SpooledPdu};
pub use writer::{CommitStall, Pending, WriteSlot};

/// A fully populated sample message, for tests across the crate.
#[cfg(test)]
pub(crate) use queue::tests::msg as test_message;

use rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE as NO_CKPT_ON_CLOSE;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use thiserror::Error;

/// The database file inside `[store] dir`.
pub const DB_FILE: &str = "otapush.sqlite3";
/// The page size of a new store. Rows are small (a message, a queue entry, a spooled PDU), and
/// a commit or a savepoint keeps a copy of each page it changes: with 1 KiB pages instead of
/// SQLite's 4 KiB, a burst of 1,000 pushes peaks ~160-200 KiB lower, at the same throughput
/// (BENCHMARKS.md, issue 13 item 4).
pub const PAGE_SIZE: i64 = 1024;

/// Why a store operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot create state directory {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("store database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("store schema version {found} is newer than this otapush understands ({supported})")]
    TooNew { found: i64, supported: i64 },
    #[error("cannot start the store writer thread: {0}")]
    Writer(std::io::Error),
    #[error(
        "the store in {path} is in use by another process (another otapushd on this state \
         directory?): not starting"
    )]
    InUse { path: PathBuf },
    #[error("stored row {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("cannot move the damaged database {path} aside: {source}")]
    MoveAside { path: PathBuf, source: std::io::Error },
    #[error("the fresh store {path} (the damaged one was moved to {aside}) fails too: {source}")]
    FreshFails { path: PathBuf, aside: PathBuf, source: Box<StoreError> },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Bounds on what the store keeps (config `[store]` and `[cai]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Cap on distinct messages held in all queues together (`[store] max_queued_messages`).
    pub max_queued_messages: u64,
    /// Cap on body bytes held in all queues together (`[store] max_queued_bytes`).
    pub max_queued_bytes: u64,
    /// Milliseconds a message id is remembered for dedup (`[cai] dedup_window`).
    pub dedup_window_ms: u64,
    /// Cap on remembered message ids (oldest forgotten first).
    pub max_seen_ids: u64,
    /// Cap on dead letters (oldest dropped first).
    pub max_dead_letters: u64,
    /// Events kept per application id for EventSource resume (`[eventsource] history`, when
    /// the endpoint is configured); 0 keeps none.
    pub history_window: u64,
}

impl Default for Limits {
    /// The defaults of docs/config.md (`[store]`, `[cai] dedup_window`).
    fn default() -> Self {
        Limits {
            max_queued_messages: 10_000,
            max_queued_bytes: 64 << 20,
            dedup_window_ms: 7 * 86_400 * 1000,
            max_seen_ids: 100_000,
            max_dead_letters: 1_000,
            history_window: 0,
        }
    }
}

/// Counters over the whole store (for `otapushctl status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Distinct messages queued (for any registration or unclaimed).
    pub messages: u64,
    /// Their body bytes.
    pub bytes: u64,
    /// Message ids remembered for dedup.
    pub seen_ids: u64,
    /// PDUs in the spool (received, not yet part of a committed message).
    pub spooled: u64,
    pub dead_letters: u64,
}

/// A handle on the store; clones share one SQLite connection behind a mutex (and a second,
/// read-only one for the delivery path's queue reads).
#[derive(Clone)]
pub struct Store {
    conn: Arc<Db>,
    writer: Arc<writer::Writer>,
    limits: Arc<Limits>,
    /// Notified when queue entries leave (delivered, rejected, expired): stream events waiting
    /// for room try again (see [`Store::room_for_stream_event`]).
    room: Arc<tokio::sync::Notify>,
}

/// The connection, and the marker file that says a run has it open (see
/// [`integrity::warn_about_files`]): removed only after the connection closed cleanly.
struct Db {
    conn: Mutex<Connection>,
    /// Reads that must not wait for the writer thread's commit (its `fsync`): WAL readers see
    /// the last commit while a write transaction is open. Opened on first use, closed at quiet
    /// times (its schema and cache cost ~0.4 MiB) and before `conn`.
    read: Mutex<Option<Connection>>,
    path: PathBuf,
    marker: Option<PathBuf>,
    /// Released after `conn` closed (fields drop after `Drop::drop`).
    _lock: Option<lock::StoreLock>,
}

impl Drop for Db {
    fn drop(&mut self) {
        let reader = self.read.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        drop(reader);
        let Some(marker) = self.marker.take() else { return };
        let conn = self.conn.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Ok(placeholder) = Connection::open_in_memory() else { return };
        // Everything into the database and the WAL emptied; then closed without the close's own
        // checkpoint, which would delete the -wal and -shm files the next start creates again.
        // If the checkpoint cannot finish, the close's checkpoint runs as usual.
        // Without waiting: with a reader or writer elsewhere (an operator's `sqlite3`), the
        // checkpoint reports busy at once and the close does what it can.
        let _ = conn.busy_timeout(Duration::ZERO);
        let emptied = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
        if emptied == Ok(0) {
            let _ = conn.set_db_config(NO_CKPT_ON_CLOSE, true);
        }
        if std::mem::replace(conn, placeholder).close().is_ok() {
            let _ = std::fs::remove_file(marker);
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("limits", &self.limits).finish_non_exhaustive()
    }
}

/// How hard a transaction's commit must reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sync {
    /// `fsync` the WAL at commit: the data survives a power cut once the call returns.
    Durable,
    /// No `fsync`: survives a crash of the process, maybe not a power cut.
    Normal,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, checks it and migrates its schema. A
    /// damaged database is moved aside (`NAME.corrupt-UNIXTIME`, kept for recovery) and a fresh
    /// one created; when that fails too, so does this (see docs/store.md).
    pub fn open(dir: &Path, limits: Limits) -> Result<Store> {
        let db = Self::open_db(dir)?;
        let writer = writer::Writer::spawn(db.clone()).map_err(StoreError::Writer)?;
        Ok(Self::assemble(db, writer, limits))
    }

    /// [`Store::open`] on the writer thread, started now: the caller awaits the store after
    /// doing other work meanwhile (the daemon's bus handshake, which waits on another process).
    pub fn open_in_background(
        dir: &Path,
        limits: Limits,
    ) -> impl std::future::Future<Output = Result<Store>> + Send + 'static {
        let dir = dir.to_owned();
        let spawned = writer::Writer::spawn_opening(move || Self::open_db(&dir));
        async move {
            let (writer, opened) = spawned.map_err(StoreError::Writer)?;
            let gone = || StoreError::Writer(std::io::Error::other("the store thread ended while opening"));
            let db = opened.await.map_err(|_| gone())??;
            Ok(Self::assemble(db, writer, limits))
        }
    }

    fn assemble(db: Arc<Db>, writer: writer::Writer, limits: Limits) -> Store {
        Store {
            conn: db,
            writer: Arc::new(writer),
            limits: Arc::new(limits),
            room: Arc::new(tokio::sync::Notify::new()),
        }
    }

    fn open_db(dir: &Path) -> Result<Arc<Db>> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir { path: dir.into(), source: e })?;
        let lock = match lock::try_lock(dir) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => return Err(StoreError::InUse { path: dir.into() }),
            Err(e) => {
                log::warn!("store: cannot lock {}: {e}; opening without the lock", dir.display());
                None
            }
        };
        let locked = |mut db: Db| {
            db._lock = lock;
            Arc::new(db)
        };
        let path = dir.join(DB_FILE);
        integrity::warn_about_files(&path);
        let reason = match Self::open_checked(&path) {
            Ok(db) => return Ok(locked(db)),
            Err(Opened::Damaged(reason)) => reason,
            Err(Opened::Failed(e)) => return Err(e),
        };
        let aside = integrity::move_aside(&path, crate::time::now_ms() / 1000)
            .map_err(|e| StoreError::MoveAside { path: path.clone(), source: e })?;
        log::error!(
            "store: the database {} is damaged ({reason}); moved aside to {} with its -wal and \
             -shm (kept for recovery, not deleted); starting on a fresh store: messages it \
             still queued are not delivered",
            path.display(),
            aside.display()
        );
        let fresh = |source: StoreError| StoreError::FreshFails {
            path: path.clone(),
            aside: aside.clone(),
            source: Box::new(source),
        };
        match Self::open_checked(&path) {
            Ok(db) => Ok(locked(db)),
            Err(Opened::Damaged(reason)) => {
                Err(fresh(StoreError::Corrupt { what: "database".into(), reason }))
            }
            Err(Opened::Failed(e)) => Err(fresh(e)),
        }
    }

    fn open_checked(path: &Path) -> Result<Db, Opened> {
        let existed = path.exists();
        let conn = Connection::open(path)?;
        if existed {
            Self::check(&conn, path)?;
        }
        let conn = Self::prepare(conn)?;
        // Only now may a close checkpoint: damage that the migration found first is moved aside
        // untouched too.
        conn.set_db_config(NO_CKPT_ON_CLOSE, false)?;
        let marker = integrity::in_use_marker(path);
        if let Err(e) = std::fs::write(&marker, std::process::id().to_string()) {
            log::warn!("store: cannot write {}: {e}", marker.display());
        }
        Ok(Db {
            conn: Mutex::new(conn),
            read: Mutex::new(None),
            path: path.into(),
            marker: Some(marker),
            _lock: None,
        })
    }

    /// `PRAGMA quick_check` before anything is written, on the connection the store then keeps
    /// (one open, one schema parse). Checkpoint-on-close is off until the store is ready
    /// ([`Store::open_checked`]): a damaged store is closed without a checkpoint, its WAL
    /// neither applied nor deleted, and moved aside exactly as it was found.
    fn check(conn: &Connection, path: &Path) -> Result<(), Opened> {
        conn.set_db_config(NO_CKPT_ON_CLOSE, true)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let wal = integrity::companions(path)[1].clone();
        let bytes =
            [path, wal.as_path()].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
        match integrity::quick_check(conn, integrity::check_budget(bytes))? {
            integrity::Check::Sound => {}
            integrity::Check::Damaged(found) => return Err(Opened::Damaged(found)),
            integrity::Check::Unfinished => log::warn!(
                "store: the integrity check did not finish within {:?}; opening unchecked",
                integrity::CHECK_BUDGET
            ),
        }
        Ok(())
    }

    fn prepare(mut conn: Connection) -> Result<Connection, Opened> {
        conn.busy_timeout(Duration::from_secs(5))?;
        // Only a new database takes it; an existing one keeps the size it was created with.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        // WAL: readers never block the writer, one fsync per durable commit.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // 128 KiB page cache: the working set is a queue head and a few index pages.
        conn.pragma_update(None, "cache_size", -128)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Truncate the WAL file back to 1 MiB after checkpoints (flash wear, disk use).
        conn.pragma_update(None, "journal_size_limit", 1 << 20)?;
        // No checkpoint inside a commit: the writer thread checkpoints when idle, or once the
        // WAL passes 1 MiB (the WAL only shrinks through a checkpoint: on a partition with less
        // free space than it would grow to, the disk filled up and stayed full).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.set_prepared_statement_cache_capacity(24);
        schema::migrate(&mut conn)?;
        Ok(conn)
    }

    /// The read-only connection of [`Db::read`].
    fn reader(path: &Path) -> rusqlite::Result<Connection> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // A queue head's pages; the writer's connection keeps the rest warm.
        conn.pragma_update(None, "cache_size", -64)?;
        conn.set_prepared_statement_cache_capacity(4);
        Ok(conn)
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Frees the connection's page cache and prepared statements (`PRAGMA shrink_memory`) and
    /// closes the read-only one; all come back on use. For quiet times (src/memory.rs).
    pub fn shrink_memory(&self) -> Result<()> {
        let conn = self.lock();
        conn.flush_prepared_statement_cache();
        conn.execute_batch("PRAGMA shrink_memory")?;
        drop(conn);
        let reader = self.conn.read.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        drop(reader);
        Ok(())
    }

    /// Locks the connection. A panic while it was held (tests only: release builds abort)
    /// leaves SQLite consistent, because an open transaction rolls back when dropped.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the read-only connection ([`Db::read`]), opening it if needed; None if it cannot
    /// be opened (the caller then reads on the main connection).
    fn lock_read(&self) -> MutexGuard<'_, Option<Connection>> {
        let mut read = self.conn.read.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if read.is_none() {
            match Self::reader(&self.conn.path) {
                Ok(conn) => *read = Some(conn),
                Err(e) => log::debug!("store: read-only connection: {e}"),
            }
        }
        read
    }

    /// Runs `f` on the read-only connection (the main one if it cannot be opened).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let guard = self.lock_read();
        match guard.as_ref() {
            Some(read) => f(read),
            None => f(&self.lock()),
        }
    }

    /// Runs `f` in one immediate transaction committed with the given durability, on the
    /// caller's thread in the writer's turn (after the writes queued before it).
    fn write<T>(&self, sync: Sync, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        // None only when the writer thread is gone: then nobody else writes either.
        let turn = self.writer.turn();
        let out = self.write_here(sync, f);
        if let Some(done) = turn {
            let _ = done.send(out.is_ok());
        }
        out
    }

    fn write_here<T>(
        &self,
        sync: Sync,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.lock();
        let level = match sync {
            Sync::Durable => "FULL",
            Sync::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", level)?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// A slot in the writer's bounded queue, for [`Store::commit_messages_async`].
    pub async fn write_slot(&self) -> WriteSlot {
        self.writer.slot().await
    }

    /// Queues `f` for the writer thread's next (group) transaction and awaits its commit.
    async fn write_async<T: Send + 'static>(
        &self,
        sync: Sync,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let slot = self.writer.slot().await;
        self.writer.queue(slot, sync, f).wait().await
    }

    /// Test hook: the writer's next group commit stalls inside its transaction (holding the
    /// connection, as a slow `fsync` would) until the returned guard is released or dropped.
    #[doc(hidden)]
    pub fn stall_next_commit(&self) -> CommitStall {
        self.writer.stall_next_commit()
    }

    /// Test hook: transactions the writer thread has committed (or tried to), group commits
    /// counting once.
    #[doc(hidden)]
    pub fn group_commits(&self) -> u64 {
        self.writer.commits()
    }

    /// Store-wide counters.
    pub fn totals(&self) -> Result<Totals> {
        let conn = self.lock();
        let (messages, bytes, seen_ids) = conn
            .prepare_cached("SELECT messages, bytes, seen FROM totals WHERE k = 0")?
            .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?;
        let spooled: i64 = conn.prepare_cached("SELECT count(*) FROM spool")?.query_row([], |r| r.get(0))?;
        let dead: i64 =
            conn.prepare_cached("SELECT count(*) FROM dead_letter")?.query_row([], |r| r.get(0))?;
        Ok(Totals {
            messages: to_u64(messages),
            bytes: to_u64(bytes),
            seen_ids: to_u64(seen_ids),
            spooled: to_u64(spooled),
            dead_letters: to_u64(dead),
        })
    }
}

/// Why opening failed: a damaged file (moved aside) or anything else (reported).
enum Opened {
    Damaged(String),
    Failed(StoreError),
}

impl From<StoreError> for Opened {
    fn from(e: StoreError) -> Opened {
        match e {
            StoreError::Sqlite(e) if integrity::is_damage(&e) => Opened::Damaged(e.to_string()),
            other => Opened::Failed(other),
        }
    }
}

impl From<rusqlite::Error> for Opened {
    fn from(e: rusqlite::Error) -> Opened {
        Opened::from(StoreError::Sqlite(e))
    }
}

/// SQLite integers are i64; times and counts stored here are never negative.
fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Times and counts go into SQLite as i64 (saturating far beyond any real value).
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn temp_store(limits: Limits) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), limits).unwrap();
        (dir, store)
    }

    #[test]
    fn opens_twice_and_keeps_schema() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path(), Limits::default()).unwrap();
            assert_eq!(s.totals().unwrap(), Totals::default());
        }
        let s = Store::open(dir.path(), Limits::default()).unwrap();
        let v: i64 = s.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, schema::VERSION);
        let mode: String = s.lock().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn the_wal_stays_near_one_mebibyte() {
        let (dir, s) = temp_store(Limits::default());
        let wal = dir.path().join(format!("{DB_FILE}-wal"));
        let page: u64 = s.lock().query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        assert_eq!(page, PAGE_SIZE as u64, "a new store's page size");
        let frame = page + 24;
        let mut largest = 0;
        // Commits of at least one frame each, twice as many as the limit holds.
        for i in 0..2 * writer::WAL_LIMIT / frame {
            s.set_last_event_id("ticker", &i.to_string()).unwrap();
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        // The limit, the 32-octet file header and the frames of the commit that passed it.
        let bound = writer::WAL_LIMIT + 32 + 3 * frame;
        assert!(
            largest > writer::WAL_LIMIT / 2 && largest <= bound,
            "the WAL grew to {largest} octets (bound {bound})"
        );
    }

    /// A store of `rows` spooled PDUs of 150 octets, closed (checkpointed into the file).
    fn filled_store(dir: &Path, rows: u32) -> u64 {
        let s = Store::open(dir, Limits::default()).unwrap();
        let pdus: Vec<[u8; 150]> = (0..rows).map(|i| [i as u8; 150]).collect();
        s.spool_pdus(&pdus.iter().map(|p| (&p[..], 0)).collect::<Vec<_>>()).unwrap();
        drop(s);
        // A clean close checkpoints everything into the database and keeps the emptied log.
        let wal = std::fs::metadata(dir.join(format!("{DB_FILE}-wal"))).unwrap();
        assert_eq!(wal.len(), 0, "closed cleanly: the WAL is empty");
        std::fs::metadata(dir.join(DB_FILE)).unwrap().len()
    }

    fn corrupt_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".corrupt-"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn garbage_in_the_middle_pages_is_moved_aside_and_a_fresh_store_opens() {
        let dir = tempfile::tempdir().unwrap();
        let len = filled_store(dir.path(), 600);
        let pages = len / 4096;
        assert!(pages >= 20, "{pages} pages");
        let mut bytes = std::fs::read(dir.path().join(DB_FILE)).unwrap();
        let (from, to) = (4096 * (pages as usize / 3), 4096 * (2 * pages as usize / 3));
        for (k, b) in bytes[from..to].iter_mut().enumerate() {
            *b = (k as u8).wrapping_mul(151).wrapping_add(7);
        }
        std::fs::write(dir.path().join(DB_FILE), &bytes).unwrap();

        let s = Store::open(dir.path(), Limits::default()).unwrap();
        assert_eq!(s.totals().unwrap(), Totals::default(), "a fresh store");
        s.spool_pdu(&[1], 1).unwrap();
        // The database with its -shm and -wal (opened by the check, empty).
        let aside = corrupt_files(dir.path());
        assert_eq!(aside.len(), 3, "{aside:?}");
        assert!(aside[1].ends_with("-shm") && aside[2].ends_with("-wal"), "{aside:?}");
        assert_eq!(std::fs::read(dir.path().join(&aside[0])).unwrap(), bytes, "kept as it was");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_moved_aside_with_its_wal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DB_FILE), "not SQLite at all, ".repeat(400)).unwrap();
        std::fs::write(dir.path().join(format!("{DB_FILE}-wal")), b"some log").unwrap();
        let s = Store::open(dir.path(), Limits::default()).unwrap();
        s.spool_pdu(&[1], 1).unwrap();
        let aside = corrupt_files(dir.path());
        assert_eq!(aside.len(), 3, "{aside:?}");
        assert!(aside[2].ends_with("-wal"), "{aside:?}");
        assert_eq!(std::fs::read(dir.path().join(&aside[2])).unwrap(), b"some log", "as it was");
    }

    #[test]
    fn a_sound_store_is_not_moved_and_the_in_use_marker_goes_with_a_clean_close() {
        let dir = tempfile::tempdir().unwrap();
        filled_store(dir.path(), 50);
        let marker = integrity::in_use_marker(&dir.path().join(DB_FILE));
        let s = Store::open(dir.path(), Limits::default()).unwrap();
        assert!(marker.exists());
        assert_eq!(s.spooled_pdus().unwrap().len(), 50);
        drop(s);
        assert!(!marker.exists());
        assert!(corrupt_files(dir.path()).is_empty());
    }

    #[test]
    fn a_second_store_on_the_same_directory_is_refused_until_the_first_closes() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path(), Limits::default()).unwrap();
        first.spool_pdu(&[1], 1).unwrap();
        match Store::open(dir.path(), Limits::default()) {
            Err(e @ StoreError::InUse { .. }) => assert!(e.to_string().contains("in use"), "{e}"),
            other => panic!("expected InUse, got {other:?}"),
        }
        assert_eq!(first.spooled_pdus().unwrap().len(), 1, "the first store is untouched");
        drop(first);
        let again = Store::open(dir.path(), Limits::default()).unwrap();
        assert_eq!(again.spooled_pdus().unwrap().len(), 1);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), Limits::default()).unwrap());
        let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
        c.pragma_update(None, "user_version", schema::VERSION + 1).unwrap();
        drop(c);
        match Store::open(dir.path(), Limits::default()) {
            Err(StoreError::TooNew { found, supported }) => {
                assert_eq!((found, supported), (schema::VERSION + 1, schema::VERSION))
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
    }
}
