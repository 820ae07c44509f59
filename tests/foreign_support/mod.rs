//! Foreign encoders as test sources: running the Debian tools (installed by
//! `scripts/install-deps`), their fixtures under `tests/fixtures/foreign/`, the small conversions
//! from what a tool prints to the SMS-DELIVER PDUs a modem reads, and the end-to-end run of one
//! PDU set through the real `otapushd` on a pty modem to a D-Bus agent.
#![allow(dead_code)]

use otapush_test_support::{agents::*, daemon::*, eventually::*, modem::PtyModem};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `OTAPUSH_REGEN_FOREIGN=1` rewrites the fixtures with what the tools make today.
pub fn regen() -> bool {
    std::env::var("OTAPUSH_REGEN_FOREIGN").is_ok_and(|v| v == "1")
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/foreign").join(name)
}

/// The absolute path of a tool, or a failure naming the package and `scripts/install-deps`.
pub fn tool(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is missing: install Debian's {package} with scripts/install-deps");
}

/// A fixture: `# $ COMMAND` on its first line, more `#` comment lines, then the tool's output.
pub struct Fixture {
    pub command: String,
    pub output: String,
}

pub fn read_fixture(name: &str) -> Fixture {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let command = text.lines().next().and_then(|l| l.strip_prefix("# $ ")).expect("`# $ COMMAND` first");
    let output: String =
        text.lines().filter(|l| !l.starts_with('#')).flat_map(|l| [l, "\n"]).collect::<String>();
    Fixture { command: command.to_string(), output }
}

/// Compares what the tool printed today (`fresh`) with the fixture, both passed through
/// `normalize` (which blanks what the tool draws at random), and gives the fixture's output; or,
/// under [`regen`], rewrites the fixture. `notes` are the comment lines after the command.
pub fn check_fixture(
    name: &str,
    command: &str,
    notes: &[&str],
    fresh: &str,
    normalize: impl Fn(&str) -> String,
) -> String {
    let fresh: String = fresh.lines().flat_map(|l| [l, "\n"]).collect();
    if regen() {
        let mut text = format!("# $ {command}\n");
        for n in notes {
            text.push_str(&format!("# {n}\n"));
        }
        for l in fresh.lines() {
            assert!(!l.starts_with('#'), "tool output line starts with #: {l}");
        }
        text.push_str(&fresh);
        std::fs::write(fixture_path(name), text).unwrap();
        return fresh;
    }
    let f = read_fixture(name);
    assert_eq!(f.command, command, "{name}: the fixture was made by another command");
    assert_eq!(
        normalize(&f.output),
        normalize(&fresh),
        "{name}: the tool's output changed; rerun with OTAPUSH_REGEN_FOREIGN=1 and review the diff"
    );
    f.output
}

/// Runs a command, asserting success; stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub fn unhex(s: &str) -> Vec<u8> {
    otapush::hex::decode(s.trim()).unwrap_or_else(|e| panic!("hex {s:?}: {e}"))
}

pub fn hex(b: &[u8]) -> String {
    otapush::hex::encode_lower(b)
}

// ---------------------------------------------------------------------------------------------
// SMS-SUBMIT → SMS-DELIVER

/// [`scts`] (2026-11-21 09:30:00 −03:00) as TP-SCTS semi-octets (TS 23.040 §9.2.3.11): the zone
/// is 12 quarter hours, sign in bit 3.
pub const SCTS_OCTETS: [u8; 7] = [0x62, 0x11, 0x12, 0x90, 0x03, 0x00, 0x29];

/// What an SMSC would hand the recipient for a SUBMIT (TS 23.040 §9.2.2.2 → §9.2.2.1): no SMSC
/// address (`00`); first octet TP-MTI 00 (DELIVER) with TP-MMS set (no more messages) and the
/// SUBMIT's TP-UDHI; TP-OA = the SUBMIT's TP-DA octets unchanged (the tools are told to send to
/// the test's originator); TP-PID and TP-DCS unchanged; TP-MR and TP-VP dropped; TP-SCTS =
/// [`SCTS_OCTETS`]; TP-UDL and TP-UD unchanged. `submit` starts with its SMSC field.
pub fn submit_to_deliver(submit: &[u8]) -> Vec<u8> {
    let f = Submit::parse(submit);
    let mut out = vec![0x00, 0x04 | (f.first_octet & 0x40)];
    out.extend_from_slice(f.da);
    out.extend_from_slice(&[f.pid, f.dcs]);
    out.extend_from_slice(&SCTS_OCTETS);
    out.extend_from_slice(f.ud);
    out
}

