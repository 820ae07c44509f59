//! Faults: modem reset, unplug/replug through a re-resolved symlink, storage full, durable
//! failures, and the in-process (`device = "sim"`) transport.

use otapush::modem::profile::Route;
use otapush::modem::sim::SimOptions;
use otapush::modem::{run_modem, LoadProfile, ModemState, Profile, StoreRetry, Transport};
use otapush_test_support::eventually::{eventually_sync, GUARD};
use otapush_test_support::modem::{init_log, Rig};
use otapush_test_support::pdu::pdu;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

#[tokio::test]
async fn modem_reset_triggers_full_reinit() {
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    assert_eq!(rig.sim.cnmi(), [2, 1, 2, 1, 0]);
    let before = rig.sim.commands().iter().filter(|c| *c == "AT+CMGL=4").count();
    rig.sim.reset();
    // A message arriving right after the reboot is stored silently (CNMI forgotten) …
    rig.sim.deliver(&pdu(7));
    // … and found by the re-init's CMGL=4.
    assert_eq!(rig.accept().await.0, pdu(7));
    let sim = rig.sim.clone();
    eventually_sync("CNMI re-applied", || sim.cnmi() == [2, 1, 2, 1, 0]).await;
    assert!(rig.sim.commands().iter().filter(|c| *c == "AT+CMGL=4").count() > before);
    rig.sim.deliver(&pdu(8));
    assert_eq!(rig.accept().await.0, pdu(8));
    eventually_sync("storage emptied", || sim.stored().is_empty()).await;
    rig.assert_no_violation();
}

#[tokio::test]
async fn quectel_boot_waits_for_sms_done() {
    let opts = SimOptions {
        boot_urcs: vec!["RDY".into(), "+CPIN: READY".into(), "+QUSIM: 1".into()],
        ready_urc: Some("+QIND: SMS DONE".into()),
        ..Default::default()
    };
    let mut rig = Rig::new(opts, Profile::load("quectel-eg25", None).unwrap()).await;
    rig.wait_state("ready").await;
    // The profile's init addition was sent.
    assert!(rig.sim.commands().iter().any(|c| c == "AT+QURCCFG=\"urcport\",\"all\""));
    rig.sim.reset();
    rig.sim.deliver(&pdu(3));
    assert_eq!(rig.accept().await.0, pdu(3));
    rig.assert_no_violation();
}

#[tokio::test]
async fn unplug_and_replug_at_the_symlink() {
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    rig.unplug();
    rig.wait_state("no-device").await;
    // Occupy the old pty number so the device usually comes back under another name: only a
    // driver that resolves the symlink again finds it.
    let spacer = otapush::modem::sim::pty::Pty::open().unwrap();
    rig.plug();
    drop(spacer);
    rig.sim.deliver(&pdu(5));
    assert_eq!(rig.accept().await.0, pdu(5));
    rig.wait_state("ready").await;
    rig.sim.deliver(&pdu(6));
    assert_eq!(rig.accept().await.0, pdu(6));
    let sim = rig.sim.clone();
    eventually_sync("storage emptied", || sim.stored().is_empty()).await;
    rig.assert_no_violation();
}

#[tokio::test]
async fn full_storage_is_drained_and_held_messages_follow() {
    let opts = SimOptions { storages: vec![("SM".into(), 5)], ..Default::default() };
    let mut rig = Rig::new(opts, Profile::load("simcom-sim800", None).unwrap()).await;
    rig.wait_state("ready").await;
    // Hold the durable answers so the store stays full while the network sends two more.
    let filled = rig.sim.fill_storage();
    assert_eq!(filled.len(), 5);
    rig.sim.deliver(&pdu(1));
    rig.sim.deliver(&pdu(2));
    assert_eq!(rig.sim.network_queue_len(), 2);
    let mut got = Vec::new();
    for _ in 0..7 {
        got.push(rig.accept().await.0);
    }
    for p in filled.iter().chain([&pdu(1), &pdu(2)]) {
        assert!(got.contains(p), "every message handed over");
    }
    let sim = rig.sim.clone();
    eventually_sync("storage and network queue emptied", || {
        sim.stored().is_empty() && sim.network_queue_len() == 0
    })
    .await;
    // Usage was checked with +CPMS? after deletions.
    assert!(rig.sim.commands().iter().filter(|c| *c == "AT+CPMS?").count() >= 2);
    rig.assert_no_violation();
}

