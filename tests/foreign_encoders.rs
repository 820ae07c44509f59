//! WAP Push SMS built by software nobody here wrote, decoded by otapush end to end: gammu's
//! `displaysms WAPINDICATOR|MMSINDICATOR` (its dummy phone), libwbxml's `xml2wbxml`, and
//! Kannel's PPG (bearerbox + wapbox with a fake SMSC). Each PDU set goes into a simulated modem
//! on a pty, is read by the real `otapushd`, and must reach a D-Bus agent with the content
//! type, application id and body the tool says it encoded; `otapushctl decode sms` and
//! `decode push` must agree. The tools run in every test and must still make the fixtures in
//! `tests/fixtures/foreign/` (the first line of each is the command; `OTAPUSH_REGEN_FOREIGN=1`
//! rewrites them).

mod foreign_support;

use foreign_support::*;
use otapush_test_support::pdu::{FROM, SCTS_RFC3339};
use std::process::Command;

// ---------------------------------------------------------------------------------------------
// gammu

/// One message as `gammu displaysms` prints it.
struct GammuPart {
    data: Vec<u8>,
    bits: usize,
    udh: Vec<u8>,
    whole: Vec<u8>,
}

fn gammu_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let (k, v) = line.split_once(':')?;
    (k.trim() == name).then(|| v.trim())
}

/// The messages of a `displaysms` output, and its `Number of messages`.
fn gammu_parts(out: &str) -> Vec<GammuPart> {
    let mut parts = Vec::new();
    let mut cur = GammuPart { data: Vec::new(), bits: 0, udh: Vec::new(), whole: Vec::new() };
    let mut count = None;
    for l in out.lines() {
        if let Some(v) = gammu_field(l, "Data PDU") {
            cur.data = unhex(v);
        } else if let Some(v) = gammu_field(l, "Number of bits") {
            cur.bits = v.parse().unwrap();
        } else if let Some(v) = gammu_field(l, "UDH") {
            cur.udh = unhex(v);
        } else if let Some(v) = gammu_field(l, "Whole PDU") {
            cur.whole = unhex(v);
            parts.push(std::mem::replace(
                &mut cur,
                GammuPart { data: Vec::new(), bits: 0, udh: Vec::new(), whole: Vec::new() },
            ));
        } else if let Some(v) = gammu_field(l, "Number of messages") {
            count = Some(v.parse::<usize>().unwrap());
        }
    }
    assert_eq!(count, Some(parts.len()), "gammu output:\n{out}");
    parts
}

/// The output with the concatenation reference (gammu draws it at random, TS 23.040
/// §9.2.3.24.1 IE 00) replaced by `XX` in the `UDH` and `Whole PDU` lines.
fn mask_reference(out: &str) -> String {
    let mut udhs = Vec::new();
    for l in out.lines() {
        if let Some(v) = gammu_field(l, "UDH") {
            let mut h = v.to_string();
            let b = unhex(v);
            let mut i = 1;
            while i + 1 < b.len() {
                let (iei, len) = (b[i], b[i + 1] as usize);
                if iei == 0x00 && len == 3 {
                    h.replace_range((i + 2) * 2..(i + 3) * 2, "XX");
                }
                i += 2 + len;
            }
            udhs.push((v.to_string(), h));
        }
    }
    let mut text = String::new();
    for l in out.lines() {
        let mut l = l.to_string();
        for (from, to) in &udhs {
            l = l.replace(from.as_str(), to);
        }
        text.push_str(&l);
        text.push('\n');
    }
    text
}