/// The fields of an SMS-SUBMIT (TS 23.040 §9.2.2.2) that [`submit_to_deliver`] keeps.
pub struct Submit<'a> {
    pub first_octet: u8,
    /// TP-DA with its length and type octets.
    pub da: &'a [u8],
    pub pid: u8,
    pub dcs: u8,
    /// TP-UDL and TP-UD.
    pub ud: &'a [u8],
}

impl<'a> Submit<'a> {
    /// `submit` starts with its SMSC field.
    pub fn parse(submit: &'a [u8]) -> Submit<'a> {
        let smsc_len = submit[0] as usize;
        let tpdu = &submit[1 + smsc_len..];
        let first_octet = tpdu[0];
        assert_eq!(first_octet & 0x03, 0x01, "TP-MTI {:#04x} is not SMS-SUBMIT", first_octet & 3);
        let vp_len = match (first_octet >> 3) & 0x03 {
            0 => 0,
            2 => 1,
            _ => 7,
        };
        let da_digits = tpdu[2] as usize;
        let da = &tpdu[2..2 + 2 + da_digits.div_ceil(2)];
        let rest = &tpdu[2 + da.len()..];
        let (pid, dcs) = (rest[0], rest[1]);
        let ud = &rest[2 + vp_len..];
        assert_eq!(
            ud.len(),
            1 + ud[0] as usize,
            "8-bit TP-UDL is the octet count (the tools send 8-bit data)"
        );
        Submit { first_octet, da, pid, dcs, ud }
    }
}

/// TP-OA for a number as a foreign tool prints it (`+` international, else unknown type).
pub fn address_octets(number: &str) -> Vec<u8> {
    let (ton, digits) = match number.strip_prefix('+') {
        Some(d) => (0x91, d),
        None => (0x81, number),
    };
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{number:?}: digits only");
    let mut out = vec![digits.len() as u8, ton];
    for pair in digits.as_bytes().chunks(2) {
        let lo = pair[0] - b'0';
        let hi = pair.get(1).map_or(0x0F, |d| d - b'0');
        out.push(hi << 4 | lo);
    }
    out
}

/// An SMS-DELIVER with 8-bit data: `udh` includes its TP-UDHL octet (empty for none).
pub fn deliver_8bit(originator: &str, dcs: u8, udh: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x00, if udh.is_empty() { 0x04 } else { 0x44 }];
    out.extend_from_slice(&address_octets(originator));
    out.extend_from_slice(&[0x00, dcs]);
    out.extend_from_slice(&SCTS_OCTETS);
    let udl = udh.len() + data.len();
    assert!(udl <= 140, "{udl} octets do not fit one SMS");
    out.push(udl as u8);
    out.extend_from_slice(udh);
    out.extend_from_slice(data);
    out
}

// ---------------------------------------------------------------------------------------------
// The receive path

/// What otapush made of one PDU set: the delivery to an agent, `decode sms` of each PDU and the
/// one `decode push` record.
pub struct Received {
    pub content_type: String,
    pub app_id: Option<String>,
    /// Meta `Port`: the WDP destination port.
    pub port: Option<u16>,
    pub kind: String,
    pub originator: String,
    pub sent_time: String,
    pub body: Vec<u8>,
    pub sms: Vec<serde_json::Value>,
    pub push: serde_json::Value,
}

