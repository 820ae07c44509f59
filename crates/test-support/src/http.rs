//! A scriptable HTTP/1.1 event-stream origin on 127.0.0.1 for end-to-end tests: every
//! connection is handed to the test with its request head, and the test writes the response
//! (head, events, comments) and watches the client hang up, step by step from async code.

use crate::eventually::GUARD;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One accepted connection, its request read.
pub struct Exchange {
    /// Connection number, from 0.
    pub n: usize,
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    stream: TcpStream,
}

pub struct Origin {
    pub addr: SocketAddr,
    exchanges: mpsc::UnboundedReceiver<Exchange>,
}

impl Origin {
    /// Listens on an ephemeral loopback port; each connection's request head is read by a task.
    pub async fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, exchanges) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                let id = n;
                n += 1;
                tokio::spawn(async move {
                    if let Some(x) = read_head(id, stream).await {
                        let _ = tx.send(x);
                    }
                });
            }
        });
        Origin { addr, exchanges }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next connection (fails the test after the guard).
    pub async fn next(&mut self) -> Exchange {
        tokio::time::timeout(GUARD, self.exchanges.recv()).await.expect("no request in time").unwrap()
    }

    /// A connection that arrived already, if any.
    pub fn try_next(&mut self) -> Option<Exchange> {
        self.exchanges.try_recv().ok()
    }
}

async fn read_head(n: usize, mut stream: TcpStream) -> Option<Exchange> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let k = stream.read(&mut buf).await.ok()?;
        if k == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..k]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Exchange { n, method, path, headers, stream })
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// `200 OK` with `text/event-stream`, the body open-ended (closed with the connection).
    pub async fn open_stream(&mut self) {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
                    Connection: close\r\n\r\n";
        self.stream.write_all(head.as_bytes()).await.unwrap();
    }

    /// Writes raw event-stream text.
    pub async fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// One event with an id, a type and one line of data.
    pub async fn event(&mut self, id: &str, event_type: &str, data: &str) {
        self.send(&format!("id: {id}\nevent: {event_type}\ndata: {data}\n\n")).await;
    }

    /// Writes `bytes` whole. Whenever the client leaves the connection unread (not one octet
    /// taken) for `stall`, its receive window and our send buffer are full: `on_stall` runs,
    /// and the write goes on. True if that happened.
    pub async fn send_watching(&mut self, bytes: &[u8], stall: Duration, mut on_stall: impl FnMut()) -> bool {
        let mut stalled = false;
        let mut at = 0;
        while let Some(rest) = bytes.get(at..).filter(|r| !r.is_empty()) {
            // `write` is cancel-safe: a timed-out call wrote nothing.
            match tokio::time::timeout(stall, self.stream.write(rest)).await {
                Err(_) => {
                    stalled = true;
                    on_stall();
                }
                Ok(Ok(0)) => panic!("connection {}: the client closed it", self.n),
                Ok(Ok(n)) => at += n,
                Ok(Err(e)) => panic!("connection {}: write failed: {e}", self.n),
            }
        }
        stalled
    }

    /// Waits until the client closes the connection (true), or the guard passes (false).
    pub async fn closed_by_client(&mut self) -> bool {
        let mut buf = [0u8; 256];
        let wait = async {
            loop {
                match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        };
        tokio::time::timeout(GUARD, wait).await.is_ok()
    }

    /// True when the client has not closed the connection within `wait`.
    pub async fn still_open(&mut self, wait: Duration) -> bool {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(wait, self.stream.read(&mut buf)).await {
            Err(_) => true,
            Ok(Ok(n)) => n > 0,
            Ok(Err(_)) => false,
        }
    }
}