/// Runs `gammu -c RC displaysms ARGS` against a dummy phone (a directory), checks its output
/// against the fixture (reference masked) and gives the fixture's output.
fn gammu_displaysms(fixture: &str, args: &[&str]) -> String {
    let gammu = tool("gammu", "gammu");
    let dir = tempfile::tempdir().unwrap();
    let phone = dir.path().join("phone");
    std::fs::create_dir(&phone).unwrap();
    let rc = dir.path().join("gammurc");
    std::fs::write(&rc, format!("[gammu]\ndevice = {}\nmodel = dummy\nconnection = none\n", phone.display()))
        .unwrap();
    let fresh = run(Command::new(gammu)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("-c")
        .arg(&rc)
        .arg("displaysms")
        .args(args));
    let quoted: Vec<String> =
        args.iter().map(|a| if a.contains(' ') { format!("'{a}'") } else { a.to_string() }).collect();
    let command = format!("gammu -c GAMMURC displaysms {}", quoted.join(" "));
    let notes = [
        "GAMMURC: [gammu] device = DIR, model = dummy, connection = none (DIR: an empty directory, the dummy phone)",
        "gammu 1.42 (Debian 12); the 8-bit concatenation reference is random: the test masks it",
    ];
    check_fixture(fixture, &command, &notes, &fresh, mask_reference)
}

/// The UDH rebuilt from `decode sms`'s `udh.elements` (TP-UDHL first).
fn udh_from_json(sms: &serde_json::Value) -> Vec<u8> {
    let mut ies = Vec::new();
    for e in sms["udh"]["elements"].as_array().unwrap() {
        let data = unhex(e["data_hex"].as_str().unwrap());
        ies.push(e["iei"].as_u64().unwrap() as u8);
        ies.push(data.len() as u8);
        ies.extend(data);
    }
    [vec![ies.len() as u8], ies].concat()
}

/// What gammu printed for each message must be what otapush reads from the DELIVER made of
/// it: the same UDH (elements, in order), the same data, 8-bit, gammu's DCS; the ports given;
/// the concatenation element numbering the parts. Gives the WSP PDU (the data joined).
fn check_gammu_parts(parts: &[GammuPart], sms: &[serde_json::Value], (src, dst): (u16, u16)) -> Vec<u8> {
    assert_eq!(sms.len(), parts.len());
    for (i, (p, j)) in parts.iter().zip(sms).enumerate() {
        let dcs = Submit::parse(&p.whole).dcs;
        assert_eq!(j["type"], "deliver", "{j}");
        assert_eq!(j["originator"], FROM);
        assert_eq!(j["timestamp"], SCTS_RFC3339);
        assert_eq!(j["dcs"], dcs, "part {i}");
        assert_eq!(j["encoding"], "8bit");
        assert_eq!(udh_from_json(j), p.udh, "part {i}: UDH");
        assert_eq!(j["data_hex"], hex(&p.data), "part {i}: data");
        assert_eq!(p.bits, 8 * p.data.len(), "gammu's own bit count");
        assert_eq!(j["udh"]["ports"], serde_json::json!({"src": src, "dst": dst, "bits": 16}));
        if parts.len() > 1 {
            assert_eq!(j["udh"]["concat"]["seq"], i + 1);
            assert_eq!(j["udh"]["concat"]["total"], parts.len());
        }
    }
    parts.iter().flat_map(|p| p.data.iter().copied()).collect()
}

/// gammu's `WAPINDICATOR` (`displaysms`, nothing sent) asserts: one SMS-SUBMIT, 8-bit class 1
/// (TP-DCS F5), UDH = ports 9200 → 2948 plus an 8-bit concatenation element of one part, its
/// data a WSP Push of a Service Indication (`application/vnd.wap.sic`, WBXML SI 1.0) to the URL
/// and title given, 352 bits. otapush asserts: each field it reads agrees, the push reaches the
/// agent as `application/vnd.wap.sic` for the default application `x-wap-application:wml.ua`
/// (gammu sends no X-Wap-Application-Id), with the WBXML body gammu encoded, from the SUBMIT's
/// destination, and `decode push` reports the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gammu_wapindicator_si_end_to_end() {
    let out =
        gammu_displaysms("gammu-wapindicator.txt", &["WAPINDICATOR", FROM, "http://example.org/si", "Hello"]);
    let parts = gammu_parts(&out);
    assert_eq!(parts.len(), 1);
    let pdus: Vec<Vec<u8>> = parts.iter().map(|p| submit_to_deliver(&p.whole)).collect();
    let r = receive(&pdus).await;
    let wsp = check_gammu_parts(&parts, &r.sms, (9200, 2948));
    assert_eq!(r.kind, "wsp_push");
    assert_eq!(r.content_type, "application/vnd.wap.sic");
    assert_eq!(r.app_id.as_deref(), Some("x-wap-application:wml.ua"));
    assert_eq!((r.originator.as_str(), r.sent_time.as_str()), (FROM, SCTS_RFC3339));
    assert_eq!(r.body, wsp_body(&wsp));
    assert_eq!(&r.body[..4], [0x02, 0x05, 0x6A, 0x00], "WBXML 1.2, SI 1.0, UTF-8");
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.contains("http://example.org/si") && text.contains("Hello"), "{text}");
    assert_eq!(r.push["content_type"], "application/vnd.wap.sic");
    assert_eq!(r.push["body_hex"], hex(&r.body));
    assert_eq!(r.push["segments"], 1);
}

