//! Activation (docs/activation.md): a push for a persistent registration whose agent is away
//! starts the named D-Bus service (real bus activation from a `.service` file on a private
//! bus) or systemd unit (a fake `org.freedesktop.systemd1` in the test), rate-limited, and is
//! delivered once the started agent registers. The activated agent is this test binary again,
//! in [`activated_agent_role`].

use otapush::cai::client::{serve_agent, AgentEvent, ManagerProxy};
use otapush::cai::{start, CaiHandle, ServiceHooks, Settings};
use otapush_test_support::bus::Bus;
use otapush_test_support::cai::{client, config, error_name, open_store, text, Client};
use otapush_test_support::eventually::{eventually, GUARD};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use zbus::zvariant::{OwnedValue, Value};

const AGENT_ENV: &str = "OTAPUSH_ACTIVATED_AGENT";
/// The registration `Name` every test uses.
const NAME: &str = "activated";
const SERVICE: &str = "org.otapush.test.Activated";
const BROKEN: &str = "org.otapush.test.Broken";
const UNIT: &str = "activated-agent.service";

/// The activated agent: registers with `Persistent`, [`NAME`] and the `Activate` or `Unit`
/// key of its environment, owns its bus name, and appends each delivered id to its log file
/// before acknowledging. Does nothing when not started as an agent.
#[test]
fn activated_agent_role() {
    let Ok(key) = std::env::var(AGENT_ENV) else { return };
    let value = std::env::var("OTAPUSH_ACTIVATED_VALUE").unwrap();
    let log = PathBuf::from(std::env::var("OTAPUSH_ACTIVATED_LOG").unwrap());
    // dbus-daemon tells an activated service its bus; the fake systemd passes it on.
    let address = std::env::var("DBUS_STARTER_ADDRESS").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let conn = otapush_test_support::bus::connect(&address).await;
        let mut inbox = serve_agent(&conn, "/test/activated", 16).await.unwrap();
        let manager = ManagerProxy::new(&conn).await.unwrap();
        let filter: HashMap<&str, Value<'_>> = [
            ("Persistent", Value::Bool(true)),
            ("Name", Value::from(NAME)),
            (key.as_str(), Value::from(value.as_str())),
        ]
        .into_iter()
        .collect();
        let registered = manager.register(filter, &"/test/activated".try_into().unwrap()).await;
        if std::env::var_os("OTAPUSH_ACTIVATED_ONCE").is_some() {
            match registered {
                Ok(_) => append(&log, "registered"),
                Err(e) => append(&log, &format!("error {}", error_name(&e))),
            }
            return;
        }
        registered.unwrap();
        if key == "Activate" {
            conn.request_name(value.as_str()).await.unwrap();
        }
        append(&log, &format!("pid {}", std::process::id()));
        // Bounded: an agent left behind by a failed test ends by itself.
        let end = tokio::time::Instant::now() + GUARD;
        while let Ok(Some(ev)) = tokio::time::timeout_at(end, inbox.recv()).await {
            if let AgentEvent::Deliver(d) = ev {
                append(&log, &format!("delivered {}", d.id));
                d.ack();
            }
        }
    });
}

fn append(path: &Path, line: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    writeln!(f, "{line}").unwrap();
}

fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

/// The command line that runs [`activated_agent_role`] with `key` = `value`, logging to `log`.
fn agent_command(key: &str, value: &str, log: &Path) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    [
        "/usr/bin/env".to_string(),
        format!("{AGENT_ENV}={key}"),
        format!("OTAPUSH_ACTIVATED_VALUE={value}"),
        format!("OTAPUSH_ACTIVATED_LOG={}", log.display()),
        exe.display().to_string(),
        "activated_agent_role".into(),
        "--exact".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
        "--quiet".into(),
    ]
    .into()
}

/// A `.service` Exec line for `argv`, its output appended to `log` (dbus-daemon's own stdout
/// is a pipe nobody reads after its address).
fn exec_line(argv: &[String], log: &Path) -> String {
    format!("/bin/sh -c 'exec \"$@\" >>{}.out 2>&1' sh {}", log.display(), argv.join(" "))
}

