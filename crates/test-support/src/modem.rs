//! The simulated modem on a real pseudo-terminal: the rig of the `modem_*` tests (the real
//! driver reaching the simulator through a symlink, as a udev `by-id` link, a durable "store"
//! the tests answer for, and delete and `+CNMA` hooks that record any deletion or
//! acknowledgement of a PDU that was not durable yet), and a pty modem for the daemon process.

use crate::eventually::GUARD;
use otapush::modem::sim::pty::Pty;
use otapush::modem::sim::{SimHandle, SimOptions};
use otapush::modem::{
    run_modem, run_modem_with, Location, ModemState, Profile, ReceivedPdu, StoreRetry, Transport,
};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub struct Rig {
    pub sim: SimHandle,
    /// The slave path of the current pty.
    pub pty: Option<PathBuf>,
    pub link: PathBuf,
    pub dir: tempfile::TempDir,
    pub profile: Profile,
    pub store_retry: StoreRetry,
    pub rx: mpsc::Receiver<ReceivedPdu>,
    pub state: watch::Receiver<ModemState>,
    driver: Option<(JoinHandle<()>, oneshot::Sender<()>)>,
    /// PDUs made durable by the test's store, in order.
    pub durable: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Deletions of PDUs that were not durable at the time.
    pub violations: Arc<Mutex<Vec<String>>>,
}

pub fn init_log() {
    let _ = env_logger::builder().is_test(true).try_init();
}

impl Rig {
    /// A simulator on a fresh pty, the symlink pointing at it, and a driver started on the link.
    pub async fn new(opts: SimOptions, profile: Profile) -> Rig {
        Rig::with_retry(opts, profile, StoreRetry::default()).await
    }

    /// [`Rig::new`] with the intake's pauses between offers of what the store refused.
    pub async fn with_retry(opts: SimOptions, profile: Profile, store_retry: StoreRetry) -> Rig {
        init_log();
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("modem");
        let sim = SimHandle::new(opts);
        let durable: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let violations: Arc<Mutex<Vec<String>>> = Arc::default();
        let (d, v) = (durable.clone(), violations.clone());
        sim.set_on_delete(Some(Arc::new(move |mem: &str, idx: u32, pdu: &[u8]| {
            if !d.lock().unwrap().iter().any(|p| p == pdu) {
                v.lock().unwrap().push(format!("{mem}/{idx} deleted before it was durable"));
            }
        })));
        let (d, v) = (durable.clone(), violations.clone());
        sim.set_on_ack(Some(Arc::new(move |pdu: &[u8]| {
            if !d.lock().unwrap().iter().any(|p| p == pdu) {
                v.lock().unwrap().push(format!("{pdu:02X?} acknowledged before it was durable"));
            }
        })));
        let (_tx, rx) = mpsc::channel(1);
        let (_stx, state) = watch::channel(ModemState::NoDevice);
        let mut rig = Rig {
            sim,
            pty: None,
            link,
            dir,
            profile,
            store_retry,
            rx,
            state,
            driver: None,
            durable,
            violations,
        };
        rig.plug();
        rig.start_driver();
        rig
    }

