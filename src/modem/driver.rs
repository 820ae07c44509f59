//! The tokio shell around [`AtEngine`] and [`Intake`]: opens the port (tokio-serial, or the
//! in-process simulator), pumps bytes, timers and durable answers through the pure cores, and
//! reconnects when the device goes away. It sleeps on I/O only: with nothing in flight there is
//! no timer at all.

use super::at::{AtEngine, Event};
use super::device;
use super::intake::{Action, Intake, StoreRetry};
use super::profile::Profile;
use super::sim::SimHandle;
use super::state::ModemState;
use super::ReceivedPdu;
use crate::backoff::Backoff;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

/// Where the modem is.
#[derive(Clone)]
pub enum Transport {
    /// A tty path; a symlink is resolved again on every (re)connect.
    Serial(PathBuf),
    /// The in-process simulator (`device = "sim"`); reconnects through [`SimHandle::connect`].
    Sim(SimHandle),
}

impl Transport {
    /// `sim` → a new simulator (its handle returned for scripting), else a tty path.
    pub fn for_device(device: &str) -> (Transport, Option<SimHandle>) {
        if device == "sim" {
            let opts = super::sim::SimOptions { command_log: 0, ..Default::default() };
            let h = SimHandle::new(opts);
            (Transport::Sim(h.clone()), Some(h))
        } else {
            (Transport::Serial(PathBuf::from(device)), None)
        }
    }
}

/// How the driver opens a serial port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Serial speed (8N1, raw).
    pub baud: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { baud: 115_200 }
    }
}

/// A request to the running driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModemCommand {
    /// The system resumed from suspend: list the storage again (notifications were lost).
    Relist,
}

/// Why a wait ended early.
enum Stop {
    /// Shutdown requested, or nobody takes PDUs any more.
    Stop,
}

type Durable = (u64, Result<(), String>);
const SYSFS_USB: &str = "/sys/bus/usb/devices";
/// A session shorter than this counts as a failed connect for the backoff.
const STABLE_SESSION: Duration = Duration::from_secs(5);
const MAX_RECONNECT_BACKOFF_MS: u64 = 30_000;

/// Runs the modem until `shutdown` completes or the receiver of `pdus` is dropped.
///
/// Every SMS the modem receives is sent on `pdus` as a [`ReceivedPdu`]; it is deleted from the
/// modem (or acknowledged) only after its `durable` sender answers `Ok(())`. `state` follows
/// [`ModemState`].
pub async fn run_modem(
    settings: Settings,
    profile: Profile,
    transport: Transport,
    pdus: mpsc::Sender<ReceivedPdu>,
    state: watch::Sender<ModemState>,
    shutdown: impl Future<Output = ()>,
) {
    run_modem_with(settings, profile, transport, pdus, state, shutdown, StoreRetry::default()).await
}

/// [`run_modem`] that also takes [`ModemCommand`]s from `commands`.
pub async fn run_modem_with_commands(
    settings: Settings,
    profile: Profile,
    transport: Transport,
    pdus: mpsc::Sender<ReceivedPdu>,
    state: watch::Sender<ModemState>,
    commands: mpsc::Receiver<ModemCommand>,
    shutdown: impl Future<Output = ()>,
) {
    drive(settings, profile, transport, pdus, state, shutdown, StoreRetry::default(), Some(commands)).await
}

/// [`run_modem`] with other pauses between offers of what the store refused (tests).
pub async fn run_modem_with(
    settings: Settings,
    profile: Profile,
    transport: Transport,
    pdus: mpsc::Sender<ReceivedPdu>,
    state: watch::Sender<ModemState>,
    shutdown: impl Future<Output = ()>,
    store_retry: StoreRetry,
) {
    drive(settings, profile, transport, pdus, state, shutdown, store_retry, None).await
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    settings: Settings,
    profile: Profile,
    transport: Transport,
    pdus: mpsc::Sender<ReceivedPdu>,
    state: watch::Sender<ModemState>,
    shutdown: impl Future<Output = ()>,
    store_retry: StoreRetry,
    commands: Option<mpsc::Receiver<ModemCommand>>,
) {
    let mut d = Driver {
        no_at_port_ids: profile.device.no_at_port_usb_ids.clone(),
        intake: Intake::new(profile).with_store_retry(store_retry),
        engine: AtEngine::default(),
        pdus,
        state,
        pending: Vec::new(),
        commands,
    };
    tokio::pin!(shutdown);
    let _ = d.run(&settings, &transport, &mut shutdown).await;
    log::info!("modem: driver stopped");
}