/// A session-like private bus whose service directory holds `services` (name, Exec line).
fn bus_with_services(dir: &Path, services: &[(&str, String)]) -> Bus {
    let services_dir = dir.join("services");
    std::fs::create_dir_all(&services_dir).unwrap();
    for (name, exec) in services {
        let file = format!("[D-BUS Service]\nName={name}\nExec={exec}\n");
        std::fs::write(services_dir.join(format!("{name}.service")), file).unwrap();
    }
    Bus::start_with(
        "session",
        &format!(
            r#"<servicedir>{}</servicedir>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>"#,
            services_dir.display()
        ),
    )
}

/// The service with activation windows of `window_ms` doubling to `max_ms`; the hooks'
/// receiving ends are kept (nothing here injects).
struct Service {
    handle: CaiHandle,
    _hooks: (mpsc::Receiver<otapush::modem::ReceivedPdu>, mpsc::Receiver<bool>),
}

async fn start_service(bus: &Bus, store_dir: &Path, window_ms: u64, max_ms: u64) -> Service {
    let cfg = config(store_dir);
    let store = open_store(&cfg);
    let mut settings: Settings = cfg.cai_settings();
    settings.registry.activation_window_ms = window_ms;
    settings.registry.activation_window_max_ms = max_ms;
    let (inject, injected) = mpsc::channel(1);
    let (bearer, bearers) = mpsc::channel(1);
    let handle = start(&bus.address, store, settings, ServiceHooks { inject, bearer }).await.unwrap();
    Service { handle, _hooks: (injected, bearers) }
}

/// Registers [`NAME`] with `key` = `value` from a client that then leaves the bus: the
/// registration stays, its agent away.
async fn register_and_leave(bus: &Bus, observer: &Client, key: &str, value: &str) {
    {
        let c = client(bus).await;
        let _events = serve_agent(&c.conn, "/test/setup", 4).await.unwrap();
        let filter: HashMap<&str, Value<'_>> =
            [("Persistent", Value::Bool(true)), ("Name", Value::from(NAME)), (key, Value::from(value))]
                .into_iter()
                .collect();
        c.manager.register(filter, &"/test/setup".try_into().unwrap()).await.unwrap();
    }
    eventually("the setup client to be gone", || async {
        registration(observer).await.is_some_and(|r| !flag(&r, "Connected"))
    })
    .await;
}

/// The [`NAME`] registration as `ListRegistrations` shows it (the observer is root: all).
async fn registration(c: &Client) -> Option<HashMap<String, OwnedValue>> {
    let list = c.manager.list_registrations().await.unwrap();
    list.into_iter().map(|(_, d)| d).find(|d| *d["Name"] == Value::from(NAME))
}

fn num(r: &HashMap<String, OwnedValue>, key: &str) -> u32 {
    r.get(key).unwrap_or_else(|| panic!("no {key} in {r:?}")).downcast_ref().unwrap()
}

fn flag(r: &HashMap<String, OwnedValue>, key: &str) -> bool {
    r[key].downcast_ref().unwrap()
}

fn string(r: &HashMap<String, OwnedValue>, key: &str) -> String {
    r.get(key).unwrap_or_else(|| panic!("no {key} in {r:?}")).downcast_ref::<String>().unwrap()
}

/// Waits until the agent logged delivering `id`; gives its pid.
async fn delivered(log: &Path, id: &str) -> i32 {
    let want = format!("delivered {id}");
    eventually(&format!("the started agent to deliver {id}"), || {
        std::future::ready(log_lines(log).contains(&want))
    })
    .await;
    let lines = log_lines(log);
    let pid = lines.iter().find_map(|l| l.strip_prefix("pid ")).unwrap();
    pid.parse().unwrap()
}

/// Waits until the start call's answer was taken in (`ActivationState` `started`).
async fn started_state(observer: &Client) {
    eventually("the start call's answer", || async {
        registration(observer).await.is_some_and(|r| string(&r, "ActivationState") == "started")
    })
    .await;
}

fn end(pid: i32) {
    // SAFETY: kill has no memory preconditions; the pid is the agent this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
}

