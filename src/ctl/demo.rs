//! `otapushctl demo`: the real `otapushd` with its simulated modem on a private bus, demo client
//! applications, and a short story of pushes arriving.

use super::private_bus::PrivateBus;
use crate::cai::client::{serve_agent, AgentEvent, Delivery, ManagerProxy};
use crate::ctl::encode::{encode_push, PushRequest};
use crate::sms::Timestamp;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::mpsc;
use zbus::zvariant::{ObjectPath, Value};

const WAIT: Duration = Duration::from_secs(15);

/// The simulated network: hands PDUs to the daemon's simulated modem (which stores them and
/// signals `+CMTI`, so the real AT engine reads them), or injects them when the daemon has no
/// simulator.
#[zbus::proxy(
    interface = "org.otapush.Push1.Simulator",
    default_service = "org.otapush.Push1",
    default_path = "/org/otapush/Push1/Simulator",
    gen_blocking = false
)]
trait Simulator {
    fn deliver(&self, pdu: &[u8]) -> zbus::Result<()>;
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM first: the daemon releases its agents and closes the store cleanly.
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn say(text: &str) {
    println!("{text}");
}

fn step(n: u32, text: &str) {
    println!("\n{n}. {text}");
}

async fn connect(address: &str) -> Result<zbus::Connection, String> {
    let builder =
        zbus::connection::Builder::address(address).map_err(|e| format!("bus address {address}: {e}"))?;
    builder.build().await.map_err(|e| format!("cannot connect to {address}: {e}"))
}

/// A demo client application: its own bus connection, an agent object and a registration.
struct App {
    name: &'static str,
    conn: zbus::Connection,
    inbox: mpsc::Receiver<AgentEvent>,
}

impl App {
    async fn start(
        address: &str,
        name: &'static str,
        filter: HashMap<&str, Value<'_>>,
    ) -> Result<App, String> {
        let conn = connect(address).await?;
        let path = format!("/org/example/{}", name.replace('-', "_"));
        let inbox = serve_agent(&conn, &path, 16).await.map_err(|e| e.to_string())?;
        let manager = ManagerProxy::new(&conn).await.map_err(|e| e.to_string())?;
        let agent = ObjectPath::try_from(path.as_str()).map_err(|e| e.to_string())?;
        let reg = manager.register(filter, &agent).await.map_err(|e| format!("Register: {e}"))?;
        say(&format!("   {name:<10} registered as {}", reg.as_str()));
        Ok(App { name, conn, inbox })
    }

    async fn next(&mut self) -> Result<Delivery, String> {
        loop {
            match tokio::time::timeout(WAIT, self.inbox.recv()).await {
                Ok(Some(AgentEvent::Deliver(d))) => return Ok(d),
                Ok(Some(AgentEvent::Released)) => continue,
                Ok(None) => return Err(format!("{}: agent closed", self.name)),
                Err(_) => return Err(format!("{}: nothing delivered within {WAIT:?}", self.name)),
            }
        }
    }

    /// Receives one message, prints it and acknowledges it.
    async fn receive(&mut self) -> Result<String, String> {
        let d = self.next().await?;
        let kind = d.meta_str("ContentType").unwrap_or("?").to_string();
        let from = d.meta_str("Originator").unwrap_or("?").to_string();
        let body = if kind.starts_with("text/") {
            format!("{:?}", String::from_utf8_lossy(&d.body))
        } else {
            format!("{} octets", d.body.len())
        };
        say(&format!(
            "   {:<10} ← Deliver id {} from {from}: {kind}, {body}",
            self.name,
            &d.id[..12.min(d.id.len())]
        ));
        let id = d.id.clone();
        d.ack();
        Ok(id)
    }

