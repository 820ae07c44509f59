//! Private `dbus-daemon`s: a permissive session-like bus, or one with the default context of a
//! system bus and the shipped policy included.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The default context of a system bus (Debian's `/usr/share/dbus-1/system.conf`): method calls
/// and name ownership denied unless a policy file punches a hole.
pub const SYSTEM_DEFAULT_POLICY: &str = r#"<policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>"#;

/// A private bus daemon, killed when dropped.
pub struct Bus {
    child: Child,
    pub address: String,
    /// The config and socket directory, when the bus made it.
    _dir: Option<tempfile::TempDir>,
}

impl Bus {
    /// Starts `dbus-daemon` with a session-like config in a temp dir. Any local user may
    /// connect (tests run clients as other uids).
    pub fn start() -> Bus {
        Bus::start_with(
            "session",
            r#"<policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>"#,
        )
    }

    /// A bus with [`SYSTEM_DEFAULT_POLICY`] and the shipped `dbus/org.otapush.Push1.conf`.
    pub fn start_system() -> Bus {
        let policy = crate::repo_root().join("dbus/org.otapush.Push1.conf");
        Bus::start_with(
            "system",
            &format!("{SYSTEM_DEFAULT_POLICY}\n  <include>{}</include>", policy.display()),
        )
    }

    /// Starts `dbus-daemon` of `bus_type` with `policy` (the `<policy>` and `<include>`
    /// elements of its config).
    pub fn start_with(bus_type: &str, policy: &str) -> Bus {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{bus_type}</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  {policy}
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut cmd = Command::new("dbus-daemon");
        cmd.arg(format!("--config-file={}", config.display())).args(["--nofork", "--print-address=1"]);
        let mut bus = Bus::launch(&mut cmd, Stdio::null());
        assert!(bus.address.starts_with("unix:"), "dbus-daemon printed {:?}", bus.address);
        bus._dir = Some(dir);
        bus
    }

    /// Spawns a bus daemon (`cmd` ends in `dbus-daemon --nofork --print-address=1`, perhaps behind
    /// a wrapper) and reads the address it prints; an empty address means it did not start.
    pub fn launch(cmd: &mut Command, stderr: Stdio) -> Bus {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("dbus-daemon (package dbus-daemon, see scripts/install-deps) must be installed");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        Bus { child, address: line.trim().to_string(), _dir: None }
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

impl AsRef<str> for Bus {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection to the bus at `address` (a `&str` or a [`Bus`]).
pub async fn connect(address: impl AsRef<str>) -> zbus::Connection {
    zbus::connection::Builder::address(address.as_ref()).unwrap().build().await.unwrap()
}