#[tokio::test]
async fn a_push_for_an_absent_agent_activates_its_service_and_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("agent.log");
    let bus = bus_with_services(
        dir.path(),
        &[(SERVICE, exec_line(&agent_command("Activate", SERVICE, &log), &log))],
    );
    let svc = start_service(&bus, &dir.path().join("store"), 30_000, 600_000).await;
    let observer = client(&bus).await;
    register_and_leave(&bus, &observer, "Activate", SERVICE).await;

    svc.handle.submit(&[text("m1", "wake up")], &[]).await.unwrap();
    let pid = delivered(&log, "m1").await;
    // The bus answers StartServiceByName once the name is owned: maybe after the delivery.
    started_state(&observer).await;
    let r = registration(&observer).await.unwrap();
    assert_eq!(string(&r, "Activate"), SERVICE);
    assert!(flag(&r, "Connected"));
    assert_eq!(num(&r, "Queued"), 0);
    assert_eq!((num(&r, "ActivationAttempts"), num(&r, "ActivationErrors")), (1, 0));
    assert_eq!(string(&r, "ActivationState"), "started");

    // Connected now: the next push goes straight to it, no start.
    svc.handle.submit(&[text("m2", "again")], &[]).await.unwrap();
    delivered(&log, "m2").await;
    assert_eq!(num(&registration(&observer).await.unwrap(), "ActivationAttempts"), 1);
    end(pid);
}

/// The most starts possible within `elapsed` of the first, with windows from `window_ms`
/// doubling to `max_ms`.
fn max_starts(elapsed: Duration, window_ms: u64, max_ms: u64) -> u32 {
    let (mut t, mut w, mut n) = (0u64, window_ms, 1);
    while t + w <= elapsed.as_millis() as u64 {
        t += w;
        w = (w * 2).min(max_ms);
        n += 1;
    }
    n
}

#[tokio::test]
async fn a_service_that_fails_to_start_is_retried_rate_limited_and_its_messages_stay() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let bus = bus_with_services(dir.path(), &[(BROKEN, "/bin/false".to_string())]);
    let svc = start_service(&bus, &store, 30_000, 600_000).await;
    let observer = client(&bus).await;
    register_and_leave(&bus, &observer, "Activate", BROKEN).await;

    svc.handle.submit(&[text("f1", "1")], &[]).await.unwrap();
    eventually("the failed start to be counted", || async {
        registration(&observer).await.is_some_and(|r| num(&r, "ActivationErrors") >= 1)
    })
    .await;
    let r = registration(&observer).await.unwrap();
    assert_eq!((num(&r, "ActivationAttempts"), string(&r, "ActivationState").as_str()), (1, "failed"));
    assert!(string(&r, "ActivationError").contains("org.freedesktop.DBus.Error.Spawn"), "{r:?}");
    // Within the 30 s window more pushes start nothing (each commit decides at once).
    for id in ["f2", "f3", "f4", "f5"] {
        svc.handle.submit(&[text(id, id)], &[]).await.unwrap();
    }
    let r = registration(&observer).await.unwrap();
    assert_eq!((num(&r, "ActivationAttempts"), num(&r, "Queued")), (1, 5));
    svc.handle.shutdown().await;

    // Restarted with short windows: the queued messages want their agent, retries follow.
    let (window, max) = (100, 400);
    let started = Instant::now();
    let svc = start_service(&bus, &store, window, max).await;
    eventually("four failed starts", || async {
        registration(&observer).await.is_some_and(|r| num(&r, "ActivationErrors") >= 4)
    })
    .await;
    let r = registration(&observer).await.unwrap();
    let attempts = num(&r, "ActivationAttempts");
    assert!(
        attempts <= max_starts(started.elapsed(), window, max),
        "{attempts} starts in {:?}",
        started.elapsed()
    );
    assert_eq!(num(&r, "Queued"), 5, "never lost");

    // The agent registers by itself: it gets every queued message, the retries stop.
    let c = client(&bus).await;
    let mut events = serve_agent(&c.conn, "/test/late", 16).await.unwrap();
    let filter: HashMap<&str, Value<'_>> =
        [("Persistent", Value::Bool(true)), ("Name", Value::from(NAME)), ("Activate", Value::from(BROKEN))]
            .into_iter()
            .collect();
    c.manager.register(filter, &"/test/late".try_into().unwrap()).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 5 {
        match tokio::time::timeout(GUARD, events.recv()).await.unwrap().unwrap() {
            AgentEvent::Deliver(d) => {
                got.push(d.id.clone());
                d.ack();
            }
            AgentEvent::Released => {}
        }
    }
    assert_eq!(got, ["f1", "f2", "f3", "f4", "f5"]);
    // `ack()` only hands the answer to the agent's handler, which sends it a moment later.
    eventually("the five acknowledged", || async {
        registration(&observer).await.is_some_and(|r| num(&r, "Queued") == 0)
    })
    .await;
    drop(svc);
}