#[tokio::test]
async fn durable_error_keeps_the_message_and_retries() {
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    rig.sim.deliver(&pdu(11));
    let p = rig.next_pdu().await;
    assert_eq!(p.pdu, pdu(11));
    let _ = p.durable.send(Err("disk full".into()));
    // Not deleted; handed over again after the retry pause (5 s).
    assert_eq!(rig.sim.stored().len(), 1);
    let (again, _) = rig.accept().await;
    assert_eq!(again, pdu(11));
    let sim = rig.sim.clone();
    eventually_sync("deleted after it was durable", || sim.stored().is_empty()).await;
    rig.assert_no_violation();
}

#[tokio::test]
async fn status_report_routed_as_cds_gets_an_smsc_prefix() {
    let mut opts = SimOptions::default();
    opts.quirks.cds_without_smsc = true;
    let mut rig = Rig::new(opts, Profile::default()).await;
    rig.wait_state("ready").await;
    // SMS-STATUS-REPORT: `00` no SMSC · `06` TP-MTI 10 (status report) · `2A` TP-MR 42 ·
    // `0B 91 21 43 65 87 09 F1` recipient "12345678901" · SCTS and discharge time
    // `52 30 10 21 43 65 00` twice (25-03-01 12:34:56 UTC) · `00` TP-ST delivered.
    let mut report = vec![0x00, 0x06, 0x2A, 0x0B, 0x91, 0x21, 0x43, 0x65, 0x87, 0x09, 0xF1];
    report.extend_from_slice(&[0x52, 0x30, 0x10, 0x21, 0x43, 0x65, 0x00]);
    report.extend_from_slice(&[0x52, 0x30, 0x10, 0x21, 0x43, 0x65, 0x00, 0x00]);
    rig.sim.deliver_status_report(&report);
    let (got, loc) = rig.accept().await;
    assert_eq!(loc, None);
    assert_eq!(got, report, "printed without SMSC, handed over with `00` prepended");
}

#[tokio::test]
async fn in_process_simulator_transport() {
    init_log();
    let sim = otapush::modem::SimHandle::new(SimOptions::default());
    let (tx, mut rx) = mpsc::channel(4);
    let (stx, mut srx) = watch::channel(ModemState::NoDevice);
    let cfg = otapush::modem::Settings::default();
    let driver = tokio::spawn(run_modem(
        cfg,
        Profile::default(),
        Transport::Sim(sim.clone()),
        tx,
        stx,
        std::future::pending(),
    ));
    tokio::time::timeout(GUARD, srx.wait_for(|s| *s == ModemState::Ready)).await.unwrap().unwrap();
    sim.deliver(&pdu(21));
    let p = tokio::time::timeout(GUARD, rx.recv()).await.unwrap().unwrap();
    assert_eq!(p.pdu, pdu(21));
    p.durable.send(Ok(())).unwrap();
    let s2 = sim.clone();
    eventually_sync("deleted", || s2.stored().is_empty()).await;
    // Unplug: the driver sees the connection close and waits; replug: it re-inits.
    sim.unplug();
    tokio::time::timeout(GUARD, srx.wait_for(|s| *s == ModemState::NoDevice)).await.unwrap().unwrap();
    sim.deliver(&pdu(22));
    sim.replug();
    let p = tokio::time::timeout(GUARD, rx.recv()).await.unwrap().unwrap();
    assert_eq!(p.pdu, pdu(22));
    driver.abort();
}

#[tokio::test]
async fn idle_driver_arms_no_timer() {
    // Paused clock: if the ready driver armed any timer, auto-advance would fire it and the
    // simulator would see a command. None comes over an hour of virtual time.
    init_log();
    let sim = otapush::modem::SimHandle::new(SimOptions::default());
    let (tx, _rx) = mpsc::channel(4);
    let (stx, mut srx) = watch::channel(ModemState::NoDevice);
    let driver = tokio::spawn(run_modem(
        otapush::modem::Settings::default(),
        Profile::default(),
        Transport::Sim(sim.clone()),
        tx,
        stx,
        std::future::pending(),
    ));
    tokio::time::timeout(GUARD, srx.wait_for(|s| *s == ModemState::Ready)).await.unwrap().unwrap();
    // Let the last usage check (if any) finish.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let n = sim.commands().len();
    tokio::time::pause();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    tokio::time::resume();
    assert_eq!(sim.commands().len(), n, "no command while idle: {:?}", &sim.commands()[n..]);
    driver.abort();
}

/// Short pauses, so that "for a long time" (many more refusals than the five tries of old)
/// fits in a test.
const FAST_RETRY: StoreRetry =
    StoreRetry { first: Duration::from_millis(50), max: Duration::from_millis(200) };