/// gammu's `MMSINDICATOR` asserts: an MMS notification too long for one SMS becomes two
/// SMS-SUBMITs (8-bit class 1, ports 9200 → 2948, one 8-bit concatenation reference, parts 1
/// and 2), the data a WSP Push with content type `application/vnd.wap.mms-message` as text and
/// X-Wap-Application-Id 4 (`mms.ua`), and an m-notification-ind body carrying the URL, title and
/// sender given. otapush asserts: the parts reassemble, the push reaches the agent with that
/// content type, application `x-wap-application:mms.ua`, and the body gammu encoded (the
/// location and subject in it), and `decode push` agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gammu_mmsindicator_two_segments_end_to_end() {
    let url = "http://mmsc.example.net/mms/retrieve?id=T-0001";
    let out = gammu_displaysms(
        "gammu-mmsindicator.txt",
        &["MMSINDICATOR", FROM, url, "Holiday photos", "+15550199"],
    );
    let parts = gammu_parts(&out);
    assert_eq!(parts.len(), 2);
    // Sent in reverse: reassembly goes by the concatenation element, not arrival order.
    let pdus: Vec<Vec<u8>> = parts.iter().rev().map(|p| submit_to_deliver(&p.whole)).collect();
    let r = receive(&pdus).await;
    let mut sms = r.sms.clone();
    sms.reverse();
    let wsp = check_gammu_parts(&parts, &sms, (9200, 2948));
    assert_eq!(r.kind, "wsp_push");
    assert_eq!(r.content_type, "application/vnd.wap.mms-message");
    assert_eq!(r.app_id.as_deref(), Some("x-wap-application:mms.ua"));
    assert_eq!(r.body, wsp_body(&wsp));
    assert_eq!(&r.body[..2], [0x8C, 0x82], "X-Mms-Message-Type: m-notification-ind");
    let text = String::from_utf8_lossy(&r.body);
    for s in [url, "Holiday photos", "+15550199/TYPE=PLMN"] {
        assert!(text.contains(s), "{s:?} not in {text:?}");
    }
    assert_eq!(r.push["content_type"], "application/vnd.wap.mms-message");
    assert_eq!(r.push["app_id"], "x-wap-application:mms.ua");
    assert_eq!(r.push["body_hex"], hex(&r.body));
    assert_eq!(r.push["segments"], 2);
}