struct Driver {
    intake: Intake,
    engine: AtEngine,
    pdus: mpsc::Sender<ReceivedPdu>,
    state: watch::Sender<ModemState>,
    pending: Vec<(u64, oneshot::Receiver<Result<(), String>>)>,
    no_at_port_ids: Vec<String>,
    commands: Option<mpsc::Receiver<ModemCommand>>,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn poll_durable(
    pending: &mut Vec<(u64, oneshot::Receiver<Result<(), String>>)>,
    cx: &mut Context<'_>,
) -> Poll<Durable> {
    for i in 0..pending.len() {
        if let Poll::Ready(r) = Pin::new(&mut pending[i].1).poll(cx) {
            let (token, _) = pending.swap_remove(i);
            let r = r.unwrap_or_else(|_| Err("durable answer dropped".into()));
            return Poll::Ready((token, r));
        }
    }
    Poll::Pending
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

/// The next [`ModemCommand`]; never, once the sender is gone.
async fn next_command(commands: &mut Option<mpsc::Receiver<ModemCommand>>) -> ModemCommand {
    if let Some(rx) = commands {
        if let Some(c) = rx.recv().await {
            return c;
        }
    }
    *commands = None;
    std::future::pending().await
}

fn min_deadline(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

enum Wake<T> {
    Done(T),
    Read(io::Result<usize>),
    Durable(Durable),
    Command(ModemCommand),
    Timer,
    Shutdown,
}

impl Driver {
    async fn run<S: Future<Output = ()>>(
        &mut self,
        settings: &Settings,
        transport: &Transport,
        shutdown: &mut Pin<&mut S>,
    ) -> Result<(), Stop> {
        let mut backoff = Backoff::new(1000, MAX_RECONNECT_BACKOFF_MS);
        self.publish(ModemState::NoDevice);
        loop {
            let started = now();
            match transport {
                Transport::Sim(h) => {
                    let io = self.idle_until(h.connect(), shutdown).await?;
                    log::info!("modem: connected to the simulator");
                    self.session(io, shutdown).await?;
                }
                Transport::Serial(path) => match open_serial(path, settings.baud) {
                    Ok(port) => self.session(port, shutdown).await?,
                    Err(e) => {
                        if device::present(path) {
                            let pause = Duration::from_millis(backoff.next());
                            log::warn!("modem: cannot open {}: {e}; retrying in {pause:?}", path.display());
                            self.publish(ModemState::error(format!("cannot open {}: {e}", path.display())));
                            self.idle_until(tokio::time::sleep(pause), shutdown).await?;
                        } else {
                            self.report_absent(path);
                            self.idle_until(device::wait_present(path), shutdown).await?;
                        }
                        continue;
                    }
                },
            }
            self.intake.on_disconnected();
            self.engine.reset();
            self.flush_actions().await?;
            if now().duration_since(started) >= STABLE_SESSION {
                backoff.reset();
            } else {
                self.idle_until(tokio::time::sleep(Duration::from_millis(backoff.next())), shutdown).await?;
            }
        }
    }

    fn publish(&self, s: ModemState) {
        self.state.send_if_modified(|cur| {
            let changed = *cur != s;
            *cur = s;
            changed
        });
    }

    fn report_absent(&self, path: &Path) {
        if let Some(id) = device::find_usb_device(Path::new(SYSFS_USB), &self.no_at_port_ids) {
            let msg = format!(
                "USB device {id} is in a mode without an AT port (Huawei HiLink); switch it to stick \
                 (serial) firmware; waiting for {}",
                path.display()
            );
            log::error!("modem: {msg}");
            self.publish(ModemState::error(msg));
        } else {
            log::info!("modem: waiting for {} to appear", path.display());
            self.publish(ModemState::NoDevice);
        }
    }

    fn command(&mut self, c: ModemCommand) {
        match c {
            ModemCommand::Relist => self.intake.on_resume(now()),
        }
    }

    /// Carries out what the intake asked for.
    async fn flush_actions(&mut self) -> Result<(), Stop> {
        while let Some(a) = self.intake.poll_action() {
            match a {
                Action::Send(cmd) => {
                    self.engine.submit(cmd, now());
                }
                Action::HandOver { token, pdu, location } => {
                    let (tx, rx) = oneshot::channel();
                    let p = ReceivedPdu { pdu: pdu.into_bytes(), location, durable: tx };
                    self.pdus.send(p).await.map_err(|_| Stop::Stop)?;
                    self.pending.push((token, rx));
                }
                Action::State(s) => self.publish(s),
            }
        }
        Ok(())
    }

    fn dispatch_engine(&mut self) {
        while let Some(ev) = self.engine.poll_event() {
            match ev {
                Event::Response(r) => self.intake.on_response(r, now()),
                Event::Urc(u) => self.intake.on_urc(u, now()),
            }
        }
    }

    /// Waits for `f` while still serving durable answers, intake timers and shutdown.
    async fn idle_until<F: Future, S: Future<Output = ()>>(
        &mut self,
        f: F,
        shutdown: &mut Pin<&mut S>,
    ) -> Result<F::Output, Stop> {
        tokio::pin!(f);
        loop {
            self.flush_actions().await?;
            let deadline = self.intake.next_deadline();
            let wake = tokio::select! {
                _ = shutdown.as_mut() => Wake::Shutdown,
                v = &mut f => Wake::Done(v),
                d = std::future::poll_fn(|cx| poll_durable(&mut self.pending, cx)) => Wake::Durable(d),
                c = next_command(&mut self.commands) => Wake::Command(c),
                _ = sleep_until(deadline) => Wake::Timer,
            };
            match wake {
                Wake::Done(v) => return Ok(v),
                Wake::Command(c) => self.command(c),
                Wake::Shutdown => return Err(Stop::Stop),
                Wake::Durable((t, r)) => self.intake.on_durable(t, r, now()),
                Wake::Timer => self.intake.on_timeout(now()),
                Wake::Read(_) => {}
            }
        }
    }

    /// One connection: init, then receive until the port fails.
    async fn session<T, S>(&mut self, io: T, shutdown: &mut Pin<&mut S>) -> Result<(), Stop>
    where
        T: AsyncRead + AsyncWrite,
        S: Future<Output = ()>,
    {
        let (rd, wr) = tokio::io::split(io);
        tokio::pin!(rd);
        tokio::pin!(wr);
        self.engine.reset();
        self.intake.on_connected(now());
        let mut buf = vec![0u8; 4096];
        loop {
            self.flush_actions().await?;
            while let Some(bytes) = self.engine.poll_transmit() {
                if let Err(e) = wr.write_all(&bytes).await {
                    log::warn!("modem: write failed: {e}; port gone");
                    return Ok(());
                }
            }
            let deadline = min_deadline(self.engine.next_deadline(), self.intake.next_deadline());
            let wake: Wake<()> = tokio::select! {
                _ = shutdown.as_mut() => Wake::Shutdown,
                r = rd.read(&mut buf) => Wake::Read(r),
                d = std::future::poll_fn(|cx| poll_durable(&mut self.pending, cx)) => Wake::Durable(d),
                c = next_command(&mut self.commands) => Wake::Command(c),
                _ = sleep_until(deadline) => Wake::Timer,
            };
            match wake {
                Wake::Shutdown => return Err(Stop::Stop),
                Wake::Command(c) => self.command(c),
                Wake::Read(Ok(0)) => {
                    log::warn!("modem: end of file on the port; port gone");
                    return Ok(());
                }
                Wake::Read(Err(e)) => {
                    log::warn!("modem: read failed: {e}; port gone");
                    return Ok(());
                }
                Wake::Read(Ok(n)) => {
                    self.engine.feed(buf.get(..n).unwrap_or(&[]), now());
                    self.dispatch_engine();
                    // A modem that never stops talking (a URC flood) must not keep the
                    // daemon's other tasks (D-Bus, delivery) from running.
                    tokio::task::yield_now().await;
                }
                Wake::Durable((t, r)) => self.intake.on_durable(t, r, now()),
                Wake::Timer => {
                    let t = now();
                    self.engine.handle_timeout(t);
                    self.dispatch_engine();
                    self.intake.on_timeout(t);
                }
                Wake::Done(()) => {}
            }
        }
    }
}

/// Opens a tty at `baud`, 8N1 raw, after resolving symlinks.
fn open_serial(path: &Path, baud: u32) -> io::Result<tokio_serial::SerialStream> {
    use tokio_serial::{SerialPort, SerialPortBuilderExt};
    let real = device::resolve(path)?;
    log::info!("modem: opening {} ({})", path.display(), real.display());
    let port = tokio_serial::new(real.to_string_lossy(), baud).open_native_async()?;
    // Whatever the modem said before we opened (or to a previous process) is stale.
    if let Err(e) = port.clear(tokio_serial::ClearBuffer::Input) {
        log::debug!("modem: cannot flush input: {e}");
    }
    Ok(port)
}
