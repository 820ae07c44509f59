//! Push-CAI end to end with the real daemon: pushes per second through InjectPdu → spool and
//! store → Deliver → ack, to one agent and to ten, with latency p50/p99; the daemon's idle RSS,
//! its peak RSS during a 1,000-message burst, and its idle wake-ups per minute.
//!
//! Starts a private `dbus-daemon` (`ctl::private_bus::PrivateBus`) and the `otapushd` binary
//! with `--device sim --bus ADDR --state-dir TMP` (the state dir on disk, under $TMPDIR).
//! Agents are `cai::client::serve_agent` objects, each on its own bus connection; pushes are
//! single-segment WAP Push SMS PDUs built by `ctl::encode::encode_push`, each with a distinct
//! body so that no two share a message id.
//!
//! Run: `cargo build --release --bin otapushd && cp target/release/otapushd /tmp/ &&
//! OTAPUSHD=/tmp/otapushd cargo bench --bench cai` (`cargo bench` links its own build of the
//! daemon as target/release/otapushd; the bench says so when it measures that one).
//! Environment: `OTAPUSHD` (the daemon binary; default target/release/otapushd, else the bench
//! build's own), `BENCH_PUSHES` (pushes per throughput run, default 2000), `IDLE_SECS` (length
//! of the quiet period for wake-ups, default 60), `RUST_LOG` for the daemon (default `info`,
//! as shipped; its log goes to a file), `FSYNC_DELAY_US`: when set, the daemon runs under
//! benches/fsync_delay.c (built here with gcc, `LD_PRELOAD`), which sleeps that long in every
//! fsync and fdatasync (3000 for a slow flash disk), `UNIT_ENVIRONMENT=off`: the daemon does not
//! get the `Environment=` settings of systemd/otapushd.service (by default it does).
//! Must run as root or as a user the daemon treats as privileged (InjectPdu is privileged).
//!
//! The bus floor: the bench runs itself again as a plain caller (`--bus-floor`) that calls
//! `Deliver` on an agent of this process, one call in flight, with a push's meta and body and
//! no otapushd in between: the most one registration could get through this bus daemon.

use otapush::cai::client::{serve_agent, AgentEvent, ManagerProxy};
use otapush::ctl::encode::{encode_push, PushRequest};
use otapush::ctl::private_bus::PrivateBus;
use otapush::sms::Timestamp;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use zbus::zvariant::Value;

/// Injections in flight at once in a throughput run.
const WINDOW: usize = 64;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Builds benches/fsync_delay.c into target/fsync-delay/ (see the module docs).
fn fsync_shim() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("fsync-delay");
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("libfsync_delay.so");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fsync_delay.c");
    let ok = Command::new("gcc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-ldl")
        .status()
        .expect("gcc (scripts/install-deps installs build-essential)");
    assert!(ok.success(), "gcc failed on {}", src.display());
    lib
}

fn daemon_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("OTAPUSHD") {
        return p.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let release = target.join("release/otapushd");
    if release.exists() {
        return release;
    }
    PathBuf::from(env!("CARGO_BIN_EXE_otapushd"))
}

/// `/proc/PID/status` fields in kB.
/// True when the ELF64 file has a `.symtab` section: `cargo bench` links its own build of the
/// daemon (bench profile, not stripped) as target/release/otapushd, over the shipped one.
fn has_symbol_table(path: &Path) -> bool {
    let Ok(elf) = std::fs::read(path) else { return false };
    let word = |at: usize, n: usize| -> Option<u64> {
        let b = elf.get(at..at + n)?;
        Some(b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x)))
    };
    if elf.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return false; // only little-endian ELF64, the hosts this bench runs on
    }
    let (Some(off), Some(size), Some(count)) = (word(0x28, 8), word(0x3A, 2), word(0x3C, 2)) else {
        return false;
    };
    (0..count).any(|i| word((off + i * size) as usize + 4, 4) == Some(2))
}