/// gammu's `BOOKMARK` asserts: a browser bookmark (Nokia/Ericsson OTA settings) is one 8-bit
/// SMS to port 49999 from port 0 (no concatenation element), its data a WSP Push of
/// `application/x-wap-prov.browser-bookmarks; charset=utf-8`. otapush asserts what
/// docs/wap-push.md says of other ports: to an agent whose filter names port 49999 it is a
/// `wsp_push` with gammu's content type, its parameters and the WSP body; `decode push`, which
/// knows no registrations, reports a `datagram` of gammu's whole WSP PDU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gammu_bookmark_on_a_registered_port_49999_is_a_wsp_push() {
    let out = gammu_displaysms(
        "gammu-bookmark.txt",
        &["BOOKMARK", FROM, "tests/fixtures/foreign/bookmark.backup", "1"],
    );
    let parts = gammu_parts(&out);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].udh, [0x06, 0x05, 0x04, 0xC3, 0x4F, 0x00, 0x00], "ports 0 → 49999");
    let port = [("Port", zbus::zvariant::Value::U16(49999))];
    let r = receive_with(&[submit_to_deliver(&parts[0].whole)], &port).await;
    check_gammu_parts(&parts, &r.sms, (0, 49999));
    assert_eq!(r.kind, "wsp_push");
    assert_eq!(r.port, Some(49999));
    assert_eq!(r.content_type, "application/x-wap-prov.browser-bookmarks");
    assert_eq!(r.app_id.as_deref(), Some("x-wap-application:wml.ua"), "none sent: the WAP default");
    assert_eq!(r.body, wsp_body(&parts[0].data));
    assert_eq!(r.push["kind"], "datagram");
    assert_eq!(r.push["ports"]["dst"], 49999);
    assert_eq!(r.push["payload_hex"], hex(&parts[0].data));
    // `otapushctl decode wsp` reads the datagram the same way.
    let wsp =
        run(Command::new(env!("CARGO_BIN_EXE_otapushctl")).args(["decode", "wsp", &hex(&parts[0].data)]));
    let wsp: serde_json::Value = serde_json::from_str(&wsp).unwrap();
    assert_eq!(wsp["content_type"], "application/x-wap-prov.browser-bookmarks");
    assert_eq!(wsp["content_type_params"]["charset"], "utf-8");
    assert_eq!(wsp["body_hex"], hex(&r.body));
}

// ---------------------------------------------------------------------------------------------
// libwbxml

/// `xml2wbxml -o OUT XML` of a fixture XML file; the WBXML, checked against the fixture (hex).
/// Also checks libwbxml's own claim that `wbxml2xml` reads every attribute back.
fn xml2wbxml(xml: &str, fixture: &str, attributes: &[&str]) -> Vec<u8> {
    let compile = tool("xml2wbxml", "libwbxml2-utils");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wbxml");
    let input = fixture_path(xml);
    run(Command::new(compile).arg("-o").arg(&out).arg(&input));
    let wbxml = std::fs::read(&out).unwrap();
    let back = run(Command::new(tool("wbxml2xml", "libwbxml2-utils")).args(["-o", "-"]).arg(&out));
    for a in attributes {
        assert!(back.contains(a), "wbxml2xml lost {a:?}:\n{back}");
    }
    let command = format!("xml2wbxml -o OUT tests/fixtures/foreign/{xml}");
    let notes = ["libwbxml 0.11.8 (Debian 12); below: OUT in hex"];
    let kept = check_fixture(fixture, &command, &notes, &hex(&wbxml), str::to_string);
    unhex(&kept)
}

/// libwbxml asserts: `xml2wbxml` compiles the SI document (WAP-167) to WBXML 1.3 with the SI
/// 1.0 public id and UTF-8, and `wbxml2xml` reads every attribute back. otapush asserts: that
/// body, wrapped in a WSP Push by otapush's encoder (`application/vnd.wap.sic`, no application
/// id) and split into SMS-DELIVERs, reaches the agent octet for octet with the default
/// application `x-wap-application:wml.ua`, and `decode push` agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml2wbxml_si_end_to_end() {
    let si = xml2wbxml(
        "si.xml",
        "xml2wbxml-si.txt",
        &[
            r#"href="http://www.example.org/news/today""#,
            r#"si-id="news-0001""#,
            r#"created="2026-11-21T09:30:00Z""#,
            r#"action="signal-high""#,
            "Storm warning for Tuesday",
        ],
    );
    assert_eq!(&si[..4], [0x03, 0x05, 0x6A, 0x00], "WBXML 1.3, SI 1.0, UTF-8, empty string table");
    let pdus = otapush_test_support::pdu::push_pdus(None, "application/vnd.wap.sic", &si, 0x51);
    let r = receive(&pdus).await;
    assert_eq!(r.kind, "wsp_push");
    assert_eq!(r.content_type, "application/vnd.wap.sic");
    assert_eq!(r.app_id.as_deref(), Some("x-wap-application:wml.ua"));
    assert_eq!(r.body, si);
    assert_eq!(r.push["content_type"], "application/vnd.wap.sic");
    assert_eq!(r.push["app_id"], serde_json::Value::Null, "no X-Wap-Application-Id was sent");
    assert_eq!(r.push["body_hex"], hex(&si));
}

