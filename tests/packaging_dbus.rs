//! `dbus/org.otapush.Push1.conf` (system policy) and `dbus/org.otapush.Push1.service`
//! (activation file) checked by a real `dbus-daemon` with a system-bus-like configuration (the
//! default policy of Debian's system.conf) that includes our policy file.
//!
//! As root the test plays every party with its own uid (`setpriv`): the daemon's user `otapush`
//! and the group `otapush-admin` come from `systemd/otapush.sysusers` applied by
//! `systemd-sysusers` to a copy of the user database, which the bus sees through bind mounts in a
//! private mount namespace (`unshare --mount`), so the machine's users are untouched. Without
//! root, one uid plays every party and only the default-context rules can be checked (the
//! test says so on stderr).
//!
//! Each party is this test binary run again with `OTAPUSH_POLICY_ROLE` set: `serve` connects,
//! exports a fake Manager (and a fake Agent at /agent), optionally requests the name and answers
//! every call; `call` makes one call and prints its outcome.

use otapush_test_support::bus::{Bus, SYSTEM_DEFAULT_POLICY};
use otapush_test_support::packaging::{is_root, read_repo_file, repo_file, require_systemd_tool, run};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

const TEST_NAME: &str = "bus_enforces_the_policy";
const ROLE_ENV: &str = "OTAPUSH_POLICY_ROLE";
const BUS_ENV: &str = "OTAPUSH_POLICY_BUS";
const ARG_ENV: &str = "OTAPUSH_POLICY_ARG";
const NAME: &str = "org.otapush.Push1";
const PATH: &str = "/org/otapush/Push1";
const MANAGER: &str = "org.otapush.Push1.Manager";
const DENIED: &str = "org.freedesktop.DBus.Error.AccessDenied";
const NOBODY: (u32, u32) = (65534, 65534);

// ---------------------------------------------------------------------------------------------
// The parties (child processes).

mod party {
    use super::*;
    use std::time::Duration;
    use zbus::zvariant::Value;

    pub struct FakeManager;

    #[zbus::interface(name = "org.otapush.Push1.Manager")]
    impl FakeManager {
        fn register(&self) {}
        fn unregister(&self) {}
        fn refresh(&self) {}
        fn list_registrations(&self) {}
        fn inject_pdu(&self) {}
        fn set_bearer_state(&self) {}
        fn bogus(&self) {}
        #[zbus(property)]
        fn modem_state(&self) -> String {
            "ready".into()
        }
        #[zbus(property)]
        fn set_modem_state(&mut self, _v: String) {}
    }

    pub struct FakeAgent;

    #[zbus::interface(name = "org.otapush.Push1.Agent")]
    impl FakeAgent {
        fn deliver(&self) {}
        fn release(&self) {}
    }

    pub struct FakeOther;

    #[zbus::interface(name = "org.example.Other")]
    impl FakeOther {
        fn poke(&self) {}
    }

    fn error_name(e: &zbus::Error) -> String {
        match e {
            zbus::Error::MethodError(name, _, _) => name.to_string(),
            zbus::Error::FDO(f) => zbus::DBusError::name(f.as_ref()).to_string(),
            other => format!("other:{other}"),
        }
    }

