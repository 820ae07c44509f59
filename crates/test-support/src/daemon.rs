//! The real `otapushd` as a process (spawned, signalled, killed and restarted on the same state
//! directory), its configuration, `/proc` figures, the rig of the `daemon_*` tests (a private
//! bus, a temp dir, the state directory) and the daemon's simulated network.

use crate::agents::ManagerProxy;
use crate::bus::{connect, Bus};
use crate::eventually::GUARD;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A binary of the `otapush` package, beside the running test binary's `deps/` directory (where
/// cargo puts them for integration tests, natively and with `--target`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let path = dir.join(name);
    assert!(path.is_file(), "{} not built (run the tests through cargo test)", path.display());
    path
}

/// A configuration file for the daemon; `extra` is appended verbatim (more sections).
pub fn config_text(device: &str, bus: &str, state: &Path, deliver_timeout: u64, extra: &str) -> String {
    format!(
        "[modem]\ndevice = {device:?}\n\n[dbus]\nbus = {bus:?}\n\n[store]\ndir = {state:?}\n\n\
         [cai]\ndeliver_timeout = {deliver_timeout}\n\n{extra}\n",
        state = state.display().to_string()
    )
}

/// What `/proc/PID/status` and `/proc/PID/fd` say about the daemon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStats {
    pub rss_kib: u64,
    /// Peak RSS of this process (resets with each restart).
    pub hwm_kib: u64,
    pub fds: u64,
}

pub fn proc_stats(pid: u32) -> Option<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(ProcStats { rss_kib: field("VmRSS:")?, hwm_kib: field("VmHWM:")?, fds })
}

/// The real `otapushd`, started with `--config FILE`; SIGTERM then SIGKILL when dropped.
pub struct Daemon {
    child: Option<Child>,
    pub config: PathBuf,
    pub log: PathBuf,
    pub state: PathBuf,
    bus: String,
    /// Peak RSS over every run of this daemon (KiB), updated by [`Daemon::sample`].
    pub peak_kib: u64,
    pub starts: u32,
}

fn send_signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

impl Daemon {
    /// Writes `config` (see [`config_text`]) beside the state directory and starts the daemon.
    /// The log goes to `DIR/otapushd.log`, appended across restarts.
    pub fn start(bus: &str, dir: &Path, state: &Path, config: &str) -> Daemon {
        let cfg_path = dir.join("otapushd.toml");
        std::fs::write(&cfg_path, config).unwrap();
        let mut d = Daemon {
            child: None,
            config: cfg_path,
            log: dir.join("otapushd.log"),
            state: state.to_path_buf(),
            bus: bus.to_string(),
            peak_kib: 0,
            starts: 0,
        };
        d.spawn();
        d
    }