/// libwbxml asserts: the SL document (WAP-168) compiles to WBXML 1.3 with the SL 1.0 public id,
/// `https://www.` and `.org/` as attribute-value tokens, and reads back. otapush asserts: pushed
/// as `application/vnd.wap.slc` to `x-wap-application:wml.ua` (sent as the code 0x02), the
/// agent gets that content type, that application and the body octet for octet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml2wbxml_sl_end_to_end() {
    let sl = xml2wbxml(
        "sl.xml",
        "xml2wbxml-sl.txt",
        &[r#"href="https://www.example.org/app/update.jad""#, r#"action="execute-high""#],
    );
    assert_eq!(&sl[..4], [0x03, 0x06, 0x6A, 0x00], "WBXML 1.3, SL 1.0, UTF-8, empty string table");
    assert_eq!(&sl[4..7], [0x85, 0x0C, 0x03], "<sl href=\"https://www.\" + inline string");
    let pdus = otapush_test_support::pdu::push_pdus(
        Some("x-wap-application:wml.ua"),
        "application/vnd.wap.slc",
        &sl,
        0x52,
    );
    let r = receive(&pdus).await;
    assert_eq!(r.kind, "wsp_push");
    assert_eq!(r.content_type, "application/vnd.wap.slc");
    assert_eq!(r.app_id.as_deref(), Some("x-wap-application:wml.ua"));
    assert_eq!(r.body, sl);
    assert_eq!(r.push["app_id"], "x-wap-application:wml.ua");
    assert_eq!(r.push["body_hex"], hex(&sl));
}

// ---------------------------------------------------------------------------------------------
// Kannel

/// The SMS Kannel's PPG makes of a push of `content` (an XML document of `content_type`, for
/// `app_id` when given), as its fake SMSC lines (all parts of a concatenated message), checked
/// against the fixture.
fn kannel_push(
    kannel: &mut Kannel,
    fixture: &str,
    content_type: &str,
    app_id: Option<&str>,
    xml: &str,
) -> Vec<FakeSms> {
    let content = std::fs::read_to_string(fixture_path(xml)).unwrap();
    let (status, pap) = kannel.push(FROM, content_type, app_id, &content, "otapush-foreign-test");
    assert_eq!(status, 202, "PPG answer: {pap}\n{}", kannel.logs());
    assert!(pap.contains("code =\"1001\"") || pap.contains("code=\"1001\""), "PAP: {pap}");
    let mut lines = vec![kannel.next_sms_line()];
    let total = concat_total(&parse_fake_line(&lines[0]).udh).unwrap_or(1);
    while lines.len() < total {
        lines.push(kannel.next_sms_line());
    }
    let command = format!(
        "PAP push of tests/fixtures/foreign/{xml} as {content_type}{app} to WAPPUSH={FROM}/TYPE=PLMN, \
         User-Agent: otapush-foreign-test; the lines bearerbox writes to its fake SMSC",
        app = app_id.map(|a| format!(", X-Wap-Application-Id: {a}")).unwrap_or_default()
    );
    let notes = [
        "Kannel 1.4.5 (Debian 12) bearerbox + wapbox, a [ppg] with trusted-pi and global-sender = 15550177",
        "(see Kannel::start in tests/foreign_support); fields: sender receiver udh UDH data DATA, octets URL-encoded",
    ];
    let kept = check_fixture(fixture, &command, &notes, &lines.join("\n"), str::to_string);
    kept.lines().map(parse_fake_line).collect()
}

/// The total of a concatenation element (TS 23.040 §9.2.3.24.1) in a UDH (TP-UDHL first).
fn concat_total(udh: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i + 1 < udh.len() {
        let (iei, len) = (udh[i], udh[i + 1] as usize);
        if iei == 0x00 && len == 3 {
            return Some(udh[i + 3] as usize);
        }
        i += 2 + len;
    }
    None
}

