//! The real driver against the simulator over a real pty, for each quirk of real modems
//! (docs/modem.md, Reply shapes): every SMS is handed over, made durable, and only then deleted.

use otapush::modem::sim::{SimOptions, SimQuirks};
use otapush::modem::{LoadProfile, Location, Profile};
use otapush_test_support::eventually::eventually_sync;
use otapush_test_support::modem::Rig;
use otapush_test_support::pdu::pdu;

/// Start, deliver three SMS back to back, accept them, and check the modem is emptied.
async fn three_messages(quirks: SimQuirks) -> Rig {
    let mut rig = Rig::new(SimOptions { quirks, ..Default::default() }, Profile::default()).await;
    rig.wait_state("ready").await;
    for n in 1..=3 {
        rig.sim.deliver(&pdu(n));
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        let (p, loc) = rig.accept().await;
        // The generic profile prefers ME, which the simulator offers: stored there.
        assert_eq!(loc.as_ref().map(|l| l.mem.as_str()), Some("ME"));
        got.push(p);
    }
    got.sort();
    assert_eq!(got, vec![pdu(1), pdu(2), pdu(3)]);
    let sim = rig.sim.clone();
    eventually_sync("storage emptied", || sim.stored().is_empty()).await;
    rig.assert_no_violation();
    rig
}

#[tokio::test]
async fn plain_modem() {
    let rig = three_messages(SimQuirks::default()).await;
    let cmds = rig.sim.commands();
    // Init order of the brief, CNMI from the candidate list within the advertised ranges.
    let pos = |c: &str| cmds.iter().position(|x| x == c).unwrap_or_else(|| panic!("{c} in {cmds:?}"));
    assert!(pos("ATE0") < pos("AT+CMEE=1"));
    assert!(pos("AT+CPIN?") < pos("AT+CSMS=0"));
    assert!(pos("AT+CMGF=0") < pos("AT+CPMS=?"));
    assert!(pos("AT+CPMS=\"ME\",\"ME\",\"ME\"") < pos("AT+CNMI=2,1,2,1,0"));
    assert!(pos("AT+CNMI=2,1,2,1,0") < pos("AT+CMGL=4"));
    assert_eq!(rig.sim.cnmi(), [2, 1, 2, 1, 0]);
}

#[tokio::test]
async fn echo_stays_on() {
    three_messages(SimQuirks { echo_stuck: true, ..Default::default() }).await;
}

#[tokio::test]
async fn urc_glued_after_ok() {
    let rig = three_messages(SimQuirks { urc_glued_after_ok: true, ..Default::default() }).await;
    // Two of the three +CMTI went out glued after an OK; none was lost.
    assert_eq!(rig.sim.commands().iter().filter(|c| c.starts_with("AT+CMGR=")).count(), 3);
}

#[tokio::test]
async fn cr_cr_lf_line_ends() {
    three_messages(SimQuirks { crcrlf: true, ..Default::default() }).await;
}

#[tokio::test]
async fn pdu_on_the_cmgr_line() {
    three_messages(SimQuirks { pdu_on_cmgr_line: true, ..Default::default() }).await;
}

#[tokio::test]
async fn cpin_without_ok() {
    let rig = three_messages(SimQuirks { cpin_without_ok: true, ..Default::default() }).await;
    assert!(rig.sim.commands().iter().any(|c| c == "AT+CPIN?"));
}

#[tokio::test]
async fn empty_list_is_321() {
    three_messages(SimQuirks { empty_list_321: true, ..Default::default() }).await;
}

#[tokio::test]
async fn quoted_empty_alpha_and_trailing_quote() {
    three_messages(SimQuirks { alpha_quoted: true, trailing_quote: true, ..Default::default() }).await;
}

#[tokio::test]
async fn all_quirks_at_once() {
    three_messages(SimQuirks {
        echo_stuck: true,
        urc_glued_after_ok: true,
        crcrlf: true,
        pdu_on_cmgr_line: true,
        cpin_without_ok: true,
        empty_list_321: true,
        alpha_quoted: true,
        trailing_quote: true,
        ..Default::default()
    })
    .await;
}

#[tokio::test]
async fn cnmi_falls_back_when_the_modem_refuses_what_it_advertises() {
    let q = SimQuirks { reject_cnmi: vec![[2, 1, 2, 1, 0], [2, 1, 2, 2, 0]], ..Default::default() };
    let rig = three_messages(q).await;
    assert_eq!(rig.sim.cnmi(), [2, 1, 2, 0, 0]);
}

#[tokio::test]
async fn sim800_ranges_skip_ds_2() {
    // SIM800: <ds> 0-1 only and <bm> 0/2 (python-gsmmodem#60).
    let opts = SimOptions {
        cnmi_ranges: "(0-3),(0-3),(0,2),(0,1),(0,1)".into(),
        storages: vec![("SM".into(), 10)],
        ..Default::default()
    };
    let mut rig = Rig::new(opts, Profile::load("simcom-sim800", None).unwrap()).await;
    rig.wait_state("ready").await;
    assert_eq!(rig.sim.cnmi(), [2, 1, 0, 1, 0]);
    rig.sim.deliver(&pdu(9));
    let (p, loc) = rig.accept().await;
    assert_eq!((p, loc), (pdu(9), Some(Location::new("SM", 0))));
}