    /// Replaces the configuration file (for a SIGHUP reload or the next start).
    pub fn rewrite_config(&self, config: &str) {
        std::fs::write(&self.config, config).unwrap();
    }

    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(bin("otapushd"))
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", std::env::var("OTAPUSH_TEST_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start otapushd");
        self.child = Some(child);
        self.starts += 1;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon not running").id()
    }

    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    pub fn signal(&self, sig: libc::c_int) {
        send_signal(self.pid(), sig);
    }

    /// Samples RSS and fds now, folding the peak into [`Daemon::peak_kib`].
    pub fn sample(&mut self) -> Option<ProcStats> {
        let s = proc_stats(self.pid())?;
        self.peak_kib = self.peak_kib.max(s.hwm_kib);
        Some(s)
    }

    /// Waits until this process (not a predecessor) owns `org.otapush.Push1` and, when
    /// `modem` is set, the modem is ready.
    pub async fn ready(&mut self, conn: &zbus::Connection, modem: bool) {
        let dbus = zbus::fdo::DBusProxy::new(conn).await.unwrap();
        let name: zbus::names::BusName<'_> = "org.otapush.Push1".try_into().unwrap();
        let pid = self.pid();
        let deadline = tokio::time::Instant::now() + GUARD;
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("otapushd exited ({status}):\n{}", self.log_tail(40));
                }
            }
            if dbus.get_connection_unix_process_id(name.clone()).await.ok() == Some(pid) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "otapushd never owned its name:\n{}",
                self.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if modem {
            let m = ManagerProxy::builder(conn)
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .await
                .unwrap();
            let mut last = String::new();
            while tokio::time::Instant::now() < deadline {
                last = m.modem_state().await.unwrap_or_default();
                if last == "ready" {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("modem not ready (state {last:?}):\n{}", self.log_tail(40));
        }
    }

    /// SIGTERM and wait for a clean exit (status 0).
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        self.peak_kib = self.peak_kib.max(proc_stats(child.id()).map_or(0, |s| s.hwm_kib));
        send_signal(child.id(), libc::SIGTERM);
        let deadline = tokio::time::Instant::now() + GUARD;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "otapushd exited with {status} on SIGTERM:\n{}", self.log_tail(40));
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "otapushd ignored SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no cleanup of any kind, like a power cut of the process.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        self.peak_kib = self.peak_kib.max(proc_stats(child.id()).map_or(0, |s| s.hwm_kib));
        send_signal(child.id(), libc::SIGKILL);
        let _ = child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Runs `otapushctl ARGS --bus ADDR` and gives its stdout (asserting success).
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(bin("otapushctl"))
            .args(args)
            .args(["--bus", &self.bus])
            .output()
            .expect("cannot run otapushctl");
        assert!(out.status.success(), "otapushctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let keep = std::env::temp_dir().join(format!("otapushd-failed-{}.log", std::process::id()));
            let _ = std::fs::copy(&self.log, &keep);
            eprintln!(
                "--- otapushd log (last 60 lines; all of it in {}) ---\n{}",
                keep.display(),
                self.log_tail(60)
            );
        }
        let Some(mut child) = self.child.take() else { return };
        send_signal(child.id(), libc::SIGTERM);
        for _ in 0..50 {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A bus, a temp dir, and the daemon's state directory inside it: the usual starting point.
pub struct Rig {
    pub bus: Bus,
    pub dir: tempfile::TempDir,
    pub state: PathBuf,
    /// The test's own connection (monitoring, the simulator).
    pub conn: zbus::Connection,
}

impl Rig {
    pub async fn new() -> Rig {
        Rig::new_in(&std::env::temp_dir()).await
    }

    /// A rig whose temp dir (and state directory) lives under `base` (e.g. a tmpfs).
    pub async fn new_in(base: &Path) -> Rig {
        let _ = env_logger::builder().is_test(true).try_init();
        let bus = Bus::start();
        let dir = tempfile::tempdir_in(base).unwrap();
        let state = dir.path().join("state");
        let conn = connect(bus.address()).await;
        Rig { bus, dir, state, conn }
    }

    pub fn address(&self) -> &str {
        self.bus.address()
    }

    /// The daemon with `device` (`sim` or a tty path), a deliver timeout and extra config.
    pub async fn daemon(&self, device: &str, deliver_timeout: u64, extra: &str) -> Daemon {
        let text = config_text(device, self.address(), &self.state, deliver_timeout, extra);
        let mut d = Daemon::start(self.address(), self.dir.path(), &self.state, &text);
        d.ready(&self.conn, true).await;
        d
    }

    pub async fn manager(&self) -> ManagerProxy<'static> {
        ManagerProxy::builder(&self.conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .unwrap()
    }

    pub async fn simulator(&self) -> SimulatorProxy<'static> {
        SimulatorProxy::new(&self.conn).await.unwrap()
    }
}

/// `org.otapush.Push1.Simulator`: the daemon's simulated network and modem (`device = "sim"`).
#[zbus::proxy(
    interface = "org.otapush.Push1.Simulator",
    default_service = "org.otapush.Push1",
    default_path = "/org/otapush/Push1/Simulator",
    gen_blocking = false
)]
pub trait Simulator {
    fn deliver(&self, pdu: &[u8]) -> zbus::Result<()>;
    fn reset(&self) -> zbus::Result<()>;
    fn unplug(&self, gone: bool) -> zbus::Result<()>;
    fn fill_storage(&self) -> zbus::Result<()>;
}

/// Sends every PDU of every message through the simulated network, in order.
pub async fn network_sends(sim: &SimulatorProxy<'_>, pdus: &[Vec<u8>]) {
    for p in pdus {
        sim.deliver(p).await.unwrap();
    }
}

/// Rows in the daemon's PDU spool, read through a read-only SQLite connection (WAL lets a
/// reader look while the daemon writes).
pub fn spooled(state: &Path) -> i64 {
    let path = state.join(otapush::store::DB_FILE);
    let Ok(c) = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return -1;
    };
    c.query_row("SELECT count(*) FROM spool", [], |r| r.get(0)).unwrap_or(-1)
}

/// An `[[sse]]` section of the daemon's config (docs/config.md, `[[sse]]`).
pub fn stream_section(name: &str, url: &str, app: &str) -> String {
    format!("[[sse]]\nname = {name:?}\nurl = {url:?}\napplication_id = {app:?}\n\n")
}

/// The `Streams` property as JSON: stream name → its dictionary.
pub async fn streams(rig: &Rig) -> serde_json::Value {
    let s = rig.manager().await.streams().await.unwrap();
    let d: std::collections::HashMap<&str, zbus::zvariant::Value<'_>> =
        s.iter().map(|(k, v)| (k.as_str(), zbus::zvariant::Value::from(v.clone()))).collect();
    otapush::ctl::bus::to_json(&zbus::zvariant::Value::from(d))
}
