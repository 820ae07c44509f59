//! A second local user on a policy-enforcing bus ([`crate::bus::Bus::start_system`]): clients
//! that are this test binary run again as another uid (`CommandExt::uid`, needs root) in a role
//! named by [`ROLE_ENV`].
//!
//! A test binary that uses the roles has `#[test] fn cai_role() { role_main() }`; run without
//! [`ROLE_ENV`] it does nothing.

use crate::cai::error_name;
use crate::eventually::GUARD;
use otapush::cai::client::{serve_agent, AgentEvent, ManagerProxy};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;
use zbus::zvariant::Value;

pub const ROLE_ENV: &str = "OTAPUSH_CAI_ROLE";
const BUS_ENV: &str = "OTAPUSH_CAI_BUS";
const ARG_ENV: &str = "OTAPUSH_CAI_ARG";
/// The test function that runs [`role_main`].
const ROLE_TEST: &str = "cai_role";
/// nobody / nogroup.
pub const NOBODY: u32 = 65534;

pub fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// Runs `role` with `arg` as `uid` (None: as the test's own uid) on the bus at `bus`; gives the lines it
/// printed with the `ROLE: ` prefix, once it has exited (its stdin is closed at once).
pub fn run_role(uid: Option<u32>, role: &str, bus: &str, arg: &str) -> Vec<String> {
    let child = spawn_role(uid, role, bus, arg);
    let out = child.wait_with_output().unwrap();
    role_lines(&String::from_utf8_lossy(&out.stdout))
}

pub fn spawn_role(uid: Option<u32>, role: &str, bus: &str, arg: &str) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([ROLE_TEST, "--exact", "--nocapture", "--test-threads=1", "--quiet"])
        .env(ROLE_ENV, role)
        .env(BUS_ENV, bus)
        .env(ARG_ENV, arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some(uid) = uid {
        // As root, `uid` also drops the supplementary groups.
        std::os::unix::process::CommandExt::uid(&mut cmd, uid);
        std::os::unix::process::CommandExt::gid(&mut cmd, uid);
    }
    cmd.spawn().expect("run the test binary again")
}

/// Reads `ROLE: ` lines from a role's stdout until one starts with `until`.
pub fn read_until(out: &mut impl BufRead, until: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("role exited before {until:?}; said {lines:?}");
        }
        if let Some(l) = line.trim_end().strip_prefix("ROLE: ") {
            lines.push(l.to_string());
            if l.starts_with(until) {
                return lines;
            }
        }
    }
}

/// The child's stdout, for [`read_until`].
pub fn role_output(child: &mut std::process::Child) -> BufReader<std::process::ChildStdout> {
    BufReader::new(child.stdout.take().unwrap())
}

/// The number after `key=` in a role's line.
pub fn field(line: &str, key: &str) -> usize {
    let at = line.find(&format!("{key}=")).unwrap_or_else(|| panic!("no {key} in {line:?}")) + key.len() + 1;
    line[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

fn role_lines(out: &str) -> Vec<String> {
    out.lines().filter_map(|l| l.strip_prefix("ROLE: ")).map(str::to_string).collect()
}

fn say(line: &str) {
    println!("ROLE: {line}");
    std::io::stdout().flush().ok();
}

/// The child side: runs the role named by [`ROLE_ENV`], if any.
pub fn role_main() {
    let Ok(role) = std::env::var(ROLE_ENV) else { return };
    let bus = std::env::var(BUS_ENV).unwrap();
    let arg = std::env::var(ARG_ENV).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        match role.as_str() {
            "flood" => flood(&bus, arg.parse().unwrap()).await,
            "peek" => peek(&bus, &arg).await,
            other => panic!("unknown role {other}"),
        }
    });
}

async fn manager(bus: &str) -> (zbus::Connection, ManagerProxy<'static>) {
    let conn = zbus::connection::Builder::address(bus).unwrap().build().await.unwrap();
    let m = ManagerProxy::new(&conn).await.unwrap();
    (conn, m)
}

/// Registration squatting: `n` persistent registrations (names `sq0`…), a fresh connection
/// every 60 (under the per-connection cap), each connection closed when its 60 are done.
/// Says `flood accepted=A refused=R errors={...}`.
async fn flood(bus: &str, n: usize) {
    let (mut accepted, mut errors) = (0, BTreeMap::<String, usize>::new());
    let mut current = None;
    for i in 0..n {
        if i % 60 == 0 {
            current = Some(manager(bus).await);
        }
        let (_, m) = current.as_ref().unwrap();
        let name = format!("sq{i}");
        let filter = HashMap::from([("Persistent", Value::from(true)), ("Name", Value::from(name.as_str()))]);
        match m.register(filter, &"/sq".try_into().unwrap()).await {
            Ok(_) => accepted += 1,
            Err(e) => *errors.entry(error_name(&e)).or_default() += 1,
        }
    }
    let refused: usize = errors.values().sum();
    say(&format!("flood accepted={accepted} refused={refused} errors={errors:?}"));
}

/// A curious user: registers an agent for everything, watches `PushReceived`, says `ready`,
/// and after the first delivery (acknowledged) says what it saw: `signal ID META` per
/// `PushReceived`, `delivered ID`, and `list UID,UID…` from `ListRegistrations`.
async fn peek(bus: &str, _arg: &str) {
    use futures_lite::StreamExt;
    let (conn, m) = manager(bus).await;
    let mut events = serve_agent(&conn, "/peek", 8).await.unwrap();
    let mut signals = m.receive_push_received().await.unwrap();
    m.register(HashMap::new(), &"/peek".try_into().unwrap()).await.unwrap();
    say("ready");
    let delivered = loop {
        match tokio::time::timeout(GUARD, events.recv()).await {
            Ok(Some(AgentEvent::Deliver(d))) => {
                let id = d.id.clone();
                d.ack();
                break id;
            }
            Ok(Some(AgentEvent::Released)) => continue,
            other => panic!("no delivery: {other:?}"),
        }
    };
    // The daemon's signals for earlier messages came before this delivery on the same
    // connection (the bus keeps one sender's order); the ones after it are waited for briefly.
    while let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(300), signals.next()).await {
        let a = s.args().unwrap();
        let meta: BTreeMap<&str, String> =
            a.meta().iter().map(|(k, v)| (k.as_str(), format!("{v:?}"))).collect();
        say(&format!("signal {} {meta:?}", a.id()));
    }
    say(&format!("delivered {delivered}"));
    let uids: Vec<String> =
        m.list_registrations().await.unwrap().iter().map(|(_, d)| format!("{:?}", &*d["Uid"])).collect();
    say(&format!("list {}", uids.join(",")));
}