/// A fake systemd manager: records `StartUnit` calls and starts the agent itself.
struct FakeSystemd {
    calls: Arc<Mutex<Vec<(String, String)>>>,
    agent: Vec<String>,
    address: String,
    started: Arc<Mutex<Vec<std::process::Child>>>,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl FakeSystemd {
    async fn start_unit(&self, name: String, mode: String) -> zbus::zvariant::OwnedObjectPath {
        self.calls.lock().unwrap().push((name, mode));
        let child = std::process::Command::new(&self.agent[0])
            .args(&self.agent[1..])
            .env("DBUS_STARTER_ADDRESS", &self.address)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        self.started.lock().unwrap().push(child);
        "/org/freedesktop/systemd1/job/1".try_into().unwrap()
    }
}

#[tokio::test]
async fn a_push_for_an_absent_agent_starts_its_systemd_unit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("agent.log");
    let bus = bus_with_services(dir.path(), &[]);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::new(Mutex::new(Vec::new()));
    let systemd = FakeSystemd {
        calls: calls.clone(),
        agent: agent_command("Unit", UNIT, &log),
        address: bus.address.clone(),
        started: started.clone(),
    };
    let systemd_conn = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.systemd1")
        .unwrap()
        .serve_at("/org/freedesktop/systemd1", systemd)
        .unwrap()
        .build()
        .await
        .unwrap();
    let svc = start_service(&bus, &dir.path().join("store"), 30_000, 600_000).await;
    let observer = client(&bus).await;
    register_and_leave(&bus, &observer, "Unit", UNIT).await;

    svc.handle.submit(&[text("u1", "wake up")], &[]).await.unwrap();
    delivered(&log, "u1").await;
    started_state(&observer).await;
    assert_eq!(*calls.lock().unwrap(), [(UNIT.to_string(), "replace".to_string())]);
    let r = registration(&observer).await.unwrap();
    assert_eq!(string(&r, "Unit"), UNIT);
    assert_eq!((num(&r, "ActivationAttempts"), string(&r, "ActivationState").as_str()), (1, "started"));
    for mut child in started.lock().unwrap().drain(..) {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(systemd_conn);
}

#[tokio::test]
async fn only_privileged_callers_or_the_daemons_uid_may_name_a_unit() {
    const NOBODY: u32 = 65534;
    assert_eq!(
        otapush_test_support::roles::my_uid(),
        0,
        "this test runs a client as another uid: needs root"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bus = bus_with_services(dir.path(), &[]);
    let _svc = start_service(&bus, &dir.path().join("store"), 30_000, 600_000).await;
    // The uid nobody registers once with each key, as a client process of its own.
    // A child process the test's runtime awaits (the service runs on the same thread).
    let register_as_nobody = |key: &'static str, value: &'static str| {
        let log = dir.path().join(format!("{key}.log"));
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
        let argv = agent_command(key, value, &log);
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env("OTAPUSH_ACTIVATED_ONCE", "1")
            .env("DBUS_STARTER_ADDRESS", &bus.address)
            .stdout(std::process::Stdio::null())
            .uid(NOBODY)
            .gid(NOBODY)
            .kill_on_drop(true);
        async move {
            let status = tokio::time::timeout(GUARD, cmd.status()).await.expect("the client to exit");
            assert!(status.unwrap().success());
            log_lines(&log)
        }
    };
    assert_eq!(register_as_nobody("Unit", UNIT).await, ["error org.otapush.Push1.Error.AccessDenied"]);
    assert_eq!(register_as_nobody("Activate", SERVICE).await, ["registered"]);
}