/// The shipped unit's `Environment=NAME=VALUE` settings, given to the daemon so that it runs as
/// on a device; none with `UNIT_ENVIRONMENT=off`.
fn unit_environment() -> Vec<(String, String)> {
    if std::env::var("UNIT_ENVIRONMENT").as_deref() == Ok("off") {
        return Vec::new();
    }
    include_str!("../systemd/otapushd.service")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Environment=")?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.trim_start_matches(':').split_whitespace().next()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Context switches per thread of `pid` (voluntary + involuntary): each one is a wake-up or a
/// preemption.
fn context_switches(pid: u32) -> HashMap<String, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return HashMap::new() };
    tasks
        .filter_map(Result::ok)
        .map(|t| {
            let s = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            let n = s
                .lines()
                .filter(|l| {
                    l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches")
                })
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
            (t.file_name().to_string_lossy().into_owned(), n)
        })
        .collect()
}

/// Switches between two snapshots: threads that exist at the end, counted from zero if new.
fn switches_between(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after.iter().map(|(tid, n)| n.saturating_sub(before.get(tid).copied().unwrap_or(0))).sum()
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` value 5); false where not permitted.
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

fn mib(kb: u64) -> String {
    format!("{:.2} MiB ({kb} kB)", kb as f64 / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn pdu(run: &str, i: usize, app_id: &str) -> Vec<u8> {
    let body = format!("{run} push {i:06} {}", "x".repeat(40)).into_bytes();
    let req = PushRequest {
        app_id: Some(app_id.to_string()),
        content_type: "application/vnd.wap.mms-message".into(),
        body,
        from: "+447700900123".into(),
        tid: (i % 256) as u8,
        reference: (i % 256) as u16,
        scts: Some(Timestamp::new((2025, 1, 2), (3, 4, 5), 4).unwrap()),
        ..PushRequest::default()
    };
    let mut pdus = encode_push(&req).unwrap();
    assert_eq!(pdus.len(), 1, "one segment per push");
    pdus.remove(0)
}

/// The index a bench push carries in its body.
fn index_of(body: &[u8]) -> Option<usize> {
    let s = std::str::from_utf8(body).ok()?;
    s.split_whitespace().nth(2)?.parse().ok()
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM: docs/config.md says it shuts down cleanly; a hang here is a finding.
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        match self.child.wait() {
            Ok(s) => println!("cai: daemon stopped on SIGTERM ({s}); log {}", self.log.display()),
            Err(e) => eprintln!("cai: waiting for the daemon: {e}"),
        }
    }
}

/// Agents: one connection each, every delivery acked at once and reported as (index, time).
struct Agents {
    conns: Vec<zbus::Connection>,
    delivered: mpsc::UnboundedReceiver<(usize, Instant)>,
}

async fn agents(address: &str, manager_conn: &zbus::Connection, filters: &[Option<String>]) -> Agents {
    let (tx, delivered) = mpsc::unbounded_channel();
    let mut conns = Vec::new();
    for (k, app) in filters.iter().enumerate() {
        let conn = zbus::connection::Builder::address(address).unwrap().build().await.unwrap();
        let path = format!("/bench/agent{k}");
        let mut events = serve_agent(&conn, &path, 256).await.unwrap();
        let manager = ManagerProxy::new(&conn).await.unwrap();
        let mut filter: HashMap<&str, Value<'_>> = HashMap::new();
        if let Some(app) = app {
            filter.insert("ApplicationId", Value::from(app.as_str()));
        }
        manager.register(filter, &path.as_str().try_into().unwrap()).await.unwrap();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                if let AgentEvent::Deliver(d) = ev {
                    let at = Instant::now();
                    let i = index_of(&d.body);
                    d.ack();
                    if let Some(i) = i {
                        let _ = tx.send((i, at));
                    }
                }
            }
        });
        conns.push(conn);
    }
    let _ = manager_conn;
    Agents { conns, delivered }
}

async fn wait_unregistered(manager: &ManagerProxy<'_>) {
    for _ in 0..100 {
        if manager.list_registrations().await.map(|r| r.is_empty()).unwrap_or(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("cai: registrations did not go away");
}

struct Run {
    pushes: usize,
    deliveries: usize,
    secs: f64,
    latencies: Vec<Duration>,
}

impl Run {
    fn print(&self, name: &str) {
        let mut l = self.latencies.clone();
        l.sort();
        println!(
            "cai: {name:<34} {:>8.0} pushes/s {:>8.0} deliveries/s ({} pushes, {} deliveries in {:.3} s; latency p50 {:.2} ms p99 {:.2} ms)",
            self.pushes as f64 / self.secs,
            self.deliveries as f64 / self.secs,
            self.pushes,
            self.deliveries,
            self.secs,
            percentile(&l, 0.5).as_secs_f64() * 1e3,
            percentile(&l, 0.99).as_secs_f64() * 1e3,
        );
    }
}

/// CPU time (ns on a CPU, `/proc/PID/task/*/schedstat`) of each thread of `pid`, keyed by
/// `label/comm`; threads with the same name add up.
fn cpu_ns(pid: &str, label: &str, into: &mut HashMap<String, u64>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(t.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
            .unwrap_or(0);
        *into.entry(format!("{label}/{}", comm.trim())).or_default() += ns;
    }
}

/// The CPU time of the daemon's threads, the bus daemon and this driver (with its agents).
fn cpu_snapshot(daemon: u32, bus: u32) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    cpu_ns(&daemon.to_string(), "otapushd", &mut m);
    cpu_ns(&bus.to_string(), "dbus-daemon", &mut m);
    cpu_ns("self", "driver+agents", &mut m);
    m
}

/// Prints the CPU each process and thread used between two snapshots, per push and as a share
/// of the run's wall time (2 cores: 200 % is the machine).
fn print_cpu(name: &str, before: &HashMap<String, u64>, after: &HashMap<String, u64>, run: &Run) {
    let mut rows: Vec<(String, u64)> = after
        .iter()
        .map(|(k, &a)| (k.clone(), a.saturating_sub(before.get(k).copied().unwrap_or(0))))
        .filter(|(_, d)| *d > 0)
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let total: u64 = rows.iter().map(|r| r.1).sum();
    let wall = run.secs * 1e9;
    let mut line = format!(
        "cai: CPU during {name}: {:.0} % of one core in all, {:.1} µs per push;",
        total as f64 * 100.0 / wall,
        total as f64 / 1e3 / run.pushes as f64
    );
    for (k, d) in rows {
        line.push_str(&format!(
            " {k} {:.0} % ({:.1} µs/push)",
            d as f64 * 100.0 / wall,
            d as f64 / 1e3 / run.pushes as f64
        ));
    }
    println!("{line}");
}

/// Injects `pdus` with [`WINDOW`] calls in flight and waits until `fanout` deliveries of each
/// arrived. Latency: from the start of a push's InjectPdu call to its (first… last) delivery.
async fn throughput(
    manager: &ManagerProxy<'static>,
    agents: &mut Agents,
    pdus: Vec<Vec<u8>>,
    fanout: usize,
) -> Run {
    let n = pdus.len();
    let sem = Arc::new(Semaphore::new(WINDOW));
    let mut starts = vec![None; n];
    let t0 = Instant::now();
    let mut received = vec![0usize; n];
    let mut latencies = Vec::with_capacity(n * fanout);
    let mut done = 0usize;
    let mut pending = pdus.into_iter().enumerate();
    let mut last = t0;
    loop {
        // Keep the window full, and collect deliveries meanwhile.
        tokio::select! {
            biased;
            Some((i, at)) = agents.delivered.recv() => {
                if let (Some(start), Some(r)) = (starts.get(i).copied().flatten(), received.get_mut(i)) {
                    *r += 1;
                    latencies.push(at.duration_since(start));
                    last = at;
                    if *r == fanout {
                        done += 1;
                    }
                }
            }
            permit = sem.clone().acquire_owned(), if pending.len() > 0 => {
                let permit = permit.unwrap();
                if let Some((i, p)) = pending.next() {
                    starts[i] = Some(Instant::now());
                    let m = manager.clone();
                    tokio::spawn(async move {
                        if let Err(e) = m.inject_pdu(&p).await {
                            eprintln!("cai: InjectPdu failed: {e}");
                        }
                        drop(permit);
                    });
                }
            }
        }
        if done == n {
            break;
        }
        if t0.elapsed() > Duration::from_secs(300) {
            eprintln!("cai: gave up with {done} of {n} delivered");
            break;
        }
    }
    Run { pushes: n, deliveries: latencies.len(), secs: last.duration_since(t0).as_secs_f64(), latencies }
}

/// When push `i` reached an agent (earlier deliveries are skipped).
async fn delivered(agents: &mut Agents, i: usize) -> Instant {
    loop {
        let (j, at) = tokio::time::timeout(Duration::from_secs(30), agents.delivered.recv())
            .await
            .expect("a delivery within 30 s")
            .unwrap();
        if j == i {
            return at;
        }
    }
}

/// One push at a time: the unloaded latency from InjectPdu to Deliver.
async fn serial(manager: &ManagerProxy<'static>, agents: &mut Agents, pdus: Vec<Vec<u8>>) -> Run {
    let t0 = Instant::now();
    let mut latencies = Vec::new();
    let n = pdus.len();
    for (i, p) in pdus.into_iter().enumerate() {
        let start = Instant::now();
        manager.inject_pdu(&p).await.unwrap();
        latencies.push(delivered(agents, i).await.duration_since(start));
    }
    Run { pushes: n, deliveries: n, secs: t0.elapsed().as_secs_f64(), latencies }
}

/// One push at a time through the simulated modem (`Simulator.Deliver`): the modem signals
/// `+CMTI`, the AT engine reads the PDU, the spool commits it with fsync, the modem deletes it,
/// and the message reaches the agent. The latency from the network to `Deliver`.
async fn serial_modem(conn: &zbus::Connection, agents: &mut Agents, pdus: Vec<Vec<u8>>) -> Run {
    let t0 = Instant::now();
    let mut latencies = Vec::new();
    let n = pdus.len();
    for (i, p) in pdus.into_iter().enumerate() {
        let start = Instant::now();
        conn.call_method(
            Some("org.otapush.Push1"),
            "/org/otapush/Push1/Simulator",
            Some("org.otapush.Push1.Simulator"),
            "Deliver",
            &(p,),
        )
        .await
        .unwrap();
        latencies.push(delivered(agents, i).await.duration_since(start));
    }
    Run { pushes: n, deliveries: n, secs: t0.elapsed().as_secs_f64(), latencies }
}

fn strace_idle(pid: u32, secs: u64) -> Option<String> {
    let out = Command::new("timeout")
        .args(["-s", "INT", &secs.to_string(), "strace", "-f", "-c", "-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    Some(format!("strace -f -c over {secs} s: {}", strace_summary(&text)?))
}

/// "N system calls (name n, …)" from an `strace -c` table: the `calls` column of each row.
fn strace_summary(text: &str) -> Option<String> {
    let Some(header) = text.lines().find(|l| l.contains("calls") && l.contains("syscall")) else {
        // strace prints no table when the process made no system call at all.
        return text.contains("attached").then(|| "0 system calls".to_string());
    };
    let cols: Vec<&str> = header.split_whitespace().collect();
    let calls_at = cols.iter().position(|c| *c == "calls")?;
    let mut rows = Vec::new();
    let mut total = None;
    for l in text.lines().skip_while(|l| !l.contains("syscall")).skip(2) {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (Some(name), Some(n)) = (f.last(), f.get(calls_at).and_then(|n| n.parse::<u64>().ok())) else {
            continue;
        };
        if *name == "total" {
            total = Some(n);
        } else {
            rows.push(format!("{name} {n}"));
        }
    }
    Some(format!("{} system calls ({})", total.unwrap_or(0), rows.join(", ")))
}

/// Counts the daemon's system calls while `f` runs (strace attached; it slows the daemon, so
/// this is for the mix, not the rate).
async fn strace_during<F: std::future::Future<Output = Run>>(pid: u32, f: F) -> Option<(Run, String)> {
    let child = tokio::process::Command::new("strace")
        .args(["-f", "-c", "-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let run = f.await;
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id()? as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().await.ok()?;
    Some((run, strace_summary(&String::from_utf8_lossy(&out.stderr))?))
}

/// An agent served on its own connection with no registration, for the bus floor.
async fn floor_agent(address: &str) -> (zbus::Connection, String) {
    let conn = zbus::connection::Builder::address(address).unwrap().build().await.unwrap();
    let mut events = serve_agent(&conn, "/bench/floor", 256).await.unwrap();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if let AgentEvent::Deliver(d) = ev {
                d.ack();
            }
        }
    });
    let name = conn.unique_name().unwrap().to_string();
    (conn, name)
}

/// Runs the bus floor's caller in another process and prints its line.
fn bus_floor(address: &str, agent: &str, calls: usize) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--bus-floor", address, agent, &calls.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .expect("the bench binary runs again");
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// The caller: `calls` sequential `Deliver` calls, each with the meta a WAP Push carries.
fn bus_floor_caller(address: &str, agent: &str, calls: usize) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let conn = zbus::connection::Builder::address(address).unwrap().build().await.unwrap();
        let mut meta: HashMap<&str, Value<'_>> = HashMap::new();
        for (k, v) in [
            ("Source", "sms"),
            ("Originator", "+447700900123"),
            ("SentTime", "2025-01-02T03:04:05+01:00"),
            ("ReceivedTime", "2026-12-08T01:00:00+00:00"),
            ("ApplicationId", "x-wap-application:mms.ua"),
            ("ContentType", "application/vnd.wap.mms-message"),
            ("PduType", "push"),
            ("Kind", "wsp_push"),
        ] {
            meta.insert(k, Value::from(v));
        }
        meta.insert("ContentTypeParams", Value::from(HashMap::<String, String>::new()));
        let headers =
            HashMap::from([("X-Wap-Application-Id".to_string(), "x-wap-application:mms.ua".to_string())]);
        meta.insert("Headers", Value::from(headers));
        meta.insert("TransactionId", Value::from(7u8));
        meta.insert("Port", Value::from(2948u16));
        let mut latencies = Vec::with_capacity(calls);
        let t0 = Instant::now();
        for i in 0..calls {
            let id = format!("floor-{i:06}-0123456789abcdef");
            let body = format!("floor push {i:06} {}", "x".repeat(40)).into_bytes();
            let t = Instant::now();
            conn.call_method(
                Some(agent),
                "/bench/floor",
                Some("org.otapush.Push1.Agent"),
                "Deliver",
                &(id, &meta, body),
            )
            .await
            .expect("Deliver answered");
            latencies.push(t.elapsed());
        }
        let run = Run { pushes: calls, deliveries: calls, secs: t0.elapsed().as_secs_f64(), latencies };
        run.print("bus floor: Deliver, no otapushd");
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` from tooling
    }
    if let [_, flag, address, agent, calls] = args.as_slice() {
        if flag == "--bus-floor" {
            return bus_floor_caller(address, agent, calls.parse().unwrap());
        }
    }
    let pushes = env_num("BENCH_PUSHES", 2000) as usize;
    let idle_secs = env_num("IDLE_SECS", 60);
    let bin = daemon_binary();
    println!(
        "cai: daemon {} ({} octets)",
        bin.display(),
        std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0)
    );
    if has_symbol_table(&bin) {
        println!(
            "cai: this daemon has a symbol table: the bench profile's build, not the shipped one; for \
             the shipped daemon copy the release build first and set OTAPUSHD to the copy"
        );
    }
    let bus = PrivateBus::start().expect("dbus-daemon");
    let bus_pid = bus.pid();
    let state = tempfile::Builder::new()
        .prefix("otapush-bench-")
        .tempdir_in("/var/tmp")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let log = state.path().join("otapushd.log");
    let mut cmd = Command::new(&bin);
    if let Ok(us) = std::env::var("FSYNC_DELAY_US") {
        let shim = fsync_shim();
        println!("cai: every fsync/fdatasync of the daemon sleeps {us} µs first ({})", shim.display());
        cmd.env("LD_PRELOAD", shim).env("FSYNC_DELAY_US", us);
    }
    let unit_env = unit_environment();
    println!("cai: daemon environment from systemd/otapushd.service: {unit_env:?}");
    cmd.envs(unit_env);
    let child = cmd
        .args(["--device", "sim", "--bus", bus.address(), "--state-dir"])
        .arg(state.path().join("state"))
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("otapushd starts");
    let daemon = Daemon { child, log };
    let pid = daemon.child.id();

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let conn = zbus::connection::Builder::address(bus.address()).unwrap().build().await.unwrap();
        // No property cache: the daemon may not own its name yet when the proxy is made.
        let manager = ManagerProxy::builder(&conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .unwrap();
        let ready = Instant::now();
        loop {
            match manager.modem_state().await {
                Ok(s) if s == "ready" => break,
                _ if ready.elapsed() > Duration::from_secs(30) => panic!("daemon not ready; log {}", daemon.log.display()),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        println!("cai: daemon ready after {:.0} ms", ready.elapsed().as_secs_f64() * 1e3);

        // Idle: settle, then RSS and a quiet period.
        tokio::time::sleep(Duration::from_secs(3)).await;
        println!("cai: idle RSS {} (VmHWM so far {}), {} threads", mib(status_kb(pid, "VmRSS")), mib(status_kb(pid, "VmHWM")), threads(pid));
        // Idle blocking-pool threads end after tokio's 10 s keep-alive; start once they have.
        tokio::time::sleep(Duration::from_secs(12)).await;
        let before = context_switches(pid);
        tokio::time::sleep(Duration::from_secs(idle_secs)).await;
        let after = context_switches(pid);
        let switches = switches_between(&before, &after);
        println!("cai: threads at the start and end of the quiet period: {} and {}", before.len(), after.len());
        println!(
            "cai: idle wake-ups {:.1}/min ({switches} context switches of all threads in {idle_secs} s, /proc/PID/task/*/status)",
            switches as f64 * 60.0 / idle_secs as f64
        );
        if let Some(s) = tokio::task::spawn_blocking(move || strace_idle(pid, idle_secs)).await.unwrap() {
            println!("cai: idle {s}");
        }

        // 1,000-message burst to one agent: peak RSS.
        let mut a = agents(bus.address(), &conn, &[None]).await;
        let warm: Vec<_> = (0..100).map(|i| pdu("warm", i, "x-wap-application:mms.ua")).collect();
        throughput(&manager, &mut a, warm, 1).await;
        let reset = reset_peak(pid);
        let burst: Vec<_> = (0..1000).map(|i| pdu("burst", i, "x-wap-application:mms.ua")).collect();
        throughput(&manager, &mut a, burst, 1).await.print("burst 1000 -> 1 agent");
        println!(
            "cai: burst peak RSS {} (VmHWM{}), RSS after {}",
            mib(status_kb(pid, "VmHWM")),
            if reset { " reset before the burst" } else { " since start: clear_refs not permitted" },
            mib(status_kb(pid, "VmRSS"))
        );
        // 1,000 queued with no agent, then drained by one.
        drop(a);
        wait_unregistered(&manager).await;
        let reset = reset_peak(pid);
        let queued: Vec<_> = (0..1000).map(|i| pdu("queued", i, "x-wap-application:mms.ua")).collect();
        for p in &queued {
            manager.inject_pdu(p).await.unwrap();
        }
        let t = Instant::now();
        let mut a = agents(bus.address(), &conn, &[None]).await;
        let mut got = 0;
        while got < 1000 {
            match tokio::time::timeout(Duration::from_secs(60), a.delivered.recv()).await {
                Ok(Some(_)) => got += 1,
                _ => break,
            }
        }
        println!(
            "cai: 1000 queued unclaimed then drained by a new agent in {:.3} s ({got} delivered); peak RSS {}{}",
            t.elapsed().as_secs_f64(),
            mib(status_kb(pid, "VmHWM")),
            if reset { "" } else { " (VmHWM since start)" }
        );

        // Throughput and latency, one agent.
        let s: Vec<_> = (0..200).map(|i| pdu("serial1", i, "x-wap-application:mms.ua")).collect();
        serial(&manager, &mut a, s).await.print("serial, 1 agent");
        let s: Vec<_> = (0..200).map(|i| pdu("modem1", i, "x-wap-application:mms.ua")).collect();
        serial_modem(&conn, &mut a, s).await.print("serial through the modem (+CMTI -> Deliver), 1 agent");
        let p: Vec<_> = (0..pushes).map(|i| pdu("one", i, "x-wap-application:mms.ua")).collect();
        let cpu = cpu_snapshot(pid, bus_pid);
        let run = throughput(&manager, &mut a, p, 1).await;
        run.print("1 agent");
        print_cpu("1 agent", &cpu, &cpu_snapshot(pid, bus_pid), &run);
        drop(a);
        wait_unregistered(&manager).await;
        // The same round trip with nothing of otapushd in it (the daemon is idle meanwhile).
        let (floor_conn, floor_name) = floor_agent(bus.address()).await;
        let address = bus.address().to_string();
        let floor = tokio::task::spawn_blocking(move || bus_floor(&address, &floor_name, pushes));
        floor.await.unwrap();
        drop(floor_conn);

        // Ten agents, each push to one of them (by application id).
        let apps: Vec<Option<String>> = (0..10).map(|k| Some(format!("x-otapush-bench:agent{k}"))).collect();
        let mut a = agents(bus.address(), &conn, &apps).await;
        let p: Vec<_> =
            (0..pushes).map(|i| pdu("ten", i, apps[i % 10].as_deref().unwrap_or_default())).collect();
        throughput(&manager, &mut a, p, 1).await.print("10 agents, each push to one");
        drop(a);
        wait_unregistered(&manager).await;

        // Ten agents with empty filters: every push to all ten.
        let mut a = agents(bus.address(), &conn, &[None, None, None, None, None, None, None, None, None, None]).await;
        let p: Vec<_> = (0..pushes / 5).map(|i| pdu("fan", i, "x-wap-application:mms.ua")).collect();
        let cpu = cpu_snapshot(pid, bus_pid);
        let run = throughput(&manager, &mut a, p, 10).await;
        run.print("10 agents, each push to all ten");
        print_cpu("10 agents to all ten", &cpu, &cpu_snapshot(pid, bus_pid), &run);
        let _ = a.conns.len();
        drop(a);
        wait_unregistered(&manager).await;

        // What the daemon does per push: its system calls during 500 pushes to one agent.
        let mut a = agents(bus.address(), &conn, &[None]).await;
        let p: Vec<_> = (0..500).map(|i| pdu("strace", i, "x-wap-application:mms.ua")).collect();
        if let Some((run, calls)) = strace_during(pid, throughput(&manager, &mut a, p, 1)).await {
            run.print("1 agent under strace");
            println!("cai: 500 pushes under strace -f -c: {calls}");
        }
        drop(a);
        println!("cai: peak RSS over the whole run {}", mib(status_kb(pid, "VmHWM")));
    });
    drop(daemon);
}
