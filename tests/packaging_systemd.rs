//! `systemd/otapushd.service` and `systemd/otapush.sysusers`, checked with systemd's own tools:
//! `systemd-analyze verify` must print nothing, `systemd-analyze security --offline=yes` must
//! score the unit at most 2.0, and `systemd-sysusers` must create the user and groups the unit and
//! the D-Bus policy name. Without systemd's tools these tests fail unless OTAPUSH_SKIP_SYSTEMD=1.

use otapush_test_support::packaging::{find_tool, read_repo_file, repo_file, require_systemd_tool, run};
use std::path::Path;
use std::process::Command;

const UNIT: &str = "systemd/otapushd.service";

/// The `Key=value` lines of one `[section]` of a unit file, in order (continuations not used).
fn section<'a>(text: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{name}]");
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("not Key=value: {line}"));
            out.push((k, v));
        }
    }
    out
}

fn values<'a>(sec: &[(&'a str, &'a str)], key: &str) -> Vec<&'a str> {
    sec.iter().filter(|(k, _)| *k == key).map(|(_, v)| *v).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let ty = e.file_type().unwrap();
        let dst = to.join(e.file_name());
        if ty.is_dir() {
            copy_dir(&e.path(), &dst);
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), dst).unwrap();
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A root directory for `systemd-analyze verify --root`: the host's unit directory (for
/// dbus.socket, sysinit.target, …), the real `otapushd` binary at /usr/bin, `kill` for
/// ExecReload, and `unit_text` as /etc/systemd/system/otapushd.service.
fn verify_root(unit_text: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("usr/bin")).unwrap();
    std::fs::create_dir_all(r.join("etc/systemd/system")).unwrap();
    std::os::unix::fs::symlink("usr/bin", r.join("bin")).unwrap();
    std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
    let host_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .map(Path::new)
        .into_iter()
        .find(|p| p.join("sysinit.target").exists())
        .expect("no systemd unit directory on this machine (install systemd)");
    copy_dir(host_units, &r.join("usr/lib/systemd/system"));
    // dbus.socket comes with the D-Bus system bus package; Type=dbus needs it.
    let dbus_socket = r.join("usr/lib/systemd/system/dbus.socket");
    if !dbus_socket.exists() {
        std::fs::write(&dbus_socket, "[Socket]\nListenStream=/run/dbus/system_bus_socket\n").unwrap();
    }
    std::fs::copy(env!("CARGO_BIN_EXE_otapushd"), r.join("usr/bin/otapushd")).unwrap();
    // ExecReload's /bin/kill only has to be executable for verify; procps may be absent here.
    match find_tool("kill") {
        Some(kill) => {
            std::fs::copy(kill, r.join("usr/bin/kill")).unwrap();
        }
        None => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(r.join("usr/bin/kill"), "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(r.join("usr/bin/kill"), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    std::fs::write(r.join("etc/systemd/system/otapushd.service"), unit_text).unwrap();
    root
}

fn verify(tool: &Path, unit_text: &str) -> (bool, String) {
    let root = verify_root(unit_text);
    let (ok, out, err) = run(Command::new(tool)
        .arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", root.path().display()))
        .arg("otapushd.service"));
    (ok, format!("{out}{err}"))
}

#[test]
fn unit_passes_systemd_analyze_verify_without_a_word() {
    let Some(tool) = require_systemd_tool("systemd-analyze") else { return };
    let unit = read_repo_file(UNIT);
    let (ok, output) = verify(&tool, &unit);
    assert!(ok && output.trim().is_empty(), "systemd-analyze verify {UNIT}:\n{output}");

    // The same check notices a mistake: an unknown directive makes it speak.
    let broken = unit.replace("[Service]\n", "[Service]\nRestartSecs=1\n");
    let (_, output) = verify(&tool, &broken);
    assert!(output.contains("RestartSecs"), "verify did not notice an unknown key:\n{output}");
}

/// The overall exposure printed by `systemd-analyze security --offline=yes`.
fn exposure(tool: &Path, unit_path: &Path) -> f64 {
    let (_, out, err) =
        run(Command::new(tool).args(["security", "--offline=yes", "--no-pager"]).arg(unit_path));
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure line in:\n{out}{err}"));
    // "→ Overall exposure level for otapushd.service: 1.5 OK 🙂"
    let after = line.rsplit_once(": ").map(|(_, a)| a).unwrap_or_default();
    after
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot parse exposure from {line:?}"))
}

#[test]
fn unit_exposure_is_at_most_2() {
    let Some(tool) = require_systemd_tool("systemd-analyze") else { return };
    let score = exposure(&tool, &repo_file(UNIT));
    eprintln!("otapushd.service exposure: {score}");
    assert!(score <= 2.0, "exposure {score} > 2.0");

    // Control: without its sandboxing the same unit scores far worse, so the parse is real.
    let dir = tempfile::tempdir().unwrap();
    let bare: String = read_repo_file(UNIT)
        .lines()
        .filter(|l| !l.starts_with("Protect") && !l.starts_with("Restrict") && !l.starts_with("SystemCall"))
        .map(|l| format!("{l}\n"))
        .collect();
    let bare_path = dir.path().join("otapushd.service");
    std::fs::write(&bare_path, bare).unwrap();
    let bare_score = exposure(&tool, &bare_path);
    assert!(bare_score > score + 2.0, "unsandboxed unit scored {bare_score}, sandboxed {score}");
}

#[test]
fn unit_has_the_contract_settings() {
    let unit = read_repo_file(UNIT);
    let svc = section(&unit, "Service");
    let one = |k: &str| -> &str {
        let v = values(&svc, k);
        assert_eq!(v.len(), 1, "{k}: {v:?}");
        v[0]
    };
    assert_eq!(one("Type"), "dbus");
    assert_eq!(one("BusName"), "org.otapush.Push1");
    assert_eq!(one("ExecStart"), "/usr/bin/otapushd --config /etc/otapush/otapushd.toml");
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one("User"), "otapush");
    assert_eq!(one("SupplementaryGroups"), "dialout");
    assert_eq!(one("StateDirectory"), "otapush");
    // The documented EventSource socket /run/otapush/events.sock (docs/eventsource.md) needs a
    // writable /run/otapush under ProtectSystem=strict, traversable by local clients.
    assert_eq!(one("RuntimeDirectory"), "otapush");
    assert_eq!(one("RuntimeDirectoryMode"), "0755");
    assert_eq!(one("DevicePolicy"), "closed");
    let allowed = values(&svc, "DeviceAllow");
    for class in ["char-ttyUSB rw", "char-ttyACM rw", "char-ttyS rw"] {
        assert!(allowed.contains(&class), "DeviceAllow={class} missing: {allowed:?}");
    }
    let families: Vec<&str> = one("RestrictAddressFamilies").split_whitespace().collect();
    for f in ["AF_UNIX", "AF_NETLINK", "AF_INET", "AF_INET6"] {
        assert!(families.contains(&f), "{f} not in RestrictAddressFamilies");
    }
    let install = section(&unit, "Install");
    assert_eq!(values(&install, "Alias"), ["dbus-org.otapush.Push1.service"]);
    assert_eq!(values(&install, "WantedBy"), ["multi-user.target"]);
}

