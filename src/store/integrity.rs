//! The start-up check of the database file (docs/store.md, "A damaged store"): an empty file
//! or a lost write-ahead log is logged as a warning; a damaged database is moved aside with its
//! WAL and shared-memory files (never deleted) so that the daemon starts on a fresh one.

use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Time `PRAGMA quick_check` may take at start (it reads every page once: about a second for
/// the 64 MiB that the default queue caps allow, on flash). Past it the store opens unchecked.
pub(super) const CHECK_BUDGET: Duration = Duration::from_secs(10);

/// Lines of a failed check kept in the log.
const REPORTED_PROBLEMS: u32 = 4;

/// The files of one SQLite database in WAL mode: the database, its `-wal` and `-shm`.
pub(super) fn companions(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = db.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

/// The file that exists while a run has the store open (removed when it closes the store).
pub(super) fn in_use_marker(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".in-use");
    PathBuf::from(s)
}

/// Warnings about the files before SQLite opens them. A 0-octet database opens as an empty
/// one; a WAL that is missing after an unclean stop loses that run's newest commits, and
/// SQLite cannot tell. Neither is an error, but neither may pass unnoticed.
pub(super) fn warn_about_files(db: &Path) {
    let [_, wal, _] = companions(db);
    match std::fs::metadata(db) {
        Ok(m) if m.len() == 0 => log::warn!(
            "store: the database {} is empty (0 octets): starting on a fresh store; \
             whatever it held before is gone (messages still on the modem are read again)",
            db.display()
        ),
        Ok(_) => {
            if in_use_marker(db).exists() && !wal.exists() {
                log::warn!(
                    "store: the previous run did not stop cleanly and its write-ahead log {} is \
                     missing: what that run committed since its last checkpoint is lost \
                     (messages still on the modem are read again)",
                    wal.display()
                );
            }
        }
        Err(_) => {}
    }
}

/// Whether an error from SQLite means the file is damaged (not a database, or corrupt), as
/// opposed to a full disk, a permission or a lock.
pub(super) fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase))
}

/// What `PRAGMA quick_check` found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Check {
    Sound,
    /// Its first findings, joined.
    Damaged(String),
    /// The budget ran out first.
    Unfinished,
}

/// Stores up to this size (database and WAL) are checked well within [`CHECK_BUDGET`] even on
/// slow flash (16 MiB at 5 MB/s: 3.2 s), so their check runs without a watchdog thread.
pub(super) const UNWATCHED_CHECK_BYTES: u64 = 16 << 20;

/// The budget a store of `bytes` (database and WAL) is checked with: none when it is small.
pub(super) fn check_budget(bytes: u64) -> Option<Duration> {
    (bytes > UNWATCHED_CHECK_BYTES).then_some(CHECK_BUDGET)
}

/// Runs `PRAGMA quick_check` (structure of every b-tree page, without the index cross-checks
/// of `integrity_check`), interrupted after `budget` by a watchdog thread when there is one.
pub(super) fn quick_check(conn: &Connection, budget: Option<Duration>) -> rusqlite::Result<Check> {
    let Some(budget) = budget else { return run_quick_check(conn) };
    let interrupt = conn.get_interrupt_handle();
    let (done, wait) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(budget) == Err(mpsc::RecvTimeoutError::Timeout) {
            interrupt.interrupt();
        }
    });
    let found = run_quick_check(conn);
    let _ = done.send(());
    let _ = watchdog.join();
    found
}

fn run_quick_check(conn: &Connection) -> rusqlite::Result<Check> {
    let found = (|| {
        let mut q = conn.prepare(&format!("PRAGMA quick_check({REPORTED_PROBLEMS})"))?;
        let rows = q.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
    })();
    match found {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(Check::Sound),
        Ok(lines) => Ok(Check::Damaged(lines.join("; ").replace('\n', " "))),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::OperationInterrupted) => Ok(Check::Unfinished),
        Err(e) => Err(e),
    }
}

/// Renames the database and its `-wal` and `-shm` to `NAME.corrupt-UNIXTIME` (and
/// `…-wal`, `…-shm`, so that `sqlite3 NAME.corrupt-UNIXTIME` still finds its log). Gives the
/// new name of the database.
pub(super) fn move_aside(db: &Path, unix_secs: u64) -> std::io::Result<PathBuf> {
    let mut n = 0;
    let stem = loop {
        let mut s = db.as_os_str().to_owned();
        s.push(format!(".corrupt-{unix_secs}"));
        if n > 0 {
            s.push(format!(".{n}"));
        }
        if companions(Path::new(&s)).iter().all(|p| !p.exists()) {
            break PathBuf::from(s);
        }
        n += 1;
    };
    for (from, to) in companions(db).iter().zip(companions(&stem)) {
        match std::fs::rename(from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_all_three_files_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.sqlite3");
        for p in companions(&db) {
            std::fs::write(&p, p.file_name().unwrap().as_encoded_bytes()).unwrap();
        }
        let a = move_aside(&db, 7).unwrap();
        assert_eq!(a, dir.path().join("x.sqlite3.corrupt-7"));
        assert_eq!(std::fs::read(dir.path().join("x.sqlite3.corrupt-7-wal")).unwrap(), b"x.sqlite3-wal");
        assert!(companions(&db).iter().all(|p| !p.exists()));
        std::fs::write(&db, b"again").unwrap();
        let b = move_aside(&db, 7).unwrap();
        assert_eq!(b, dir.path().join("x.sqlite3.corrupt-7.1"));
        assert_eq!(std::fs::read(&a).unwrap(), b"x.sqlite3");
        assert_eq!(std::fs::read(&b).unwrap(), b"again");
    }

    #[test]
    fn a_sound_database_passes() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        assert_eq!(quick_check(&conn, Some(CHECK_BUDGET)).unwrap(), Check::Sound);
        assert_eq!(quick_check(&conn, None).unwrap(), Check::Sound);
    }

    #[test]
    fn only_large_stores_get_a_watchdog() {
        assert_eq!(check_budget(0), None);
        assert_eq!(check_budget(UNWATCHED_CHECK_BYTES), None);
        assert_eq!(check_budget(UNWATCHED_CHECK_BYTES + 1), Some(CHECK_BUDGET));
    }
}
