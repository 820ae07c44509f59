//! One process at a time on a state directory: an exclusive `flock(2)` on `otapush.lock`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

/// The lock file, beside the database.
pub const LOCK_FILE: &str = "otapush.lock";

/// Held while this value lives; the kernel also drops it when the process dies.
#[derive(Debug)]
pub(super) struct StoreLock {
    _file: File,
}

/// Takes the lock without waiting: `Ok(None)` when another process (or another store in this
/// one) holds it.
pub(super) fn try_lock(dir: &Path) -> std::io::Result<Option<StoreLock>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))?;
    // SAFETY: flock(2) on a descriptor `file` owns and keeps open; no memory is passed.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(Some(StoreLock { _file: file }));
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(None),
        _ => Err(e),
    }
}
