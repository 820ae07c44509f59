//! A private `dbus-daemon` for the demo and for tests, so nothing touches the user's buses.
//! `otapushctl demo` runs on it, so it ships in the library, not in crates/test-support.
#![warn(missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running private bus; the daemon is killed when this is dropped.
pub struct PrivateBus {
    child: Child,
    address: String,
    _dir: PathBuf,
}

/// Why a private bus could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PrivateBusError {
    /// `dbus-daemon` could not be run.
    #[error(
        "dbus-daemon was not found ({0}); install it (Debian: apt-get install dbus-daemon) or pass --bus ADDRESS"
    )]
    Missing(std::io::Error),
    /// Its directory or config could not be written, or it printed no address.
    #[error("dbus-daemon did not start: {0}")]
    Failed(String),
}

fn config_text(dir: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        dir.display()
    )
}

/// A directory name no other bus of this or another process uses: pid, a per-process counter
/// (two buses started in the same millisecond must not share, or the first one dropped deletes
/// the other's socket), and the time (pids are reused).
fn fresh_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "otapush-bus-{}-{n}-{}",
        std::process::id(),
        crate::time::now_ms() % 1_000_000_007
    ))
}

impl PrivateBus {
    /// Starts `dbus-daemon` with a session-like configuration listening in a fresh directory.
    pub fn start() -> Result<PrivateBus, PrivateBusError> {
        let dir = fresh_dir();
        std::fs::create_dir_all(&dir).map_err(|e| PrivateBusError::Failed(e.to_string()))?;
        let conf = dir.join("bus.conf");
        std::fs::write(&conf, config_text(&dir)).map_err(|e| PrivateBusError::Failed(e.to_string()))?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .arg("--nofork")
            .arg("--print-address=1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It warns about fd limits when not root; nothing a user needs to see.
            .stderr(Stdio::null())
            .spawn()
            .map_err(PrivateBusError::Missing)?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or_else(|| PrivateBusError::Failed("no stdout".into()))?;
        BufReader::new(stdout).read_line(&mut line).map_err(|e| PrivateBusError::Failed(e.to_string()))?;
        let address = line.trim().to_string();
        if address.is_empty() {
            let _ = child.kill();
            return Err(PrivateBusError::Failed("no address printed".into()));
        }
        Ok(PrivateBus { child, address, _dir: dir })
    }

    /// The bus daemon's process id (benches read its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The bus address, e.g. `unix:path=/tmp/…/dbus-XXXX,guid=…`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_unique_within_a_millisecond() {
        let names: std::collections::HashSet<PathBuf> = (0..100).map(|_| fresh_dir()).collect();
        assert_eq!(names.len(), 100);
    }
}