#[test]
fn sysusers_creates_the_daemon_user_and_groups() {
    let Some(tool) = require_systemd_tool("systemd-sysusers") else { return };
    let root = tempfile::tempdir().unwrap();
    let conf_dir = root.path().join("usr/lib/sysusers.d");
    std::fs::create_dir_all(&conf_dir).unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::copy(repo_file("systemd/otapush.sysusers"), conf_dir.join("otapush.conf")).unwrap();
    let (ok, out, err) = run(Command::new(tool).arg(format!("--root={}", root.path().display())));
    assert!(ok, "systemd-sysusers failed:\n{out}{err}");

    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    let user: Vec<&str> =
        passwd.lines().find(|l| l.starts_with("otapush:")).expect("no otapush user").split(':').collect();
    assert!(user[2].parse::<u32>().unwrap() < 1000, "not a system uid: {user:?}");
    assert_eq!(user[5], "/var/lib/otapush");
    let members = |g: &str| -> String {
        let line =
            group.lines().find(|l| l.starts_with(&format!("{g}:"))).unwrap_or_else(|| panic!("no {g}"));
        line.rsplit(':').next().unwrap_or_default().to_string()
    };
    assert!(members("dialout").split(',').any(|m| m == "otapush"), "otapush not in dialout:\n{group}");
    members("otapush-admin");
}

/// The user unit of `otapushctl mms-bridge` (docs/mms.md).
const BRIDGE_UNIT: &str = "systemd/user/otapush-mms-bridge.service";

#[test]
fn mms_bridge_user_unit_passes_systemd_analyze_verify() {
    let Some(tool) = require_systemd_tool("systemd-analyze") else { return };
    let unit = read_repo_file(BRIDGE_UNIT);
    let exec = values(&section(&unit, "Service"), "ExecStart");
    assert_eq!(exec, ["/usr/bin/otapushctl mms-bridge --bus system --mmsd-bus session"]);
    // otapushctl takes those arguments (clap refuses an unknown one before reading --help).
    let args: Vec<&str> = exec[0].split_whitespace().skip(1).collect();
    let (ok, _, err) = run(Command::new(env!("CARGO_BIN_EXE_otapushctl")).args(&args).arg("--help"));
    assert!(ok, "otapushctl {args:?}: {err}");

    // A user manager for verify: its own runtime dir, the real binary in place of /usr/bin's.
    let verify_user = |text: &str| -> String {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        let path = dir.path().join("otapush-mms-bridge.service");
        std::fs::write(&path, text.replace("/usr/bin/otapushctl", env!("CARGO_BIN_EXE_otapushctl"))).unwrap();
        let (ok, out, err) = run(Command::new(&tool)
            .args(["verify", "--user", "--man=no"])
            .arg(&path)
            .env("XDG_RUNTIME_DIR", &runtime));
        format!("{}{out}{err}", if ok { "" } else { "(failed) " })
    };
    let output = verify_user(&unit);
    assert!(output.trim().is_empty(), "systemd-analyze verify --user {BRIDGE_UNIT}:\n{output}");
    let output = verify_user(&unit.replace("[Service]\n", "[Service]\nRestartSecs=1\n"));
    assert!(output.contains("RestartSecs"), "verify did not notice an unknown key:\n{output}");
}
