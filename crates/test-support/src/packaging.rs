//! The repository's files and the host tools the `packaging_*` tests run.

use std::path::PathBuf;
use std::process::Command;

/// Set to 1 to let the systemd checks pass on a machine without systemd's tools (CI never sets it).
pub const SKIP_SYSTEMD_ENV: &str = "OTAPUSH_SKIP_SYSTEMD";

/// A file of the repository, by its path relative to the crate root.
pub fn repo_file(rel: &str) -> PathBuf {
    crate::repo_root().join(rel)
}

pub fn read_repo_file(rel: &str) -> String {
    let p = repo_file(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The absolute path of `tool` on `PATH` (or in /usr/sbin, /sbin), if any.
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// A systemd tool the test needs. Missing: `None` when `OTAPUSH_SKIP_SYSTEMD=1`, else a panic
/// saying how to install it, so a machine without systemd cannot pass silently.
pub fn require_systemd_tool(tool: &str) -> Option<PathBuf> {
    match find_tool(tool) {
        Some(p) => Some(p),
        None if std::env::var(SKIP_SYSTEMD_ENV).as_deref() == Ok("1") => {
            eprintln!("NOTE: {tool} not found and {SKIP_SYSTEMD_ENV}=1: this check did not run");
            None
        }
        None => panic!(
            "{tool} not found: install systemd (Debian: apt-get install systemd, or scripts/install-deps \
             systemd), or set {SKIP_SYSTEMD_ENV}=1 to skip this check knowingly"
        ),
    }
}

/// Runs a command; returns (exit success, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