    fn outcome<T>(r: Result<T, zbus::Error>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => error_name(&e),
        }
    }

    async fn serve(bus: &str, name: &str) -> Result<(), zbus::Error> {
        let conn = zbus::connection::Builder::address(bus)?.build().await?;
        conn.object_server().at(PATH, FakeManager).await?;
        conn.object_server().at("/agent", FakeAgent).await?;
        conn.object_server().at("/agent", FakeOther).await?;
        let own = if name.is_empty() { "none".to_string() } else { outcome(conn.request_name(name).await) };
        let unique = conn.unique_name().map(|n| n.to_string()).unwrap_or_default();
        println!("POLICY: READY {unique} {own}");
        std::io::stdout().flush().ok();
        // Serve until the test closes our stdin.
        tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await.ok();
        Ok(())
    }

    /// One call, `DEST|CASE`; the outcome is `ok` or the error name.
    async fn call(bus: &str, arg: &str) -> Result<String, zbus::Error> {
        let (dest, case) = arg.split_once('|').unwrap_or(("", arg));
        let conn = zbus::connection::Builder::address(bus)?.build().await?;
        let c = |path: &'static str, iface: &'static str, member: &'static str| (path, iface, member);
        let props = "org.freedesktop.DBus.Properties";
        let r = match case {
            "get" => conn.call_method(Some(dest), PATH, Some(props), "Get", &(MANAGER, "ModemState")).await,
            "getall" => conn.call_method(Some(dest), PATH, Some(props), "GetAll", &(MANAGER,)).await,
            "set" => {
                let v = Value::from("x");
                conn.call_method(Some(dest), PATH, Some(props), "Set", &(MANAGER, "ModemState", v)).await
            }
            "activatable" => {
                let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
                let names = dbus.list_activatable_names().await?;
                let found = names.iter().any(|n| n.as_str() == NAME);
                return Ok(if found { "ok" } else { "not-activatable" }.into());
            }
            _ => {
                let (path, iface, member) = match case {
                    "register" => c(PATH, MANAGER, "Register"),
                    "unregister" => c(PATH, MANAGER, "Unregister"),
                    "refresh" => c(PATH, MANAGER, "Refresh"),
                    "list" => c(PATH, MANAGER, "ListRegistrations"),
                    "inject" => c(PATH, MANAGER, "InjectPdu"),
                    "bearer" => c(PATH, MANAGER, "SetBearerState"),
                    "bogus" => c(PATH, MANAGER, "Bogus"),
                    "introspect" => c(PATH, "org.freedesktop.DBus.Introspectable", "Introspect"),
                    "ping" => c(PATH, "org.freedesktop.DBus.Peer", "Ping"),
                    "deliver" => c("/agent", "org.otapush.Push1.Agent", "Deliver"),
                    "release" => c("/agent", "org.otapush.Push1.Agent", "Release"),
                    "other" => c("/agent", "org.example.Other", "Poke"),
                    _ => return Ok(format!("unknown-case:{case}")),
                };
                conn.call_method(Some(dest), path, Some(iface), member, &()).await
            }
        };
        Ok(outcome(r))
    }

    pub fn main(role: &str) {
        let bus = std::env::var(BUS_ENV).unwrap_or_default();
        let arg = std::env::var(ARG_ENV).unwrap_or_default();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let guard = Duration::from_secs(60);
            match role {
                "serve" => {
                    if let Err(e) = serve(&bus, &arg).await {
                        println!("POLICY: READY - {}", error_name(&e));
                    }
                }
                _ => {
                    let r = tokio::time::timeout(guard, call(&bus, &arg)).await;
                    let line = match r {
                        Ok(Ok(o)) => o,
                        Ok(Err(e)) => error_name(&e),
                        Err(_) => "timeout".into(),
                    };
                    println!("POLICY: RESULT {line}");
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The orchestrating test.

/// Who runs a party.
#[derive(Clone, Copy, Debug)]
enum Who<'a> {
    /// The test's own credentials.
    Me,
    /// uid, gid, supplementary groups (needs root).
    User(u32, u32, &'a [u32]),
}

/// The program the parties run: this test binary, copied where every uid can run it (the build
/// directory may sit under a home only its owner can enter).
static PARTY_EXE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

fn party_command(who: Who, role: &str, bus: &str, arg: &str) -> Command {
    let exe = PARTY_EXE.get().cloned().unwrap_or_else(|| std::env::current_exe().unwrap());
    let mut cmd = match who {
        Who::Me => Command::new(&exe),
        Who::User(uid, gid, groups) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}")).arg(format!("--regid={gid}"));
            if groups.is_empty() {
                c.arg("--clear-groups");
            } else {
                let list: Vec<String> = groups.iter().map(u32::to_string).collect();
                c.arg(format!("--groups={}", list.join(",")));
            }
            c.arg("--").arg(&exe);
            c
        }
    };
    cmd.args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, role)
        .env(BUS_ENV, bus)
        .env(ARG_ENV, arg)
        .env_remove("RUST_LOG");
    cmd
}

fn policy_line(out: &mut BufReader<ChildStdout>) -> Option<String> {
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).ok()? == 0 {
            return None;
        }
        // libtest prints "test NAME ... " without a newline before the party's own line.
        if let Some(at) = line.find("POLICY: ") {
            return Some(line[at + "POLICY: ".len()..].trim().to_string());
        }
    }
}

/// A running `serve` party; stops when dropped.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
    unique: String,
    own: String,
}

