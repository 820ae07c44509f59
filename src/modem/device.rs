//! Finding the modem's tty: symlinks re-resolved on every (re)connect, waiting for the path to
//! appear with inotify(7) on the nearest existing directory (event-driven, no polling), and
//! recognising USB modes that have no AT port at all (Huawei HiLink).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use tokio::io::unix::AsyncFd;

/// Resolves symlinks (a udev `by-id` link) to the device node, fresh on every call.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    std::fs::canonicalize(path)
}

/// Whether the path (after following symlinks) exists now.
pub fn present(path: &Path) -> bool {
    std::fs::metadata(path).is_ok()
}

/// The directories whose changes can make `path` appear: the nearest existing ancestor of the
/// path, and of a dangling symlink's target.
fn watch_dirs(path: &Path) -> Vec<PathBuf> {
    let nearest = |p: &Path| p.ancestors().skip(1).find(|a| a.is_dir()).map(Path::to_path_buf);
    let mut v: Vec<PathBuf> = nearest(path).into_iter().collect();
    if let Ok(target) = std::fs::read_link(path) {
        let target = path.parent().map_or(target.clone(), |p| p.join(&target));
        if let Some(d) = nearest(&target) {
            if !v.contains(&d) {
                v.push(d);
            }
        }
    }
    v
}

/// An inotify instance watching some directories for entries being created or moved in.
struct DirWatch {
    fd: AsyncFd<OwnedFd>,
}

impl DirWatch {
    fn new(dirs: &[PathBuf]) -> io::Result<DirWatch> {
        // SAFETY: plain syscall; the returned fd is checked and then owned.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mask =
            libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_ATTRIB | libc::IN_DELETE_SELF | libc::IN_MOVE_SELF;
        for d in dirs {
            let c = std::ffi::CString::new(d.as_os_str().as_encoded_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
            // SAFETY: valid fd and NUL-terminated path.
            if unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), mask) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: an OwnedFd keeps its fd open and unchanged until the AsyncFd drops it.
        let fd = unsafe { AsyncFd::register(fd) }?;
        Ok(DirWatch { fd })
    }

    /// Waits for any event (their content does not matter: the caller re-checks the path).
    async fn changed(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut buf = [0u8; 4096];
            let r = guard.try_io(|fd| {
                // SAFETY: reading into a valid buffer of its length.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n)
                }
            });
            match r {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Waits until `path` exists. Event-driven with inotify; if inotify is unavailable, checks
/// with a backoff from 1 s to 30 s.
pub async fn wait_present(path: &Path) {
    let mut backoff = std::time::Duration::from_secs(1);
    loop {
        if present(path) {
            return;
        }
        match DirWatch::new(&watch_dirs(path)) {
            Ok(w) => {
                // The path may have appeared between the check and the watch.
                if present(path) {
                    return;
                }
                if let Err(e) = w.changed().await {
                    log::warn!("modem: inotify failed ({e}); polling {}", path.display());
                    tokio::time::sleep(backoff).await;
                }
            }
            Err(e) => {
                log::debug!(
                    "modem: cannot watch for {} ({e}); checking again in {backoff:?}",
                    path.display()
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
}

/// A present USB device whose `vendor:product` is in `ids` (sysfs `idVendor`/`idProduct`).
pub fn find_usb_device(sysfs: &Path, ids: &[String]) -> Option<String> {
    if ids.is_empty() {
        return None;
    }
    for e in std::fs::read_dir(sysfs).ok()?.flatten() {
        let read =
            |f: &str| std::fs::read_to_string(e.path().join(f)).ok().map(|s| s.trim().to_ascii_lowercase());
        if let (Some(v), Some(p)) = (read("idVendor"), read("idProduct")) {
            let id = format!("{v}:{p}");
            if ids.contains(&id) {
                return Some(id);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_a_symlink_to_appear() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("by-id");
        let link = sub.join("modem");
        let target = dir.path().join("tty");
        std::fs::write(&target, b"").unwrap();
        let l2 = link.clone();
        let waiter = tokio::spawn(async move { wait_present(&l2).await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        // The directory itself appears first (as /dev/serial/by-id does), then the link.
        std::fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), waiter).await.unwrap().unwrap();
        assert_eq!(resolve(&link).unwrap(), std::fs::canonicalize(&target).unwrap());
    }

    #[test]
    fn usb_ids_from_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("1-1");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("idVendor"), "12d1\n").unwrap();
        std::fs::write(d.join("idProduct"), "14DC\n").unwrap();
        let ids = vec!["12d1:14dc".to_string()];
        assert_eq!(find_usb_device(dir.path(), &ids), Some("12d1:14dc".into()));
        assert_eq!(find_usb_device(dir.path(), &["2c7c:0125".to_string()]), None);
    }
}