    /// Nothing arrives within `quiet`.
    async fn expect_nothing(&mut self, quiet: Duration) -> Result<(), String> {
        match tokio::time::timeout(quiet, self.inbox.recv()).await {
            Ok(Some(AgentEvent::Deliver(d))) => Err(format!("{}: unexpected delivery {}", self.name, d.id)),
            _ => Ok(()),
        }
    }
}

/// A browser-style EventSource client (WHATWG HTML §9.2): an HTTP/1.1 GET of
/// `/v1/events/<application id>` on the daemon's Unix socket, reading `text/event-stream`
/// (docs/eventsource.md). Its events come out of `events`.
struct WebPage {
    events: mpsc::Receiver<crate::sse::Event>,
}

impl WebPage {
    async fn open(socket: &std::path::Path, app_id: &str) -> Result<WebPage, String> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let mut io = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| format!("EventSource {}: {e}", socket.display()))?;
        let req = format!(
            "GET /v1/events/{app_id} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
        );
        io.write_all(req.as_bytes()).await.map_err(|e| format!("EventSource: {e}"))?;
        let mut r = tokio::io::BufReader::new(io);
        let (mut status, mut chunked, mut line) = (String::new(), false, String::new());
        r.read_line(&mut status).await.map_err(|e| format!("EventSource: {e}"))?;
        if !status.starts_with("HTTP/1.1 200") {
            return Err(format!("EventSource: {}", status.trim_end()));
        }
        loop {
            line.clear();
            r.read_line(&mut line).await.map_err(|e| format!("EventSource: {e}"))?;
            if line.trim_end().is_empty() {
                break;
            }
            chunked |= line.to_ascii_lowercase().starts_with("transfer-encoding: chunked");
        }
        let (tx, events) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut parser = crate::sse::Parser::new(crate::sse::Limits::WAP_PUSH);
            while let Ok(Some(data)) = read_body_part(&mut r, chunked).await {
                let mut out = Vec::new();
                parser.feed(&data, &mut |o| {
                    if let crate::sse::Output::Event(e) = o {
                        out.push(e)
                    }
                });
                for e in out {
                    if tx.send(e).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(WebPage { events })
    }

    async fn next(&mut self) -> Result<crate::sse::Event, String> {
        match tokio::time::timeout(WAIT, self.events.recv()).await {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err("web page: the event stream ended".into()),
            Err(_) => Err(format!("web page: no event within {WAIT:?}")),
        }
    }
}

/// The next piece of a response body: one chunk (RFC 9112 §7.1) or what a read gave; `None`
/// at its end.
async fn read_body_part(
    r: &mut tokio::io::BufReader<tokio::net::UnixStream>,
    chunked: bool,
) -> std::io::Result<Option<Vec<u8>>> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    if !chunked {
        let mut b = vec![0; 4096];
        let n = r.read(&mut b).await?;
        b.truncate(n);
        return Ok((n > 0).then_some(b));
    }
    let mut line = String::new();
    r.read_line(&mut line).await?;
    let size = line.trim_end().split(';').next().unwrap_or("");
    let size = usize::from_str_radix(size, 16).map_err(|_| std::io::ErrorKind::InvalidData)?;
    if size == 0 || size > 1 << 20 {
        return Ok(None);
    }
    let mut b = vec![0; size + 2];
    r.read_exact(&mut b).await?;
    b.truncate(size);
    Ok(Some(b))
}

fn filter<'a>(pairs: &[(&'a str, Value<'a>)]) -> HashMap<&'a str, Value<'a>> {
    pairs.iter().cloned().collect()
}

fn demo_time() -> Timestamp {
    // 2026-11-21 09:30:00 at UTC-03:00 (negative zone), as a Brazilian network would stamp it.
    Timestamp {
        year: 2026,
        month: 11,
        day: 21,
        hour: 9,
        minute: 30,
        second: 0,
        tz_quarters: -12,
        nonbcd: false,
    }
}

/// An MMS m-notification-ind (OMA-MMS-ENC §6.2), binary-encoded: from `+15550123`, class
/// personal, 19,200 octets, expiring in three days.
pub fn mms_notification(transaction: &str, subject: Option<&str>, content_location: &str) -> Vec<u8> {
    let mut b = vec![0x8C, 0x82]; // X-Mms-Message-Type: m-notification-ind
    b.push(0x98); // X-Mms-Transaction-ID
    b.extend_from_slice(transaction.as_bytes());
    b.push(0);
    b.extend_from_slice(&[0x8D, 0x92]); // X-Mms-MMS-Version: 1.2
    let from = b"+15550123/TYPE=PLMN";
    b.extend_from_slice(&[0x89, (from.len() + 2) as u8, 0x80]); // From: address-present-token
    b.extend_from_slice(from);
    b.push(0);
    if let Some(subject) = subject {
        b.push(0x96); // Subject
        b.extend_from_slice(subject.as_bytes());
        b.push(0);
    }
    b.extend_from_slice(&[0x8A, 0x80]); // X-Mms-Message-Class: personal
    b.extend_from_slice(&[0x8E, 0x02, 0x4B, 0x00]); // X-Mms-Message-Size: 19200
    b.extend_from_slice(&[0x88, 0x05, 0x81, 0x03, 0x03, 0xF4, 0x80]); // X-Mms-Expiry: +3 days
    b.push(0x83); // X-Mms-Content-Location
    b.extend_from_slice(content_location.as_bytes());
    b.push(0);
    b
}

/// A Service Indication (WAP-167), WBXML: href, and the text shown to the user.
fn service_indication() -> Vec<u8> {
    let mut b = vec![0x02, 0x05, 0x6A, 0x00]; // WBXML 1.2, SI 1.0, UTF-8, no string table
    b.extend_from_slice(&[0x45, 0xC6, 0x0C, 0x03]); // <si><indication href="http://" + inline string
    b.extend_from_slice(b"news.example.org/today");
    b.extend_from_slice(&[0x00, 0x01, 0x03]); // end of attributes, inline string content
    b.extend_from_slice(b"Your morning digest is ready");
    b.extend_from_slice(&[0x00, 0x01, 0x01]); // </indication></si>
    b
}