/// One push through Kannel's PPG.
struct KannelCase {
    fixture: &'static str,
    xml_type: &'static str,
    xml: &'static str,
    app_id: Option<&'static str>,
    /// What otapush reports when `app_id` is given.
    expect_app_id: &'static str,
    compiled_type: &'static str,
    parts: usize,
    /// The fixture of the same document compiled by libwbxml.
    libwbxml: Option<&'static str>,
}

const SI: KannelCase = KannelCase {
    fixture: "",
    xml_type: "text/vnd.wap.si",
    xml: "si.xml",
    app_id: None,
    expect_app_id: "",
    compiled_type: "application/vnd.wap.sic",
    parts: 1,
    libwbxml: None,
};

const SL: KannelCase =
    KannelCase { xml_type: "text/vnd.wap.sl", xml: "sl.xml", compiled_type: "application/vnd.wap.slc", ..SI };

/// Kannel asserts: its PPG accepts a PAP push (HTTP 202, PAP 1001), compiles the SI document to
/// WBXML itself (`application/vnd.wap.sic`, the same tokens as libwbxml's except the WBXML
/// version octet, 1.2 for 1.3), wraps it in a WSP Push (X-Wap-Application-Id absent, so
/// `wml.ua`, plus Content-Length, Encoding-Version and the pusher's User-Agent) and hands
/// bearerbox 8-bit SMS with ports 9200 → 2948 for the client address: one for a short push,
/// three with an 8-bit concatenation element for a long one. Each SMS is made an SMS-DELIVER by
/// hand: the line carries no TP-DCS, so 0x04 (8-bit data, no class, TS 23.038 §4), from the
/// PPG's sender. otapush asserts: the push reaches the agent with that content type,
/// application, originator and body (the long one sent last part first), its WSP headers read
/// as Kannel wrote them, and `decode sms`/`decode push` agree. The same for an SL
/// (`application/vnd.wap.slc`), and for pushes with an X-Wap-Application-Id: Kannel sends a
/// registered URN as its code, any other as code 0 (its claim, lossy), which otapush reports
/// as `x-wap-application:*`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kannel_ppg_si_and_sl_end_to_end() {
    let mut kannel = Kannel::start("15550177");
    let wml = "x-wap-application:wml.ua";
    let cases = [
        KannelCase { fixture: "kannel-si.txt", xml: "si.xml", libwbxml: Some("xml2wbxml-si.txt"), ..SI },
        KannelCase { fixture: "kannel-sl.txt", xml: "sl.xml", libwbxml: Some("xml2wbxml-sl.txt"), ..SL },
        KannelCase { fixture: "kannel-si-long.txt", xml: "si-long.xml", parts: 3, ..SI },
        // Kannel sends a registered URN as its OMNA code (push.sia = 1) ...
        KannelCase {
            fixture: "kannel-si-push-sia.txt",
            app_id: Some("x-wap-application:push.sia"),
            expect_app_id: "x-wap-application:push.sia",
            libwbxml: Some("xml2wbxml-si.txt"),
            ..SI
        },
        // ... and any other as code 0, which otapush reads as `x-wap-application:*`.
        KannelCase {
            fixture: "kannel-si-unregistered-app.txt",
            app_id: Some("x-otapush:test"),
            expect_app_id: "x-wap-application:*",
            libwbxml: Some("xml2wbxml-si.txt"),
            ..SI
        },
    ];
    for c in cases {
        let KannelCase { fixture, xml_type, xml, app_id, compiled_type, parts: n, libwbxml, .. } = c;
        let expect_app_id = if app_id.is_none() { wml } else { c.expect_app_id };
        let parts = kannel_push(&mut kannel, fixture, xml_type, app_id, xml);
        assert_eq!(parts.len(), n, "{fixture}: parts");
        let wsp: Vec<u8> = parts.iter().flat_map(|p| p.data.iter().copied()).collect();
        let mut pdus = Vec::new();
        for (i, sms) in parts.iter().enumerate() {
            assert_eq!(sms.receiver, FROM);
            assert_eq!(sms.sender, parts[0].sender);
            let mut udh = vec![0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]; // ports 9200 → 2948
            if n > 1 {
                udh[0] = 0x0B;
                udh.extend_from_slice(&[0x00, 0x03, parts[0].udh[9], n as u8, i as u8 + 1]);
            }
            assert_eq!(sms.udh, udh, "{fixture}: part {}", i + 1);
            pdus.push(deliver_8bit(&sms.sender, 0x04, &sms.udh, &sms.data));
        }
        pdus.reverse();
        let r = receive(&pdus).await;
        assert_eq!(r.kind, "wsp_push", "{fixture}");
        assert_eq!(r.content_type, compiled_type);
        assert_eq!(r.app_id.as_deref(), Some(expect_app_id), "{fixture}");
        assert_eq!(r.push["app_id"], app_id.map_or(serde_json::Value::Null, |_| expect_app_id.into()));
        assert_eq!(r.originator, parts[0].sender);
        assert_eq!(r.body, wsp_body(&wsp));
        assert_eq!(r.push["body_hex"], hex(&r.body));
        assert_eq!(r.push["content_type"], compiled_type);
        assert_eq!(r.push["segments"], n);
        let headers = &r.push["headers"];
        assert_eq!(headers["User-Agent"], "otapush-foreign-test", "{}", r.push);
        assert_eq!(headers["Content-Length"], r.body.len().to_string(), "{}", r.push);
        assert_eq!(headers["Encoding-Version"], "1.3", "{}", r.push);
        for (j, sms) in r.sms.iter().rev().zip(&parts) {
            assert_eq!(
                (j["encoding"].as_str(), j["data_hex"].as_str()),
                (Some("8bit"), Some(hex(&sms.data).as_str()))
            );
        }
        assert_eq!(r.body[0], 0x02, "{fixture}: Kannel writes WBXML 1.2");
        if n > 1 {
            let text = String::from_utf8_lossy(&r.body);
            assert!(text.contains("km/h along the coast, wind gusts"), "{text}");
        }
        let Some(libwbxml) = libwbxml else { continue };
        // Two WBXML compilers written apart agree: on every octet of the SI but the version;
        // on the SL's href, which each splits into other tokens.
        let other = unhex(&read_fixture(libwbxml).output);
        if compiled_type == "application/vnd.wap.sic" {
            assert_eq!(r.body[1..], other[1..], "{fixture}: Kannel's and libwbxml's tokens differ");
        } else {
            assert_eq!(r.body[4..6], [0x85, 0x0B], "Kannel: <sl href=\"https://\"");
            assert_eq!(other[4..6], [0x85, 0x0C], "libwbxml: <sl href=\"https://www.\"");
            let href = "https://www.example.org/app/update.jad";
            assert_eq!((sl_href(&r.body).as_str(), sl_href(&other).as_str()), (href, href));
        }
    }
}

/// The href of a WBXML SL document (WAP-168 §9.3): its attribute-start token, then inline
/// strings and attribute-value tokens up to the next attribute or END.
fn sl_href(wbxml: &[u8]) -> String {
    assert_eq!(
        (wbxml[1], wbxml[3], wbxml[4]),
        (0x06, 0x00, 0x85),
        "SL 1.0, no string table, <sl> with attributes"
    );
    let mut href = match wbxml[5] {
        0x08 => "",
        0x09 => "http://",
        0x0A => "http://www.",
        0x0B => "https://",
        0x0C => "https://www.",
        t => panic!("not an href token: {t:#04x}"),
    }
    .to_string();
    let mut i = 6;
    loop {
        match wbxml[i] {
            0x03 => {
                let end = i + 1 + wbxml[i + 1..].iter().position(|&b| b == 0).unwrap();
                href.push_str(std::str::from_utf8(&wbxml[i + 1..end]).unwrap());
                i = end + 1;
            }
            t @ 0x85..=0x88 => {
                href.push_str([".com/", ".edu/", ".net/", ".org/"][(t - 0x85) as usize]);
                i += 1;
            }
            _ => return href,
        }
    }
}
