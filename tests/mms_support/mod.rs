//! The peers of the mmsd-tng bridge test: Debian's real `mmsdtng` on a private session bus (its
//! `$HOME` in a temp dir), the minimal ModemManager it needs on a private system bus before it
//! takes `PushNotify` (one modem with Messaging, registered, a SIM), and the bridge process
//! (`otapushctl mms-bridge`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zbus::zvariant::OwnedObjectPath;

const MMSDTNG: &str = "/usr/bin/mmsdtng";
const MODEM: &str = "/org/freedesktop/ModemManager1/Modem/0";
const SIM: &str = "/org/freedesktop/ModemManager1/SIM/0";

fn path(p: &str) -> OwnedObjectPath {
    OwnedObjectPath::try_from(p).unwrap()
}

/// `org.freedesktop.ModemManager1.Modem`: what mmsd-tng reads of the modem.
struct Modem;

#[zbus::interface(name = "org.freedesktop.ModemManager1.Modem", introspection_docs = false)]
impl Modem {
    /// MM_MODEM_STATE_REGISTERED (8): enabled and on the network, no data bearer.
    #[zbus(property)]
    fn state(&self) -> i32 {
        8
    }
    #[zbus(property)]
    fn sim(&self) -> OwnedObjectPath {
        path(SIM)
    }
    #[zbus(property)]
    fn own_numbers(&self) -> Vec<String> {
        vec!["+15550199".into()]
    }
    #[zbus(property)]
    fn max_active_bearers(&self) -> u32 {
        1
    }
    #[zbus(property)]
    fn bearers(&self) -> Vec<OwnedObjectPath> {
        Vec::new()
    }
}

/// `org.freedesktop.ModemManager1.Modem.Messaging`: no SMS stored (otapushd owns SMS).
struct Messaging;

#[zbus::interface(name = "org.freedesktop.ModemManager1.Modem.Messaging", introspection_docs = false)]
impl Messaging {
    fn list(&self) -> Vec<OwnedObjectPath> {
        Vec::new()
    }
    #[zbus(property)]
    fn messages(&self) -> Vec<OwnedObjectPath> {
        Vec::new()
    }
}

/// `org.freedesktop.ModemManager1.Sim`.
struct Sim;

#[zbus::interface(name = "org.freedesktop.ModemManager1.Sim", introspection_docs = false)]
impl Sim {
    #[zbus(property)]
    fn imsi(&self) -> String {
        "001010123456789".into()
    }
    #[zbus(property)]
    fn sim_identifier(&self) -> String {
        "8900101000000000001".into()
    }
}

/// `org.freedesktop.ModemManager1` with one modem, on the bus at `address`; gone when dropped.
pub struct FakeModemManager {
    conn: zbus::Connection,
}

impl FakeModemManager {
    pub async fn start(address: &str) -> FakeModemManager {
        let conn = zbus::connection::Builder::address(address)
            .unwrap()
            .serve_at("/org/freedesktop/ModemManager1", zbus::fdo::ObjectManager)
            .unwrap()
            .serve_at(MODEM, Modem)
            .unwrap()
            .serve_at(MODEM, Messaging)
            .unwrap()
            .serve_at(SIM, Sim)
            .unwrap()
            .name("org.freedesktop.ModemManager1")
            .unwrap()
            .build()
            .await
            .unwrap();
        FakeModemManager { conn }
    }
}

/// Debian's `mmsdtng -d`, its session bus at `session`, its system bus at `system`, `$HOME` at
/// `home`; its log (stderr) in `home/mmsdtng.log`. SIGTERM, then SIGKILL, when dropped.
pub struct Mmsd {
    child: Option<Child>,
    pub home: PathBuf,
    pub log: PathBuf,
}

impl Mmsd {
    pub fn start(session: &str, system: &str, home: &Path) -> Mmsd {
        assert!(
            Path::new(MMSDTNG).is_file(),
            "{MMSDTNG} (Debian package mmsd-tng) is not installed: run scripts/install-deps"
        );
        std::fs::create_dir_all(home).unwrap();
        let log = home.join("mmsdtng.log");
        let err = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = Command::new(MMSDTNG)
            .arg("-d")
            .env("HOME", home)
            .env("DBUS_SESSION_BUS_ADDRESS", session)
            .env("DBUS_SYSTEM_BUS_ADDRESS", system)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("cannot start mmsdtng");
        Mmsd { child: Some(child), home: home.to_path_buf(), log }
    }

    /// Waits until it owns `org.ofono.mms` on `session`.
    pub async fn ready(&mut self, session: &zbus::Connection) {
        let dbus = zbus::fdo::DBusProxy::new(session).await.unwrap();
        let name: zbus::names::BusName<'_> = "org.ofono.mms".try_into().unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !dbus.name_has_owner(name.clone()).await.unwrap_or(false) {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("mmsdtng exited ({status}):\n{}", self.log_text());
            }
            assert!(tokio::time::Instant::now() < deadline, "mmsdtng never owned org.ofono.mms");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The messages mmsd-tng stored in state `notification`, oldest first: their raw
    /// m-notification-ind (it stores the push body as it came, beside a `.status` key file).
    pub fn notifications(&self) -> Vec<Vec<u8>> {
        let dir = self.home.join(".mms/modemmanager");
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut found: Vec<(std::time::SystemTime, Vec<u8>)> = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "status") {
                continue;
            }
            let status = std::fs::read_to_string(&p).unwrap_or_default();
            if !status.lines().any(|l| l.trim() == "state=notification") {
                continue;
            }
            let raw = p.with_extension("");
            if let (Ok(body), Ok(meta)) = (std::fs::read(&raw), std::fs::metadata(&raw)) {
                found.push((meta.modified().unwrap_or(std::time::UNIX_EPOCH), body));
            }
        }
        found.sort();
        found.into_iter().map(|(_, b)| b).collect()
    }
}

impl Drop for Mmsd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- mmsdtng log ---\n{}", self.log_text());
        }
        if let Some(c) = self.child.take() {
            stop(c);
        }
    }
}

fn stop(mut child: Child) {
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    for _ in 0..50 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `otapushctl mms-bridge`, otapushd on `bus`, mmsd-tng on `mmsd_bus`; log in `dir/bridge.log`.
pub struct Bridge {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Bridge {
    pub fn start(bus: &str, mmsd_bus: &str, dir: &Path) -> Bridge {
        Bridge::start_logging(bus, mmsd_bus, &dir.join("bridge.log"))
    }

    pub fn start_logging(bus: &str, mmsd_bus: &str, log: &Path) -> Bridge {
        let log = log.to_path_buf();
        let err = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_otapushctl"))
            .args(["mms-bridge", "--bus", bus, "--mmsd-bus", mmsd_bus, "--timeout", "5"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("cannot start otapushctl mms-bridge");
        Bridge { child: Some(child), log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Lines of its log containing `what`.
    pub fn count(&self, what: &str) -> usize {
        self.log_text().lines().filter(|l| l.contains(what)).count()
    }

    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Waits (at most a minute) for the process to exit; gives its status.
    pub async fn exited(&mut self) -> std::process::ExitStatus {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                return status;
            }
            assert!(tokio::time::Instant::now() < deadline, "the bridge did not exit:\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- bridge log ---\n{}", self.log_text());
        }
        if let Some(c) = self.child.take() {
            stop(c);
        }
    }
}