#[tokio::test]
async fn leftovers_at_start_up_are_processed() {
    // Messages stored while no daemon runs: after a modem reboot CNMI is 0 (store silently).
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    rig.stop_driver().await;
    rig.sim.reset();
    rig.sim.deliver(&pdu(1));
    rig.sim.deliver(&pdu(2));
    assert_eq!(rig.sim.stored().len(), 2);
    rig.start_driver();
    let mut got = vec![rig.accept().await.0, rig.accept().await.0];
    got.sort();
    assert_eq!(got, vec![pdu(1), pdu(2)]);
    let sim = rig.sim.clone();
    eventually_sync("leftovers deleted", || sim.stored().is_empty()).await;
    rig.assert_no_violation();
}

/// An SMS-SUBMIT (TS 23.040 §9.2.2.2) without SMSC, to 12345678901, two octets of 8-bit data.
const DRAFT: [u8; 15] =
    [0x00, 0x01, 0x00, 0x0B, 0x91, 0x21, 0x43, 0x65, 0x87, 0x09, 0xF1, 0x00, 0x04, 0x02, 0x53];

/// A message the user stored to send (`<stat>` 2, TS 27.005 §3.1) is listed by `+CMGL=4` with
/// the received ones: it is not handed over as a received SMS, and it stays on the modem.
#[tokio::test]
async fn stored_outgoing_messages_are_left_on_the_modem() {
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    rig.stop_driver().await;
    rig.sim.reset();
    let draft = rig.sim.store_outgoing(&DRAFT).expect("a free slot");
    rig.sim.deliver(&pdu(3));
    rig.start_driver();
    assert_eq!(rig.accept().await.0, pdu(3));
    // The usage check comes once nothing is in hand: a draft handed over would hold it back.
    let sim = rig.sim.clone();
    eventually_sync("the usage check after the delete", || {
        let cmds = sim.commands();
        cmds.iter().skip_while(|c| !c.starts_with("AT+CMGD=")).any(|c| c == "AT+CPMS?")
    })
    .await;
    if let Ok(p) = rig.rx.try_recv() {
        panic!("handed over as received: {:?} at {:?}", p.pdu, p.location);
    }
    let left: Vec<_> =
        rig.sim.stored().into_iter().map(|(m, i, s)| (Location::new(m, i), s.stat, s.pdu)).collect();
    assert_eq!(left, [(draft, 2, DRAFT.to_vec())]);
    rig.assert_no_violation();
}

#[tokio::test]
async fn pin_locked_sim_waits_without_polling() {
    let mut rig = Rig::new(SimOptions { pin_locked: true, ..Default::default() }, Profile::default()).await;
    rig.wait_state("sim-locked").await;
    let n = rig.sim.commands().len();
    // No retry loop while locked: nothing more is sent over a while.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(rig.sim.commands().len(), n, "{:?}", rig.sim.commands());
    rig.sim.deliver(&pdu(4));
    rig.sim.unlock();
    rig.wait_state("ready").await;
    assert_eq!(rig.accept().await.0, pdu(4));
}

/// Issue 12 item 5 with a modem that always echoes and boots in text mode: the echo shows
/// nothing, but the usage check after the delete names the default storage as `<mem3>` again.
#[tokio::test]
async fn silent_reset_of_an_echoing_modem_is_seen_in_the_storage_settings() {
    let mut opts = SimOptions::default();
    opts.quirks.echo_stuck = true;
    opts.quirks.text_mode_at_boot = true;
    let mut rig = Rig::new(opts, Profile::default()).await;
    rig.wait_state("ready").await;
    rig.sim.deliver(&pdu(51));
    let held = rig.next_pdu().await;
    rig.sim.reset_silently();
    rig.sim.deliver(&pdu(52));
    rig.durable.lock().unwrap().push(held.pdu.clone());
    held.durable.send(Ok(())).unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), rig.accept()).await;
    assert_eq!(got.expect("the silently stored message is read").0, pdu(52));
    let sim = rig.sim.clone();
    eventually_sync("storage emptied", || sim.stored().is_empty()).await;
    rig.assert_no_violation();
}

/// A modem stores each SMS at the lowest free index and reuses indices after deletes, so a
/// burst can sit at indices out of arrival order; its `+CMTI`s come in arrival order
/// (TS 27.005 §3.4.1). More than `READ_BATCH` pending are read with one `+CMGL=4`, which
/// lists by index: the hand-overs must still follow the notifications.
#[tokio::test]
async fn burst_at_reused_indices_is_handed_over_in_arrival_order() {
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    let arrival = [3u32, 1, 4, 0, 5, 2];
    assert!(arrival.len() > otapush::modem::intake::READ_BATCH + 1);
    let listings = |rig: &Rig| rig.sim.commands().iter().filter(|c| *c == "AT+CMGL=4").count();
    let before = listings(&rig);
    // Slot k holds message k; they arrived (and are notified) in `arrival` order.
    rig.sim.with(|c| {
        for k in 0..arrival.len() {
            assert_eq!(c.store_silently(pdu(k as u8)), Some(Location::new("ME", k as u32)));
        }
        for &k in &arrival {
            c.flood_cmti("ME", k, 1);
        }
    });
    let mut got = Vec::new();
    for _ in 0..arrival.len() {
        let (p, loc) = rig.accept().await;
        assert_eq!(p, pdu(loc.expect("stored").index as u8));
        got.push(p);
    }
    let want: Vec<Vec<u8>> = arrival.iter().map(|&k| pdu(k as u8)).collect();
    assert_eq!(got, want, "handed over in notification order");
    assert!(listings(&rig) > before, "the burst was read with a listing");
    let sim = rig.sim.clone();
    eventually_sync("storage emptied", || sim.stored().is_empty()).await;
    rig.assert_no_violation();
}