    /// Opens a new pty for the simulator and points the symlink at it.
    pub fn plug(&mut self) {
        if !self.sim.is_plugged() {
            self.sim.replug();
        }
        let pty = Pty::open().unwrap();
        let path = pty.path().to_path_buf();
        let tmp = self.dir.path().join("modem.tmp");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&path, &tmp).unwrap();
        // The pump owns the pty from now on; `unplug` closes it.
        self.sim.attach(pty);
        std::fs::rename(&tmp, &self.link).unwrap();
        self.pty = Some(path);
    }

    /// The device disappears: the link goes first (as udev removes it), then the pty closes.
    pub fn unplug(&mut self) {
        let _ = std::fs::remove_file(&self.link);
        self.sim.unplug();
        self.pty = None;
    }

    pub fn start_driver(&mut self) {
        let (tx, rx) = mpsc::channel(16);
        let (stx, srx) = watch::channel(ModemState::NoDevice);
        let (sd_tx, sd_rx) = oneshot::channel::<()>();
        let cfg = otapush::modem::Settings { baud: 115200 };
        let transport = Transport::Serial(self.link.clone());
        let stop = async {
            let _ = sd_rx.await;
        };
        let fut = run_modem_with(cfg, self.profile.clone(), transport, tx, stx, stop, self.store_retry);
        self.driver = Some((tokio::spawn(fut), sd_tx));
        self.rx = rx;
        self.state = srx;
    }

    /// Kills the driver task where it stands (a crash of the intake).
    pub async fn kill_driver(&mut self) {
        if let Some((h, _)) = self.driver.take() {
            h.abort();
            let _ = h.await;
        }
    }

    /// Asks the driver to stop and waits for it.
    pub async fn stop_driver(&mut self) {
        if let Some((h, tx)) = self.driver.take() {
            let _ = tx.send(());
            tokio::time::timeout(GUARD, h).await.expect("driver stops").unwrap();
        }
    }

    pub async fn wait_state(&mut self, want: &str) {
        let ok = tokio::time::timeout(GUARD, self.state.wait_for(|s| s.as_str() == want)).await.is_ok();
        assert!(ok, "state {want:?} not reached; last {:?}", self.state.borrow().as_str());
    }

    pub async fn next_pdu(&mut self) -> ReceivedPdu {
        tokio::time::timeout(GUARD, self.rx.recv()).await.expect("a PDU in time").expect("driver alive")
    }

    /// Receives a PDU, makes it "durable" and answers Ok. Returns the PDU and its location.
    pub async fn accept(&mut self) -> (Vec<u8>, Option<Location>) {
        let p = self.next_pdu().await;
        self.durable.lock().unwrap().push(p.pdu.clone());
        let _ = p.durable.send(Ok(()));
        (p.pdu, p.location)
    }

    pub fn assert_no_violation(&self) {
        let v = self.violations.lock().unwrap();
        assert!(v.is_empty(), "{v:?}");
    }

    pub fn durable_contains(&self, pdu: &[u8]) -> bool {
        self.durable.lock().unwrap().iter().any(|p| p == pdu)
    }
}

/// A simulated modem on a real pseudo-terminal in the test process: it outlives any number of
/// daemons, which open it by path as `otapushd --device /dev/pts/N` (the real serial path).
pub struct PtyModem {
    pub sim: SimHandle,
    pub path: PathBuf,
}

impl PtyModem {
    /// Needs the tokio runtime of the test (the pump is a task).
    pub fn open() -> PtyModem {
        let pty = Pty::open().unwrap();
        let path = pty.path().to_path_buf();
        let sim = SimHandle::new(SimOptions::default());
        sim.attach(pty);
        PtyModem { sim, path }
    }

    pub fn device(&self) -> String {
        self.path.display().to_string()
    }

    /// Messages in the modem's storage plus those the network still holds.
    pub fn pending(&self) -> usize {
        self.sim.stored().len() + self.sim.network_queue_len()
    }
}

/// The simulator on a real pty behind a symlink, and the real driver (default settings and
/// profile) on that path, returned once it is `Ready`: the intake benches' set-up. `queue` is
/// the capacity of the channel of handed-on PDUs; the directory holds the link.
pub async fn ready_intake(queue: usize) -> (SimHandle, mpsc::Receiver<ReceivedPdu>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("modem");
    let sim = SimHandle::new(SimOptions::default());
    let pty = Pty::open().unwrap();
    std::os::unix::fs::symlink(pty.path(), &link).unwrap();
    sim.attach(pty);
    let (tx, rx) = mpsc::channel(queue);
    let (stx, mut srx) = watch::channel(ModemState::NoDevice);
    let cfg = otapush::modem::Settings::default();
    tokio::spawn(run_modem(
        cfg,
        Profile::default(),
        Transport::Serial(link),
        tx,
        stx,
        std::future::pending(),
    ));
    srx.wait_for(|s| *s == ModemState::Ready).await.unwrap();
    (sim, rx, dir)
}