fn ctl(args: &[String]) -> Vec<serde_json::Value> {
    let out = run(Command::new(env!("CARGO_BIN_EXE_otapushctl")).args(args));
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The PDUs (SMSC field first) go into a simulated modem on a pty, read by the real `otapushd`
/// with `+CMGR`, to an agent registered with an empty filter; the same PDUs go through
/// `otapushctl decode sms` and `decode push`.
pub async fn receive(pdus: &[Vec<u8>]) -> Received {
    receive_with(pdus, &[]).await
}

/// [`receive`] to an agent registered with `filter`.
pub async fn receive_with(pdus: &[Vec<u8>], filter: &[(&str, zbus::zvariant::Value<'_>)]) -> Received {
    let rig = Rig::new().await;
    let modem = PtyModem::open();
    let daemon = rig.daemon(&modem.device(), 25, "").await;
    let mut agent = Agent::new(rig.address(), "foreign").await;
    agent.register(filter).await;
    for p in pdus {
        modem.sim.deliver(p);
    }
    let d = agent.next().await;
    let got = |k: &str| d.meta_str(k).map(str::to_string);
    let r = Received {
        content_type: got("ContentType").unwrap_or_default(),
        app_id: got("ApplicationId"),
        port: d.meta.get("Port").and_then(|v| u16::try_from(v).ok()),
        kind: got("Kind").unwrap_or_default(),
        originator: got("Originator").unwrap_or_default(),
        sent_time: got("SentTime").unwrap_or_default(),
        body: d.body.clone(),
        sms: Vec::new(),
        push: serde_json::Value::Null,
    };
    d.ack();
    agent.quiet(std::time::Duration::from_millis(300)).await;
    drop(daemon);
    let hexes: Vec<String> = pdus.iter().map(|p| hex(p)).collect();
    let sms = ctl(&[["decode".into(), "sms".into()].as_slice(), &hexes].concat());
    let mut push = ctl(&[["decode".into(), "push".into()].as_slice(), &hexes].concat());
    assert_eq!(push.len(), 1, "one message: {push:?}");
    Received { sms, push: push.remove(0), ..r }
}

/// The body of a WSP Push PDU read by hand (WAP-230 §8.2.4.1): TID, PDU type, HeadersLen
/// (uintvar), ContentType and headers, data.
pub fn wsp_body(pdu: &[u8]) -> &[u8] {
    let (mut len, mut i) = (0usize, 2);
    loop {
        let b = pdu[i];
        len = len << 7 | (b & 0x7F) as usize;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    &pdu[i + len..]
}

// ---------------------------------------------------------------------------------------------
// Kannel

/// A free loopback TCP port (bound, then released for the tool to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Decodes Kannel's URL encoding (`%XX`, `+` for a space).
pub fn url_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("%XX"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Kannel's bearerbox (with a `fake` SMSC, whose client the test is) and wapbox (its PPG),
/// on loopback ports of their own; both killed by pid when dropped.
pub struct Kannel {
    pub dir: tempfile::TempDir,
    pub ppg_port: u16,
    children: Vec<std::process::Child>,
    /// The test's connection to the fake SMSC: bearerbox writes each SMS it sends as a line.
    smsc: std::io::BufReader<std::net::TcpStream>,
}

fn wait_port(port: u16, child: &mut std::process::Child, log: &Path) -> std::net::TcpStream {
    let deadline = std::time::Instant::now() + GUARD;
    loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            return s;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{status}:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        assert!(std::time::Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

impl Kannel {
    pub fn start(global_sender: &str) -> Kannel {
        let bearerbox = tool("bearerbox", "kannel");
        let wapbox = tool("wapbox", "kannel");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let [admin, smsbox, wapbox_port, fake, ppg] = [(); 5].map(|_| free_port());
        let conf = format!(
            "group = core\nadmin-port = {admin}\nadmin-interface = 127.0.0.1\nadmin-password = x\n\
             smsbox-port = {smsbox}\nwapbox-port = {wapbox_port}\nbox-allow-ip = 127.0.0.1\n\
             log-file = \"{d}/bearerbox.log\"\nlog-level = 0\nstore-type = spool\nstore-location = \"{d}/store\"\n\n\
             group = smsc\nsmsc = fake\nsmsc-id = fake\nport = {fake}\nconnect-allow-ip = 127.0.0.1\n\n\
             group = smsbox\nbearerbox-host = 127.0.0.1\n\n\
             group = wapbox\nbearerbox-host = 127.0.0.1\nlog-file = \"{d}/wapbox.log\"\nlog-level = 0\n\n\
             group = ppg\nppg-url = /wappush\nppg-port = {ppg}\nconcurrent-pushes = 4\nusers = 4\n\
             ppg-allow-ip = 127.0.0.1\ntrusted-pi = true\nglobal-sender = {global_sender}\n"
        );
        std::fs::create_dir(dir.path().join("store")).unwrap();
        let conf_path = dir.path().join("kannel.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let spawn = |bin: &Path, log: &str| {
            let out = std::fs::File::create(dir.path().join(log)).unwrap();
            Command::new(bin)
                .arg(&conf_path)
                .stdin(std::process::Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
        };
        let mut bb = spawn(&bearerbox, "bearerbox.out");
        let smsc = wait_port(fake, &mut bb, &dir.path().join("bearerbox.out"));
        smsc.set_read_timeout(Some(GUARD)).unwrap();
        let mut wb = spawn(&wapbox, "wapbox.out");
        drop(wait_port(ppg, &mut wb, &dir.path().join("wapbox.out")));
        Kannel { dir, ppg_port: ppg, children: vec![bb, wb], smsc: std::io::BufReader::new(smsc) }
    }

    /// POSTs a PAP push (WAP-247 PAP 2.0 control entity + the content, multipart/related) to
    /// the PPG, the content with an X-Wap-Application-Id when given; gives the HTTP status and
    /// the PAP response.
    pub fn push(
        &self,
        address: &str,
        content_type: &str,
        app_id: Option<&str>,
        content: &str,
        user_agent: &str,
    ) -> (u16, String) {
        use std::io::{Read, Write};
        let boundary = "otapush-foreign-boundary";
        let pap = format!(
            "<?xml version=\"1.0\"?>\r\n<!DOCTYPE pap PUBLIC \"-//WAPFORUM//DTD PAP 2.0//EN\" \
             \"http://www.wapforum.org/DTD/pap_2.0.dtd\">\r\n<pap><push-message push-id=\"foreign-1@pi.example.org\">\
             <address address-value=\"WAPPUSH={address}/TYPE=PLMN@ppg.example.org\"/>\
             <quality-of-service delivery-method=\"unconfirmed\" network=\"GSM\" bearer=\"SMS\"/>\
             </push-message></pap>"
        );
        let body = format!(
            "--{boundary}\r\nContent-Type: application/xml\r\n\r\n{pap}\r\n--{boundary}\r\n\
             Content-Type: {content_type}\r\n{app}\r\n{content}\r\n--{boundary}--\r\n",
            app = app_id.map(|a| format!("X-Wap-Application-Id: {a}\r\n")).unwrap_or_default()
        );
        let req = format!(
            "POST /wappush HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {user_agent}\r\n\
             Content-Type: multipart/related; boundary={boundary}; type=\"application/xml\"\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n{body}",
            port = self.ppg_port,
            len = body.len()
        );
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.ppg_port)).unwrap();
        s.set_read_timeout(Some(GUARD)).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
    }

    /// The next line bearerbox writes to the fake SMSC (one SMS), without its newline.
    pub fn next_sms_line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        let n = self.smsc.read_line(&mut line).unwrap_or_else(|e| panic!("fake SMSC: {e}\n{}", self.logs()));
        assert!(n > 0, "bearerbox closed the fake SMSC:\n{}", self.logs());
        line.trim_end_matches('\n').to_string()
    }

    pub fn logs(&self) -> String {
        ["bearerbox.out", "wapbox.out"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Kannel {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One SMS as Kannel's fake SMSC line carries it: `SENDER RECEIVER udh UDH data DATA`, the
/// numbers as they are, the octets URL-encoded.
pub struct FakeSms {
    pub sender: String,
    pub receiver: String,
    /// With TP-UDHL first.
    pub udh: Vec<u8>,
    pub data: Vec<u8>,
}

pub fn parse_fake_line(line: &str) -> FakeSms {
    let t: Vec<&str> = line.trim_end().split(' ').collect();
    assert!(t.len() == 6 && t[2] == "udh" && t[4] == "data", "unexpected fake SMSC line {line:?}");
    FakeSms {
        sender: t[0].to_string(),
        receiver: t[1].to_string(),
        udh: url_decode(t[3]),
        data: url_decode(t[5]),
    }
}
