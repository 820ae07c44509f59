//! Third-party event-stream servers as test peers: sse-starlette under uvicorn (Python) and
//! sse-channel on node:http (Node.js), installed pinned by scripts/install-sse-peers (which
//! scripts/install-deps runs). Each peer is a child process on an ephemeral 127.0.0.1 port,
//! driven through its stdin and reporting on its stdout (see the scripts beside this file).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Failure guard of every wait.
pub const GUARD: Duration = Duration::from_secs(30);

/// Where scripts/install-sse-peers put the packages.
pub fn install_dir() -> PathBuf {
    std::env::var_os("OTAPUSH_SSE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sse-peers"))
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(name)
}

fn installed(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} missing: run scripts/install-deps (it runs scripts/install-sse-peers)",
        path.display()
    );
    path
}

/// One line a peer printed: its first word and the rest, split on spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub words: Vec<String>,
}

impl Line {
    pub fn word(&self, i: usize) -> &str {
        self.words.get(i).map(String::as_str).unwrap_or("")
    }

    /// A Unix-ms stamp at word `i`.
    pub fn ms(&self, i: usize) -> u64 {
        self.word(i).parse().unwrap_or_else(|_| panic!("no time stamp at {i} in {self:?}"))
    }
}

pub struct Peer {
    pub name: &'static str,
    pub port: u16,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    /// Every stdout line so far, in order.
    pub log: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Peer {
    /// sse-starlette 3.7 under uvicorn, from Debian's python3 in the installed venv.
    pub async fn starlette() -> Peer {
        let python = installed(install_dir().join("venv/bin/python"));
        let mut cmd = Command::new(python);
        cmd.arg(script("starlette_peer.py")).env("PYTHONUNBUFFERED", "1");
        Peer::spawn("sse-starlette", cmd).await
    }

    /// sse-channel 4.0 on node:http; `retry_ms` is the channel's reconnection time (0: none),
    /// `ping_ms` its keep-alive comment period.
    pub async fn sse_channel(retry_ms: u64, ping_ms: u64) -> Peer {
        let modules = installed(install_dir().join("node/node_modules"));
        installed(modules.join("sse-channel/package.json"));
        let mut cmd = Command::new("node");
        cmd.arg(script("sse_channel_peer.js"))
            .env("NODE_PATH", modules)
            .env("PEER_RETRY_MS", retry_ms.to_string())
            .env("PEER_PING_MS", ping_ms.to_string());
        Peer::spawn("sse-channel", cmd).await
    }

    async fn spawn(name: &'static str, mut cmd: Command) -> Peer {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start ({e}): run scripts/install-deps"));
        let (tx, lines) = mpsc::unbounded_channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                log2.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let err2 = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                err2.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdin = child.stdin.take();
        let mut peer = Peer { name, port: 0, child, stdin, lines, log, stderr };
        peer.port = peer.expect("port").await.word(1).parse().unwrap();
        peer
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next line starting with `word` (lines in between stay in [`Peer::log`]).
    pub async fn expect(&mut self, word: &str) -> Line {
        let wait = async {
            while let Some(l) = self.lines.recv().await {
                let words: Vec<String> = l.split(' ').map(str::to_string).collect();
                if words[0] == word {
                    return Some(Line { words });
                }
            }
            None
        };
        match tokio::time::timeout(GUARD, wait).await {
            Ok(Some(l)) => l,
            _ => panic!("{}: no {word:?} line; {}", self.name, self.diagnostics()),
        }
    }

    /// How many lines so far start with `word`.
    pub fn count(&self, word: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.split(' ').next() == Some(word)).count()
    }

    /// Sends commands (one per line) to the peer's stdin in one write.
    pub fn command(&mut self, lines: &[&str]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).and_then(|_| stdin.flush()).unwrap();
    }

    /// What the peer printed and logged, for failure messages.
    pub fn diagnostics(&self) -> String {
        format!("stdout {:?}, stderr {:?}", self.log.lock().unwrap(), self.stderr.lock().unwrap())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The raw bytes of one response (head and body, as on the wire) to `GET path`, read until
/// `until` appears or `within` passes or the peer closes.
pub fn wire(port: u16, path: &str, last_event_id: Option<&str>, until: &[u8], within: Duration) -> Vec<u8> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n");
    if let Some(id) = last_event_id {
        req.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let end = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end && !got.windows(until.len()).any(|w| w == until) {
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("reading from 127.0.0.1:{port}: {e}"),
        }
    }
    got
}

/// The body part of a captured response (after the head), escaped for a message.
pub fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).escape_debug().to_string()
}

/// The event-stream octets of a captured response: after the head, de-chunked when the body
/// is chunked (a capture may end inside a chunk).
pub fn body(bytes: &[u8]) -> Vec<u8> {
    let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else { return Vec::new() };
    let head = String::from_utf8_lossy(&bytes[..at]).to_ascii_lowercase();
    let mut rest = &bytes[at + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return rest.to_vec();
    }
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size =
            std::str::from_utf8(&rest[..eol]).ok().and_then(|t| usize::from_str_radix(t.trim(), 16).ok());
        let Some(size @ 1..) = size else { break };
        let data = &rest[eol + 2..];
        out.extend_from_slice(&data[..size.min(data.len())]);
        rest = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}
