//! Crash safety: the intake is killed at every step between `+CMGR` and `+CMGD`; a new driver
//! against the same modem storage must hand every PDU over again, and no PDU may be deleted
//! before it was durable (the simulator's delete hook checks this at the moment of `+CMGD`).

use otapush::modem::sim::SimOptions;
use otapush::modem::Profile;
use otapush_test_support::modem::Rig;
use otapush_test_support::pdu::pdu;

async fn ready_rig() -> Rig {
    let mut rig = Rig::new(SimOptions::default(), Profile::default()).await;
    rig.wait_state("ready").await;
    rig
}

/// After a restart, everything left is handed over, made durable and deleted.
async fn restart_and_finish(rig: &mut Rig, expect: &[Vec<u8>]) {
    rig.sim.clear_stall();
    rig.start_driver();
    let deadline = tokio::time::Instant::now() + otapush_test_support::eventually::GUARD;
    // Answer whatever is handed over until every PDU is durable and the modem is empty.
    while !(expect.iter().all(|p| rig.durable_contains(p)) && rig.sim.stored().is_empty()) {
        assert!(tokio::time::Instant::now() < deadline, "not finished: {:?}", rig.sim.stored());
        tokio::select! {
            Some(p) = rig.rx.recv() => {
                rig.durable.lock().unwrap().push(p.pdu.clone());
                let _ = p.durable.send(Ok(()));
            }
            _ = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
        }
    }
    rig.assert_no_violation();
}

#[tokio::test]
async fn killed_while_cmgr_in_flight() {
    let mut rig = ready_rig().await;
    let stalled = rig.sim.stall("AT+CMGR", false);
    rig.sim.deliver(&pdu(1));
    stalled.await.unwrap();
    rig.kill_driver().await;
    assert_eq!(rig.sim.stored().len(), 1);
    restart_and_finish(&mut rig, &[pdu(1)]).await;
}

#[tokio::test]
async fn killed_after_hand_over_before_durable() {
    let mut rig = ready_rig().await;
    rig.sim.deliver(&pdu(2));
    let p = rig.next_pdu().await;
    assert_eq!(p.pdu, pdu(2));
    rig.kill_driver().await;
    // The store never answered (the durable sender outlived the driver, as in a crash).
    drop(p);
    assert_eq!(rig.sim.stored().len(), 1, "not deleted without a durable answer");
    restart_and_finish(&mut rig, &[pdu(2)]).await;
}

#[tokio::test]
async fn killed_after_durable_before_cmgd() {
    let mut rig = ready_rig().await;
    let stalled = rig.sim.stall("AT+CMGD", false);
    rig.sim.deliver(&pdu(3));
    assert_eq!(rig.accept().await.0, pdu(3));
    stalled.await.unwrap();
    rig.kill_driver().await;
    assert_eq!(rig.sim.stored().len(), 1);
    // Handed over again after the restart (a duplicate the store drops), then deleted.
    restart_and_finish(&mut rig, &[pdu(3)]).await;
    assert_eq!(rig.durable.lock().unwrap().iter().filter(|p| **p == pdu(3)).count(), 2);
}

#[tokio::test]
async fn killed_after_cmgd_executed_before_its_ok() {
    let mut rig = ready_rig().await;
    let stalled = rig.sim.stall("AT+CMGD", true);
    rig.sim.deliver(&pdu(4));
    assert_eq!(rig.accept().await.0, pdu(4));
    stalled.await.unwrap();
    rig.kill_driver().await;
    assert!(rig.sim.stored().is_empty());
    restart_and_finish(&mut rig, &[pdu(4)]).await;
    rig.wait_state("ready").await;
    // Nothing is handed over again: the message is gone for good after it was durable.
    assert!(rig.rx.try_recv().is_err());
}

#[tokio::test]
async fn killed_in_the_middle_of_a_burst() {
    let mut rig = ready_rig().await;
    for n in 10..15 {
        rig.sim.deliver(&pdu(n));
    }
    // Two made durable, the third handed over but unanswered, then a crash.
    rig.accept().await;
    rig.accept().await;
    let unanswered = rig.next_pdu().await;
    rig.kill_driver().await;
    drop(unanswered);
    let all: Vec<Vec<u8>> = (10..15).map(pdu).collect();
    restart_and_finish(&mut rig, &all).await;
}
