//! The simulator on a pty speaks to an ordinary program: Python's `os`/`termios` (no pyserial)
//! opens the slave path as minicom or gammu would and runs a short AT conversation.

use otapush::modem::sim::pty::Pty;
use otapush::modem::sim::{sample_deliver_pdu, SimHandle, SimOptions};
use std::process::Stdio;
use std::time::Duration;

const SCRIPT: &str = r#"
import os, sys, termios, tty, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
def cmd(c):
    os.write(fd, (c + "\r").encode())
    out = b""
    deadline = time.time() + 10
    while time.time() < deadline:
        out += os.read(fd, 4096)
        if b"OK\r\n" in out or b"ERROR" in out:
            break
    return out.decode()
print(repr(cmd("ATE0")))
print(repr(cmd("AT+CPMS?")))
print(repr(cmd("AT+CMGL=4")))
"#;

#[tokio::test]
async fn python_talks_to_the_simulator_on_a_pty() {
    let pty = Pty::open().unwrap();
    let path = pty.path().to_path_buf();
    let sim = SimHandle::new(SimOptions::default());
    // A message stored before anyone listens (CNMI 0 after boot).
    sim.deliver(&sample_deliver_pdu(1));
    sim.attach(pty);
    let child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], r"'ATE0\r\r\nOK\r\n'", "echo of ATE0 itself, then OK");
    assert_eq!(lines[1], r#"'\r\n+CPMS: "SM",1,10,"SM",1,10,"SM",1,10\r\n\r\nOK\r\n'"#);
    assert!(lines[2].contains(r"+CMGL: 0,0,,21\r\n00040B912143658709F1"), "{}", lines[2]);
}
