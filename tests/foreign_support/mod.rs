//! Foreign encoders as test sources: running the Debian tools (installed by
//! `scripts/install-deps`), their fixtures under `tests/fixtures/foreign/`, the small conversions
//! from what a tool prints to the SMS-DELIVER PDUs a modem reads, and the end-to-end run of one
//! PDU set through the real `otapushd` on a pty modem to a D-Bus agent.
#![allow(dead_code)]

use crate::e2e_support::*;
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
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
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
        assert_eq!(ud.len(), 1 + ud[0] as usize, "8-bit TP-UDL is the octet count (the tools send 8-bit data)");
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
    let rig = Rig::new().await;
    let modem = PtyModem::open();
    let daemon = rig.daemon(&modem.device(), 25, "").await;
    let mut agent = Agent::new(rig.address(), "foreign").await;
    agent.register(&[]).await;
    for p in pdus {
        modem.sim.deliver(p);
    }
    let d = agent.next().await;
    let got = |k: &str| d.meta_str(k).map(str::to_string);
    let r = Received {
        content_type: got("ContentType").unwrap_or_default(),
        app_id: got("ApplicationId"),
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
