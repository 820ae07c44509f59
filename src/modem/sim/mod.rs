//! The simulated modem: [`core::SimCore`] behind a byte transport, scripted through a
//! [`SimHandle`]. The driver talks to it over a `DuplexStream` (`device = "sim"`) or over a real
//! pseudo-terminal ([`pty::Pty`], `otapushctl sim --pty`, the integration tests).

pub mod core;
pub mod iface;
pub mod pty;

pub use self::core::{sample_deliver_pdu, AckHook, DeleteHook, SimCore, SimOptions, SimQuirks, Slot, Stall};

use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

/// The host's end of an in-process connection to the simulator.
pub type SimTransport = tokio::io::DuplexStream;

struct Shared {
    core: SimCore,
    /// How long the modem takes before it looks at what the host wrote.
    latency: std::time::Duration,
    conn: Option<(u64, mpsc::UnboundedSender<Vec<u8>>)>,
    next_conn: u64,
}

/// Controls a simulated modem; cheap to clone.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Mutex<Shared>>,
    plugged: Arc<watch::Sender<bool>>,
    /// Marked after every call into the modem: its next deadline may have changed.
    touched: Arc<watch::Sender<()>>,
}

/// Starts a simulator and connects to it.
pub fn spawn_sim(opts: SimOptions) -> (SimTransport, SimHandle) {
    let h = SimHandle::new(opts);
    let (host, modem) = tokio::io::duplex(1 << 16);
    h.attach(modem);
    (host, h)
}

impl SimHandle {
    pub fn new(opts: SimOptions) -> SimHandle {
        SimHandle {
            shared: Arc::new(Mutex::new(Shared {
                core: SimCore::new(opts),
                latency: std::time::Duration::ZERO,
                conn: None,
                next_conn: 1,
            })),
            plugged: Arc::new(watch::Sender::new(true)),
            touched: Arc::new(watch::Sender::new(())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock (a test assertion in a hook) must not hide later state.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the modem and sends what it printed to the connected host.
    pub fn with<R>(&self, f: impl FnOnce(&mut SimCore) -> R) -> R {
        let mut s = self.lock();
        let r = f(&mut s.core);
        let out = s.core.take_output();
        if !out.is_empty() {
            if let Some((_, tx)) = &s.conn {
                let _ = tx.send(out);
            }
        }
        drop(s);
        self.touched.send_replace(());
        r
    }

    fn input(&self, conn: u64, bytes: &[u8]) {
        let current = self.lock().conn.as_ref().map(|c| c.0);
        if current == Some(conn) {
            self.with(|c| c.input(bytes));
        }
    }

    /// Serves the modem on any byte transport (a pty master, a duplex end). A new attachment
    /// replaces the previous one, which is closed.
    pub fn attach<T>(&self, io: T) -> tokio::task::JoinHandle<()>
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let id = {
            let mut s = self.lock();
            let id = s.next_conn;
            s.next_conn += 1;
            s.conn = Some((id, tx));
            id
        };
        let this = self.clone();
        let mut touched = self.touched.subscribe();
        tokio::spawn(async move {
            let (mut r, mut w) = tokio::io::split(io);
            let mut buf = [0u8; 1024];
            loop {
                let deadline = this.lock().core.next_deadline();
                let timer = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = timer => this.with(|c| c.on_time(std::time::Instant::now())),
                    _ = touched.changed() => {}
                    n = r.read(&mut buf) => match n {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let latency = this.lock().latency;
                            if !latency.is_zero() {
                                tokio::time::sleep(latency).await;
                            }
                            this.input(id, &buf[..n]);
                        }
                    },
                    chunk = rx.recv() => match chunk {
                        Some(b) => if w.write_all(&b).await.is_err() { break },
                        None => break,
                    },
                }
            }
            let mut s = this.lock();
            if s.conn.as_ref().is_some_and(|c| c.0 == id) {
                s.conn = None;
            }
        })
    }

    /// A new in-process connection; waits while the modem is unplugged.
    pub async fn connect(&self) -> SimTransport {
        let mut rx = self.plugged.subscribe();
        let _ = rx.wait_for(|p| *p).await;
        let (host, modem) = tokio::io::duplex(1 << 16);
        self.attach(modem);
        host
    }