fn pdus(app_id: &str, content_type: &str, body: Vec<u8>, reference: u16) -> Result<Vec<Vec<u8>>, String> {
    encode_push(&PushRequest {
        app_id: Some(app_id.to_string()),
        content_type: content_type.to_string(),
        body,
        from: "+15550100".into(),
        reference,
        scts: Some(demo_time()),
        ..Default::default()
    })
}

async fn network_sends(sim: &SimulatorProxy<'_>, pdus: &[Vec<u8>]) -> Result<(), String> {
    for p in pdus {
        sim.deliver(p).await.map_err(|e| format!("simulator: {e}"))?;
    }
    Ok(())
}

async fn wait_for_daemon(conn: &zbus::Connection, daemon: &mut Daemon) -> Result<(), String> {
    let dbus = zbus::fdo::DBusProxy::new(conn).await.map_err(|e| e.to_string())?;
    let name = zbus::names::BusName::try_from("org.otapush.Push1").map_err(|e| e.to_string())?;
    for _ in 0..150 {
        if dbus.name_has_owner(name.clone()).await.unwrap_or(false) {
            return Ok(());
        }
        if let Ok(Some(status)) = daemon.child.try_wait() {
            return Err(format!("otapushd exited ({status}); see {}", daemon.log.display()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("otapushd did not take org.otapush.Push1; see {}", daemon.log.display()))
}

async fn wait_for_modem(manager: &ManagerProxy<'_>) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..150 {
        last = manager.modem_state().await.map_err(|e| e.to_string())?;
        if last == "ready" {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("the simulated modem did not become ready (state {last:?})"))
}

fn find_daemon(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let beside = me.with_file_name("otapushd");
    if beside.exists() {
        return Ok(beside);
    }
    Err(format!(
        "otapushd not found beside {}; build it (cargo build --release) or pass --daemon PATH",
        me.display()
    ))
}

/// Plays the demo. With `bus` the demo uses that bus; otherwise it starts a private one.
pub async fn run(bus: Option<String>, daemon: Option<PathBuf>) -> Result<(), String> {
    let exe = find_daemon(daemon)?;
    say("otapush demo: a handset receiving pushes over SMS, end to end.");
    let private = match bus {
        Some(_) => None,
        None => Some(PrivateBus::start().map_err(|e| e.to_string())?),
    };
    let address = match (&bus, &private) {
        (Some(b), _) => b.clone(),
        (None, Some(p)) => p.address().to_string(),
        (None, None) => return Err("no bus".into()),
    };
    let state = std::env::temp_dir().join(format!("otapush-demo-{}", std::process::id()));
    std::fs::create_dir_all(&state).map_err(|e| format!("{}: {e}", state.display()))?;
    let log = state.join("otapushd.log");
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;

    step(1, "Start the daemon with the simulated modem on a private D-Bus.");
    say(&format!("   bus:        {address}"));
    say(&format!("   state dir:  {}", state.display()));
    say(&format!("   daemon log: {}", log.display()));
    // The local EventSource endpoint on a socket in the state dir (docs/eventsource.md).
    let socket = state.join("events.sock");
    let config = state.join("otapushd.toml");
    let text = if cfg!(feature = "eventsource") {
        format!("[eventsource]\nsocket = {:?}\n", socket.display().to_string())
    } else {
        String::new()
    };
    std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
    let child = Command::new(&exe)
        .args(["--device", "sim", "--bus", &address, "--state-dir"])
        .arg(&state)
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let mut daemon = Daemon { child, log };
    let conn = connect(&address).await?;
    wait_for_daemon(&conn, &mut daemon).await?;
    let manager = ManagerProxy::new(&conn).await.map_err(|e| e.to_string())?;
    let modem = wait_for_modem(&manager).await?;
    say(&format!("   otapushd owns org.otapush.Push1; modem state: {modem} (the real AT engine ran ATE0, +CPIN?, +CMGF=0, +CNMI …)"));
    let sim = SimulatorProxy::new(&conn).await.map_err(|e| e.to_string())?;

    step(2, "Three client applications register, each for what it handles; a web page subscribes too.");
    let mms_filter = || {
        filter(&[
            ("ApplicationId", Value::from("x-wap-application:mms.ua")),
            ("Persistent", Value::from(true)),
            ("Name", Value::from("demo-mms")),
        ])
    };
    let mut mms = App::start(&address, "mms-agent", mms_filter()).await?;
    let mut browser =
        App::start(&address, "browser", filter(&[("ContentType", Value::from("application/vnd.wap.sic"))]))
            .await?;
    let mut ticker = App::start(
        &address,
        "ticker",
        filter(&[("ApplicationId", Value::from("x-oma-application:sse.ticker"))]),
    )
    .await?;
    let mut page = if cfg!(feature = "eventsource") {
        let page = WebPage::open(&socket, "x-oma-application:sse.ticker").await?;
        say(&format!(
            "   web page   new EventSource(\"/v1/events/x-oma-application:sse.ticker\") on {}",
            socket.display()
        ));
        Some(page)
    } else {
        None
    };

    step(3, "An MMS notification arrives as a WAP Push in two concatenated SMS segments.");
    let mms_pdus = pdus(
        "x-wap-application:mms.ua",
        "application/vnd.wap.mms-message",
        mms_notification(
            "T20261121-0001",
            Some("Holiday photos from Lisbon"),
            "http://mmsc.example.net/mms/retrieve?id=T20261121-0001-photos",
        ),
        0x42,
    )?;
    say(&format!("   network    → {} SMS PDUs (8-bit, ports 9200→2948, reference 0x42); the modem stores each and signals +CMTI", mms_pdus.len()));
    network_sends(&sim, &mms_pdus).await?;
    mms.receive().await?;
    say("   (otapushd read each PDU with +CMGR, made it durable, deleted it with +CMGD, reassembled the segments and parsed the WSP push)");

    step(4, "A Service Indication (SI) for the browser.");
    let si_pdus = pdus("x-wap-application:wml.ua", "application/vnd.wap.sic", service_indication(), 0x43)?;
    network_sends(&sim, &si_pdus).await?;
    browser.receive().await?;

    step(
        5,
        "An event stream carried by WAP Push (the data bearer is down, so the server falls back to SMS).",
    );
    let events = "id: 101\nevent: quote\ndata: EUR/USD 1.0842\n\nid: 102\nevent: quote\ndata: EUR/USD 1.0845\n\nid: 103\nevent: news\ndata: ECB holds rates\n\n";
    let ev_pdus =
        pdus("x-oma-application:sse.ticker", "text/event-stream", events.as_bytes().to_vec(), 0x44)?;
    network_sends(&sim, &ev_pdus).await?;
    for _ in 0..3 {
        let d = ticker.next().await?;
        say(&format!(
            "   ticker     ← event {} ({}): {}",
            d.meta_str("EventId").unwrap_or(""),
            d.meta_str("EventType").unwrap_or(""),
            String::from_utf8_lossy(&d.body)
        ));
        d.ack();
    }
    if let Some(page) = &mut page {
        for _ in 0..3 {
            let e = page.next().await?;
            say(&format!(
                "   web page   ← EventSource id {}… event {}: {}",
                &e.id[..12.min(e.id.len())],
                e.event_type,
                e.data
            ));
        }
        say("   (the same events as text/event-stream: `id:` is the message id, the same over SMS and HTTP)");
    }

    step(6, "The network sends the Service Indication again (same originator, time stamp and payload).");
    network_sends(&sim, &si_pdus).await?;
    browser.expect_nothing(Duration::from_secs(2)).await?;
    say("   browser    (nothing: otapush derived the same message id and suppressed the duplicate)");

    step(7, "The MMS agent crashes; a second MMS notification arrives while it is gone.");
    drop(mms.conn);
    drop(mms.inbox);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = pdus(
        "x-wap-application:mms.ua",
        "application/vnd.wap.mms-message",
        mms_notification(
            "T20261121-0002",
            Some("Birthday video"),
            "http://mmsc.example.net/mms/retrieve?id=T20261121-0002-photos",
        ),
        0x45,
    )?;
    network_sends(&sim, &second).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let regs = manager.list_registrations().await.map_err(|e| e.to_string())?;
    for (path, props) in &regs {
        let get = |k: &str| match props.get(k).map(|v| &**v) {
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::U32(n)) => n.to_string(),
            Some(Value::Str(s)) => s.to_string(),
            Some(other) => format!("{other:?}"),
            None => String::new(),
        };
        if get("Name") == "demo-mms" {
            say(&format!(
                "   {}: Connected={} Queued={} (kept on disk, persistent registration)",
                path.as_str(),
                get("Connected"),
                get("Queued")
            ));
        }
    }

    step(8, "The MMS agent restarts and registers again under the same name: the queued message follows.");
    let mut mms = App::start(&address, "mms-agent", mms_filter()).await?;
    mms.receive().await?;

    println!("\nDone. Every push reached its application once; nothing was lost while the agent was away.");
    println!("Try it yourself: `otapushctl encode push --help`, `otapushctl decode push …`, and the README.");
    drop(browser);
    drop(ticker);
    drop(daemon);
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}