impl Server {
    fn start(who: Who, bus: &str, name: &str) -> Server {
        let mut child = party_command(who, "serve", bus, name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot start a serve party");
        let stdin = child.stdin.take();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let line = policy_line(&mut out).unwrap_or_default();
        let mut it = line.split_whitespace().skip(1);
        let unique = it.next().unwrap_or_default().to_string();
        let own = it.next().unwrap_or("no-answer").to_string();
        assert!(unique.starts_with(':'), "serve party as {who:?} did not connect: {line:?}");
        Server { child, stdin, out, unique, own }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing stdin ends the party; let its harness finish writing, then reap it.
        self.stdin.take();
        let _ = std::io::copy(&mut self.out, &mut std::io::sink());
        let _ = self.child.wait();
    }
}

fn call(who: Who, bus: &str, dest: &str, case: &str) -> String {
    let mut child = party_command(who, "call", bus, &format!("{dest}|{case}"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start a call party");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let line = policy_line(&mut out).unwrap_or_default();
    // Let the party's test harness finish writing, then reap it.
    let _ = std::io::copy(&mut out, &mut std::io::sink());
    let _ = child.wait();
    line.strip_prefix("RESULT ").unwrap_or(&line).to_string()
}

/// Asserts the outcome of each case: "ok" or DENIED.
fn expect(who: Who, bus: &str, dest: &str, cases: &[&str], want: &str, failures: &mut Vec<String>) {
    for case in cases {
        let got = call(who, bus, dest, case);
        if got != want {
            failures.push(format!("{who:?} {case} on {dest}: got {got}, want {want}"));
        }
    }
}

fn bus_config(dir: &Path, extra: &str) -> PathBuf {
    let services = dir.join("services");
    std::fs::create_dir_all(&services).unwrap();
    std::fs::copy(repo_file("dbus/org.otapush.Push1.service"), services.join("org.otapush.Push1.service"))
        .unwrap();
    let text = format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{services}</servicedir>
  {SYSTEM_DEFAULT_POLICY}
  <include>{policy}</include>
  {extra}
</busconfig>
"#,
        sock = dir.join("bus.sock").display(),
        services = services.display(),
        policy = repo_file("dbus/org.otapush.Push1.conf").display(),
    );
    let conf = dir.join("bus.conf");
    std::fs::write(&conf, text).unwrap();
    conf
}

/// Starts dbus-daemon; with `userdb`, inside a mount namespace where that directory's passwd and
/// group files replace /etc/passwd and /etc/group.
fn start_bus(conf: &Path, userdb: Option<&Path>) -> Bus {
    let mut cmd = match userdb {
        None => {
            let mut c = Command::new("dbus-daemon");
            c.arg(format!("--config-file={}", conf.display()));
            c
        }
        Some(etc) => {
            let mut c = Command::new("unshare");
            c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg(
                    "mount --bind \"$1\" /etc/passwd && mount --bind \"$2\" /etc/group && \
                     exec dbus-daemon --config-file=\"$3\" --nofork --print-address=1",
                )
                .arg("sh")
                .arg(etc.join("passwd"))
                .arg(etc.join("group"))
                .arg(conf);
            c
        }
    };
    if userdb.is_none() {
        cmd.args(["--nofork", "--print-address=1"]);
    }
    // The bus logs each rejected message; keep that beside the config for a failing run.
    let log = std::fs::File::create(conf.with_file_name("bus.log")).unwrap();
    let bus = Bus::launch(&mut cmd, log.into());
    let log = std::fs::read_to_string(conf.with_file_name("bus.log")).unwrap_or_default();
    assert!(!bus.address.is_empty(), "dbus-daemon did not start with our policy included:\n{log}");
    bus
}

/// Applies our sysusers file to a copy of the machine's user database; returns the etc
/// directory and the ids of `otapush` (uid, gid) and `otapush-admin` (gid).
fn user_database(dir: &Path, sysusers: &Path) -> (PathBuf, (u32, u32), u32) {
    let root = dir.join("root");
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(root.join("usr/lib/sysusers.d")).unwrap();
    for f in ["passwd", "group"] {
        std::fs::copy(Path::new("/etc").join(f), etc.join(f)).unwrap();
    }
    std::fs::copy(repo_file("systemd/otapush.sysusers"), root.join("usr/lib/sysusers.d/otapush.conf"))
        .unwrap();
    let (ok, out, err) = run(Command::new(sysusers).arg(format!("--root={}", root.display())));
    assert!(ok, "systemd-sysusers: {out}{err}");
    let field = |file: &str, name: &str, idx: usize| -> u32 {
        let text = std::fs::read_to_string(etc.join(file)).unwrap();
        let line = text.lines().find(|l| l.starts_with(&format!("{name}:"))).expect(name).to_string();
        line.split(':').nth(idx).and_then(|v| v.parse().ok()).expect("numeric id")
    };
    let user = (field("passwd", "otapush", 2), field("passwd", "otapush", 3));
    let admin = field("group", "otapush-admin", 2);
    (etc, user, admin)
}

fn world_accessible(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

const EVERYONE_OK: &[&str] =
    &["register", "unregister", "refresh", "list", "introspect", "ping", "get", "getall"];
const EVERYONE_DENIED: &[&str] = &["inject", "bearer", "set", "bogus"];

#[test]
fn bus_enforces_the_policy() {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        party::main(&role);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    world_accessible(dir.path());
    let exe = dir.path().join("party");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    PARTY_EXE.set(exe).unwrap();
    let mut failures = Vec::new();
    let sysusers = if is_root() { require_systemd_tool("systemd-sysusers") } else { None };

    let Some(sysusers) = sysusers else {
        // One uid plays every party: our policy file's default context is what applies to it.
        eprintln!(
            "NOTE: not root (or no systemd-sysusers): checking the default context only; the \
             otapush/root/otapush-admin rules and name ownership need root"
        );
        // SAFETY: getuid has no preconditions.
        let me = unsafe { libc::getuid() };
        let extra = format!(r#"<policy user="{me}"><allow own="{NAME}"/></policy>"#);
        let bus = start_bus(&bus_config(dir.path(), &extra), None);
        let service = Server::start(Who::Me, &bus.address, NAME);
        assert_eq!(service.own, "ok");
        expect(Who::Me, &bus.address, NAME, EVERYONE_OK, "ok", &mut failures);
        expect(Who::Me, &bus.address, NAME, EVERYONE_DENIED, DENIED, &mut failures);
        let agent = Server::start(Who::Me, &bus.address, "");
        expect(Who::Me, &bus.address, &agent.unique, &["deliver"], DENIED, &mut failures);
        expect(Who::Me, &bus.address, "", &["activatable"], "ok", &mut failures);
        assert!(failures.is_empty(), "policy violations:\n{}", failures.join("\n"));
        return;
    };

    let (etc, (svc_uid, svc_gid), admin_gid) = user_database(dir.path(), &sysusers);
    let bus = start_bus(&bus_config(dir.path(), ""), Some(&etc));
    let addr = bus.address.as_str();
    let nobody = Who::User(NOBODY.0, NOBODY.1, &[]);
    let admin_groups = [admin_gid];
    let admin = Who::User(NOBODY.0, NOBODY.1, &admin_groups);
    let daemon = Who::User(svc_uid, svc_gid, &[]);

    // Only the daemon's user (and root) may own the name.
    let intruder = Server::start(nobody, addr, NAME);
    assert_eq!(intruder.own, DENIED, "an ordinary user could own {NAME}");
    drop(intruder);
    let service = Server::start(daemon, addr, NAME);
    assert_eq!(service.own, "ok", "user otapush could not own {NAME}");

    // Everyone: the client methods and the standard interfaces; not the privileged ones.
    expect(nobody, addr, NAME, EVERYONE_OK, "ok", &mut failures);
    expect(nobody, addr, NAME, EVERYONE_DENIED, DENIED, &mut failures);
    // otapush-admin members and root: the privileged methods too.
    expect(admin, addr, NAME, &["inject", "bearer"], "ok", &mut failures);
    expect(admin, addr, NAME, &["set"], DENIED, &mut failures);
    expect(Who::Me, addr, NAME, &["inject", "bearer"], "ok", &mut failures);

    // The daemon may call the Agent interface (only) on a client's connection; others may not.
    let agent = Server::start(nobody, addr, "");
    expect(daemon, addr, &agent.unique, &["deliver", "release"], "ok", &mut failures);
    expect(daemon, addr, &agent.unique, &["other"], DENIED, &mut failures);
    expect(nobody, addr, &agent.unique, &["deliver"], DENIED, &mut failures);

    // The activation file is valid and named after the bus name.
    expect(nobody, addr, "", &["activatable"], "ok", &mut failures);
    drop(service);
    assert!(failures.is_empty(), "policy violations:\n{}", failures.join("\n"));
}

#[test]
fn activation_file_and_policy_agree_with_the_unit() {
    let service = read_repo_file("dbus/org.otapush.Push1.service");
    let unit = read_repo_file("systemd/otapushd.service");
    let policy = read_repo_file("dbus/org.otapush.Push1.conf");
    let key = |text: &str, k: &str| -> Vec<String> {
        text.lines().filter_map(|l| l.strip_prefix(&format!("{k}="))).map(str::to_string).collect()
    };
    assert_eq!(key(&service, "Name"), [NAME]);
    assert_eq!(key(&service, "SystemdService"), key(&unit, "Alias"));
    assert_eq!(key(&service, "User"), key(&unit, "User"));
    assert_eq!(key(&service, "Exec"), key(&unit, "ExecStart"));
    let user = key(&unit, "User").pop().unwrap();
    assert!(policy.contains(&format!("<policy user=\"{user}\">")), "policy does not name user {user}");
    assert!(service.starts_with('#') || service.starts_with("[D-BUS Service]"));
}
