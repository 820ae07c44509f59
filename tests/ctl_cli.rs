//! `otapushctl decode` and `encode` as a script uses them: JSON lines, exit status, stdin.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `otapushctl ARGS` with `stdin` written to it.
fn run(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otapushctl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ctl(args: &[&str], stdin: &str) -> (i32, Vec<serde_json::Value>, String) {
    let out = run(args, stdin.as_bytes());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json =
        stdout.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.code().unwrap_or(-1), json, stdout)
}

// The classic PDU-mode example: SMSC +27381000015, OA 27838890001 (TON unknown), GSM 7-bit
// "hellohello", SCTS 99-03-29 15:16:59 zone +8 quarters.
const HELLO: &str = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";

#[test]
fn decode_sms_prints_one_object_per_pdu_and_fails_on_bad_input() {
    let (code, json, _) = ctl(&["decode", "sms", HELLO], "");
    assert_eq!(code, 0);
    assert_eq!(json[0]["text"], "hellohello");
    assert_eq!(json[0]["timestamp"], "1999-03-29T15:16:59+02:00");
    assert_eq!(json[0]["smsc"], "+27381000015");

    let (code, json, _) = ctl(&["decode", "sms", "-"], &format!("{HELLO}\n\n0011\nzz\n"));
    assert_eq!(code, 1, "one bad PDU makes the exit status 1");
    assert_eq!(json.len(), 3);
    assert_eq!(json[0]["type"], "deliver");
    assert!(json[1]["error"].as_str().unwrap().contains("TP-MTI"), "{}", json[1]);
    assert!(json[2]["error"].as_str().unwrap().contains("hex"), "{}", json[2]);
}

#[test]
fn encode_push_then_decode_push_round_trips_through_reassembly() {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body");
    let body: Vec<u8> = (0..=255u8).cycle().take(300).collect();
    std::fs::write(&body_file, &body).unwrap();
    let (code, _, pdus) = ctl(
        &[
            "encode",
            "push",
            "--app-id",
            "0x04",
            "--content-type",
            "application/vnd.wap.mms-message",
            "--body-file",
            body_file.to_str().unwrap(),
            "--from",
            "+4912345",
            "--ref",
            "513",
            "--ref-bits",
            "16",
        ],
        "",
    );
    assert_eq!(code, 0);
    let mut lines: Vec<&str> = pdus.lines().collect();
    assert_eq!(lines.len(), 3, "300 octets need three segments: {pdus}");
    lines.reverse(); // out of order on purpose
    let (code, json, _) = ctl(&["decode", "push", "-"], &lines.join("\n"));
    assert_eq!(code, 0);
    assert_eq!(json.len(), 1, "one completed message, nothing for the partial states");
    let m = &json[0];
    assert_eq!(m["kind"], "wsp_push");
    assert_eq!(m["app_id"], "x-wap-application:mms.ua");
    assert_eq!(m["content_type"], "application/vnd.wap.mms-message");
    assert_eq!(m["originator"], "+4912345");
    assert_eq!(m["ports"]["dst"], 2948);
    assert_eq!(m["body_hex"], otapush::hex::encode_lower(&body));
    assert_eq!(m["reference"], 513);

    // A lone segment is incomplete: nothing printed, success.
    let (code, json, _) = ctl(&["decode", "push", lines[0]], "");
    assert_eq!((code, json.len()), (0, 0));
}

#[test]
fn decode_push_splits_an_event_stream_body() {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("events");
    std::fs::write(&body_file, "id: 1\ndata: one\n\nevent: x\ndata: two\n\n").unwrap();
    let (_, _, pdus) = ctl(
        &[
            "encode",
            "push",
            "--app-id",
            "x-oma-application:sse.ticker",
            "--content-type",
            "text/event-stream",
            "--body-file",
            body_file.to_str().unwrap(),
        ],
        "",
    );
    let (code, json, _) = ctl(&["decode", "push", pdus.trim()], "");
    assert_eq!(code, 0);
    let events = json[0]["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0], serde_json::json!({"type": "message", "data": "one", "id": "1"}));
    assert_eq!(events[1], serde_json::json!({"type": "x", "data": "two", "id": "1"}));
}

#[test]
fn decode_sse_reads_stdin() {
    let (code, json, _) =
        ctl(&["decode", "sse"], "\u{feff}retry: 2500\n: comment\ndata: a\ndata: b\n\ndata: cut");
    assert_eq!(code, 0);
    assert_eq!(
        json[0],
        serde_json::json!({"events": [{"type": "message", "data": "a\nb", "id": ""}], "retry_ms": 2500})
    );
}

/// A batch as scripts pipe it: thousands of CRLF lines, streamed in order; a line that is not
/// UTF-8 gets an error record and the rest still decode; a reader that closes early (`| head`)
/// ends the run quietly.
#[test]
fn decode_sms_batch_from_stdin_in_order() {
    // The same PDU with TP-PID counting 0..=255 through the batch, so order is visible.
    let pdu = |i: usize| format!("{}{:02X}{}", &HELLO[..34], i % 256, &HELLO[36..]);
    let mut input = Vec::new();
    for i in 0..5000 {
        input.extend_from_slice(pdu(i).as_bytes());
        input.extend_from_slice(b"\r\n");
        if i == 2500 {
            input.extend_from_slice(b"\xff\xfe\r\n");
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_otapushctl"))
        .args(["decode", "sms", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(out.status.code(), Some(1), "the bad line makes the exit status 1");
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5001);
    for (n, v) in lines.iter().enumerate() {
        if n == 2501 {
            assert!(v["error"].as_str().unwrap().contains("UTF-8"), "{v}");
            continue;
        }
        let i = if n > 2501 { n - 1 } else { n };
        assert_eq!(v["pid"], i % 256, "line {n}: {v}");
        assert_eq!(v["text"], "hellohello");
    }

    // `| head -1`: the reader goes away after the first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_otapushctl"))
        .args(["decode", "sms", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    let writer = std::thread::spawn(move || {
        let line = format!("{HELLO}\n").repeat(1000);
        for _ in 0..200 {
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"{");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.stderr.is_empty(), "a closed pipe is not an error: {}", String::from_utf8_lossy(&out.stderr));
}

/// Byte-for-byte output of every `decode` subcommand over the bench and test vectors, against
/// files written by `otapushctl` before its JSON writer changed (tests/golden, from b74d52d):
/// the fields and their order are fixed (docs/cli.md), and scripts may compare bytes.
#[test]
fn decode_output_is_byte_for_byte_the_recorded_output() {
    let golden = |name: &str| {
        let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let wsp = String::from_utf8(golden("decode_wsp.hex")).unwrap();
    // (arguments, the file on stdin if any, the recorded output)
    let cases: [(&[&str], Option<&str>, &str); 5] = [
        (&["decode", "sms", "-"], Some("decode_sms.hex"), "decode_sms.jsonl"),
        (&["decode", "sms", "--no-smsc", "-"], Some("decode_sms_no_smsc.hex"), "decode_sms_no_smsc.jsonl"),
        (&["decode", "push", "-"], Some("decode_push.hex"), "decode_push.jsonl"),
        (&["decode", "sse"], Some("decode_sse.txt"), "decode_sse.jsonl"),
        (&["decode", "wsp", wsp.trim()], None, "decode_wsp.jsonl"),
    ];
    for (args, input, expected) in cases {
        let out = run(args, &input.map(golden).unwrap_or_default());
        let want = golden(expected);
        assert!(
            out.stdout == want,
            "{args:?} < {input:?}:\n got {}\nwant {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&want)
        );
    }
}