/// How often each PDU was handed over (before `accepting`), and made durable (after).
#[derive(Default)]
struct Counts {
    refused: HashMap<Vec<u8>, usize>,
    from_storage: HashMap<Vec<u8>, usize>,
}

impl Counts {
    /// Receives one hand-over and refuses it as a full disk would.
    async fn refuse(&mut self, rig: &mut Rig) {
        let p = rig.next_pdu().await;
        *self.refused.entry(p.pdu.clone()).or_default() += 1;
        if p.location.is_some() {
            *self.from_storage.entry(p.pdu.clone()).or_default() += 1;
        }
        let _ = p.durable.send(Err("database or disk is full".into()));
    }
}

/// Accepts hand-overs until every PDU of `want` is durable; then waits until the SIM and the
/// network hold nothing. Returns the time that took and the duplicates made durable.
async fn accept_all(rig: &mut Rig, want: &[Vec<u8>]) -> (Duration, usize) {
    let t0 = Instant::now();
    while !want.iter().all(|p| rig.durable_contains(p)) {
        rig.accept().await;
    }
    let sim = rig.sim.clone();
    eventually_sync("SIM and network emptied", || sim.stored().is_empty() && sim.network_queue_len() == 0)
        .await;
    let took = t0.elapsed();
    let durable = rig.durable.lock().unwrap().clone();
    (took, durable.len() - want.len())
}

fn count(rig: &Rig, cmd: &str) -> usize {
    rig.sim.commands().iter().filter(|c| c.starts_with(cmd)).count()
}

/// Issue 12 item 2: the store refuses every SMS far longer than five tries; the SMS stay on the
/// SIM, and once the store accepts again they come through by themselves (no re-init, no
/// restart), each once, and the SIM is empty.
#[tokio::test]
async fn store_refusing_for_long_keeps_sms_on_the_sim_until_it_accepts() {
    let mut rig = Rig::with_retry(SimOptions::default(), Profile::default(), FAST_RETRY).await;
    rig.wait_state("ready").await;
    let inits = count(&rig, "ATE0");
    let sent: Vec<Vec<u8>> = (41..47).map(pdu).collect();
    for p in &sent[..3] {
        rig.sim.deliver(p);
    }
    let mut c = Counts::default();
    // Refused 10 times each; half of the messages arrive while the store refuses.
    let mut delivered = 3;
    while c.refused.len() < sent.len() || c.refused.values().any(|n| *n < 10) {
        c.refuse(&mut rig).await;
        if delivered < sent.len() && c.refused.values().sum::<usize>() % 7 == 0 {
            rig.sim.deliver(&sent[delivered]);
            delivered += 1;
        }
    }
    assert_eq!(rig.sim.stored().len(), sent.len(), "nothing left the SIM while the store refused");
    assert!(rig.durable.lock().unwrap().is_empty());
    let (took, dups) = accept_all(&mut rig, &sent).await;
    assert_eq!(dups, 0, "each made durable once");
    assert_eq!(count(&rig, "ATE0"), inits, "no re-init");
    assert_eq!(*rig.state.borrow(), ModemState::Ready);
    rig.assert_no_violation();
    println!(
        "FAULT-RESULT scenario=store-refuses-long sent={} delivered={} duplicated={dups} lost=0 \
         recovery_ms={} note=each refused >=10 times, backoff {:?}..{:?}",
        sent.len(),
        sent.len(),
        took.as_millis(),
        FAST_RETRY.first,
        FAST_RETRY.max
    );
}

