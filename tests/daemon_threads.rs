//! Start-up leaves no idle thread behind: tokio's blocking pool keeps a thread (and its malloc
//! arena) for ten seconds after its last job, and zbus used to connect the bus socket there.
//! Needs dbus-daemon (scripts/install-deps).

use otapush::cai::client::ManagerProxy;
use otapush::ctl::private_bus::PrivateBus;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The names of the threads of `pid`.
fn threads(pid: u32) -> Vec<String> {
    let mut names = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        names.push(comm.trim().to_string());
    }
    names
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn no_blocking_pool_thread_once_the_daemon_is_ready() {
    let bus = PrivateBus::start().expect("dbus-daemon (scripts/install-deps)");
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_otapushd"))
        .args(["--device", "sim", "--bus", bus.address(), "--state-dir"])
        .arg(dir.path().join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Kill(child);
    let conn = zbus::connection::Builder::address(bus.address()).unwrap().build().await.unwrap();
    let manager = ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .unwrap();
    let t0 = Instant::now();
    loop {
        match manager.modem_state().await {
            Ok(s) if s == "ready" => break,
            _ if t0.elapsed() > Duration::from_secs(30) => panic!("otapushd not ready within 30 s"),
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    // Ready well within the pool's ten-second keep-alive: a thread from start-up is still there.
    assert!(t0.elapsed() < Duration::from_secs(5), "ready only after {:?}", t0.elapsed());
    let names = threads(daemon.0.id());
    assert!(!names.iter().any(|n| n == "tokio-rt-worker"), "blocking-pool thread at idle: {names:?}");
}