    pub fn is_plugged(&self) -> bool {
        *self.plugged.borrow()
    }

    /// The network delivers an SMS (PDU with SMSC prefix).
    pub fn deliver(&self, pdu: &[u8]) {
        self.with(|c| c.deliver(pdu.to_vec()));
    }

    /// [`deliver`](Self::deliver) from hex text.
    pub fn deliver_hex(&self, hex: &str) -> Result<(), crate::hex::HexError> {
        let pdu = crate::hex::decode(hex)?;
        self.deliver(&pdu);
        Ok(())
    }

    /// The network delivers an SMS-STATUS-REPORT (PDU with SMSC prefix).
    pub fn deliver_status_report(&self, pdu: &[u8]) {
        self.with(|c| c.deliver_status_report(pdu.to_vec()));
    }

    /// The modem reboots: boot URCs, volatile settings forgotten, storage kept.
    pub fn reset(&self) {
        self.with(SimCore::reset);
    }

    /// The modem reboots without a boot URC: settings back to defaults, storage kept.
    pub fn reset_silently(&self) {
        self.with(SimCore::reset_silently);
    }

    /// `n` notifications `+CMTI: "<mem>",<first + k>` in one burst.
    pub fn flood_cmti(&self, mem: &str, first: u32, n: u32) {
        self.with(|c| c.flood_cmti(mem, first, n));
    }

    /// Each chunk the host writes is looked at only after `d` (a slow modem).
    pub fn set_latency(&self, d: std::time::Duration) {
        self.lock().latency = d;
    }

    /// The device goes away: the connection closes and `connect` waits.
    pub fn unplug(&self) {
        self.plugged.send_replace(false);
        self.lock().conn = None;
    }

    /// The device comes back, freshly booted (its boot URCs go nowhere: nobody listens yet).
    pub fn replug(&self) {
        self.with(SimCore::reset);
        self.plugged.send_replace(true);
    }

    /// Stores an SMS without notifying (the `+CMTI` was lost); returns its slot.
    pub fn store_silently(&self, pdu: &[u8]) -> Option<crate::modem::Location> {
        self.with(|c| c.store_silently(pdu.to_vec()))
    }

    /// Stores an unsent SMS-SUBMIT (`<stat>` 2); returns its slot.
    pub fn store_outgoing(&self, pdu: &[u8]) -> Option<crate::modem::Location> {
        self.with(|c| c.store_outgoing(pdu.to_vec()))
    }

    /// Fills the incoming storage; returns the PDUs added.
    pub fn fill_storage(&self) -> Vec<Vec<u8>> {
        self.with(SimCore::fill_storage)
    }

    /// The SIM's PIN was entered.
    pub fn unlock(&self) {
        self.with(SimCore::unlock);
    }

    /// Called on every `+CMGD` that removes a message.
    pub fn set_on_delete(&self, hook: Option<DeleteHook>) {
        self.with(|c| c.set_on_delete(hook));
    }

    /// Called on every `+CNMA` that acknowledges a routed message to the network.
    pub fn set_on_ack(&self, hook: Option<AckHook>) {
        self.with(|c| c.set_on_ack(hook));
    }

    /// Swallows the next command starting with `prefix` (after executing it if `execute`);
    /// the receiver fires when that happened.
    pub fn stall(&self, prefix: &str, execute: bool) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.with(|c| c.set_stall(Some(Stall { prefix: prefix.into(), execute }), Some(tx)));
        rx
    }

    pub fn clear_stall(&self) {
        self.with(|c| c.set_stall(None, None));
    }

    /// Every stored message: storage, index, slot.
    pub fn stored(&self) -> Vec<(String, u32, Slot)> {
        self.with(|c| c.stored())
    }

    /// Every command the modem received.
    pub fn commands(&self) -> Vec<String> {
        self.with(|c| c.log.clone())
    }

    pub fn quirks(&self, f: impl FnOnce(&mut SimQuirks)) {
        self.with(|c| f(c.quirks_mut()));
    }

    pub fn network_queue_len(&self) -> usize {
        self.with(|c| c.network_queue_len())
    }

    pub fn cnmi(&self) -> [u8; 5] {
        self.with(|c| c.cnmi())
    }
}