/// Issue 12 item 3: a routing modem (`+CMT`, service 1, `+CNMA`) and a store that refuses. No
/// `+CNMA` for what is not durable (the network redelivers), the modem is switched to store
/// mode (`<mt>` 1) so messages wait on the SIM, nothing is held in memory; when the store
/// accepts again, storage is listed, routing (`<mt>` 2) comes back and acks resume.
#[tokio::test]
async fn routed_sms_are_not_acknowledged_until_durable_and_wait_on_the_sim() {
    let mut profile = Profile { name: "routed".into(), ..Default::default() };
    profile.init.route = Route::Route;
    profile.init.cnmi_candidates = vec![[2, 2, 0, 0, 0]];
    profile.init.cnma = "AT+CNMA=1".into();
    let opts = SimOptions {
        ack_timeout: Duration::from_millis(300),
        network_retry: Duration::from_millis(200),
        ..Default::default()
    };
    let mut rig = Rig::with_retry(opts, profile, FAST_RETRY).await;
    rig.wait_state("ready").await;
    assert_eq!(rig.sim.cnmi(), [2, 2, 0, 0, 0]);
    let sent: Vec<Vec<u8>> = (51..55).map(pdu).collect();
    rig.sim.deliver(&sent[0]);
    let first = rig.next_pdu().await;
    assert_eq!((first.pdu.clone(), first.location.clone()), (sent[0].clone(), None), "routed");
    let _ = first.durable.send(Err("database or disk is full".into()));
    let sim = rig.sim.clone();
    eventually_sync("store mode", || sim.cnmi() == [2, 1, 0, 0, 0]).await;
    for p in &sent[1..] {
        rig.sim.deliver(p);
    }
    // Every message, the refused routed one included, reaches the SIM and is offered again.
    let mut c = Counts::default();
    while c.from_storage.len() < sent.len() || c.from_storage.values().any(|n| *n < 3) {
        c.refuse(&mut rig).await;
    }
    assert_eq!(count(&rig, "AT+CNMA"), 0, "nothing acknowledged while the store refuses");
    let (took, dups) = accept_all(&mut rig, &sent).await;
    assert_eq!(dups, 0, "each made durable once");
    eventually_sync("routing again", || sim.cnmi() == [2, 2, 0, 0, 0]).await;
    // Routed and acknowledged again once durable.
    let late = pdu(59);
    rig.sim.deliver(&late);
    let (got, loc) = rig.accept().await;
    assert_eq!((got, loc), (late, None));
    eventually_sync("acknowledged", || sim.network_queue_len() == 0 && count(&rig, "AT+CNMA=1") == 1).await;
    rig.assert_no_violation();
    println!(
        "FAULT-RESULT scenario=routed-store-refuses sent={} delivered={} duplicated={dups} lost=0 \
         recovery_ms={} note=no +CNMA while refused; mt 2->1->2; backoff {:?}..{:?}",
        sent.len() + 1,
        sent.len() + 1,
        took.as_millis(),
        FAST_RETRY.first,
        FAST_RETRY.max
    );
}

/// Issue 12 item 4: the reply to one `AT+CPMS` storage switch is lost. The read it was for
/// goes back into the queue; the message is read and deleted after the command's timeout
/// (10 s), without a re-init.
#[tokio::test]
async fn unanswered_storage_switch_still_reads_the_message() {
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    let swallowed = rig.sim.stall("AT+CPMS=\"", false);
    let sent = std::time::Instant::now();
    rig.sim.deliver(&pdu(31));
    tokio::time::timeout(GUARD, swallowed).await.expect("a storage switch was sent").unwrap();
    let got = tokio::time::timeout(Duration::from_secs(15), rig.accept()).await;
    assert_eq!(got.expect("read within the command timeout and a bit").0, pdu(31));
    let sim = rig.sim.clone();
    eventually_sync("deleted", || sim.stored().is_empty()).await;
    println!("FAULT cpms-unanswered sent=1 delivered=1 recovery={:?}", sent.elapsed());
    assert_eq!(rig.state.borrow().as_str(), "ready");
    assert_eq!(rig.sim.commands().iter().filter(|c| *c == "ATE0").count(), 1, "no re-init");
    rig.sim.deliver(&pdu(32));
    assert_eq!(rig.accept().await.0, pdu(32));
    rig.assert_no_violation();
}

/// Issue 12 item 5: the modem resets without a boot URC while a message is being made
/// durable: echo back on, `+CNMI` off, default storage. A message arriving then is stored
/// without a notification. The next command (the storage selection before the delete) comes
/// back echoed: the driver re-initialises, lists the storage and reads it; nothing is deleted
/// before it is durable.
#[tokio::test]
async fn silent_reset_is_noticed_on_the_next_command() {
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    rig.sim.deliver(&pdu(41));
    let held = rig.next_pdu().await;
    assert_eq!(held.pdu, pdu(41));
    rig.sim.reset_silently();
    rig.sim.deliver(&pdu(42));
    let sent = std::time::Instant::now();
    rig.durable.lock().unwrap().push(held.pdu.clone());
    held.durable.send(Ok(())).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rig.accept()).await;
    assert_eq!(got.expect("the silently stored message is read").0, pdu(42));
    let sim = rig.sim.clone();
    eventually_sync("storage emptied", || sim.stored().is_empty()).await;
    println!("FAULT silent-reset sent=2 delivered=2 recovery={:?}", sent.elapsed());
    eventually_sync("notifications on again", || sim.cnmi() == [2, 1, 2, 1, 0]).await;
    rig.sim.deliver(&pdu(43));
    assert_eq!(rig.accept().await.0, pdu(43));
    rig.assert_no_violation();
}
