//! What survives the daemon going away: persistent registrations with their queues, partial
//! concatenated messages, and dead letters — each across a real `otapushd` restart on the same
//! state directory.

use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::pdu::*;
use std::collections::HashMap;
use std::time::Duration;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

const MMS: &str = "application/vnd.wap.mms-message";
const MMS_APP: &str = "x-wap-application:mms.ua";

fn persistent(name: &'static str) -> Vec<(&'static str, Value<'static>)> {
    vec![
        ("ApplicationId", Value::from(MMS_APP)),
        ("Persistent", Value::Bool(true)),
        ("Name", Value::from(name)),
    ]
}

type Registrations = Vec<(OwnedObjectPath, HashMap<String, OwnedValue>)>;

async fn registrations(rig: &Rig) -> Registrations {
    rig.manager().await.list_registrations().await.unwrap()
}

fn field<'a, T: TryFrom<&'a zbus::zvariant::Value<'a>>>(d: &'a HashMap<String, OwnedValue>, k: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(&d[k]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_queue_is_delivered_after_restart_and_reregistration() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let sim = rig.simulator().await;
    {
        // The MMS client registers persistently, then crashes (no Unregister).
        let mms = Agent::new(rig.address(), "mms").await;
        mms.register(&persistent("mms")).await;
    }
    let mut watcher = Agent::new(rig.address(), "watcher").await;
    watcher.register(&[]).await;
    eventually("the crashed client to be seen as gone", || async {
        registrations(&rig)
            .await
            .iter()
            .any(|(_, d)| field::<&str>(d, "Name") == "mms" && !field::<bool>(d, "Connected"))
    })
    .await;

    let body = b"while the client was away".to_vec();
    network_sends(&sim, &push_pdus(Some(MMS_APP), MMS, &body, 1)).await;
    let seen = watcher.next().await;
    let id = seen.id.clone();
    seen.ack();

    // SIGTERM: a clean exit, connected agents are released, the queue stays on disk.
    daemon.stop().await;
    let released = tokio::time::timeout(GUARD, watcher.inbox.recv()).await.expect("Release() on SIGTERM");
    assert!(matches!(released, Some(AgentEvent::Released)), "{released:?}");
    daemon.spawn();
    daemon.ready(&rig.conn, true).await;

    // Only the persistent registration came back, disconnected, with its message queued.
    let regs = registrations(&rig).await;
    assert_eq!(regs.len(), 1, "the watcher's registration ended with the daemon: {regs:?}");
    let d = &regs[0].1;
    assert_eq!(field::<&str>(d, "Name"), "mms");
    assert!(field::<bool>(d, "Persistent"));
    assert!(!field::<bool>(d, "Connected"));
    assert_eq!(field::<u32>(d, "Queued"), 1);

    // The client starts again and registers under the same name: the message follows.
    let mut mms = Agent::new(rig.address(), "mms2").await;
    let reg = mms.register(&persistent("mms")).await;
    assert_eq!(reg, regs[0].0, "the same registration is taken over");
    let d = mms.next().await;
    assert_eq!((d.id.as_str(), d.body.as_slice()), (id.as_str(), body.as_slice()));
    assert_eq!(d.meta_str("ApplicationId"), Some(MMS_APP));
    d.ack();
    eventually("the queue to drain", || async {
        registrations(&rig).await.iter().all(|(_, d)| field::<u32>(d, "Queued") == 0)
    })
    .await;
    mms.quiet(Duration::from_millis(300)).await;
}

/// Segment 1 arrives, the daemon stops (cleanly, then in a second round by SIGKILL), segment 2
/// arrives after the restart: one message, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_reassembly_survives_a_restart() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    for (round, kill) in [(0u16, false), (1, true)] {
        let mut body = format!("round {round}: ").into_bytes();
        body.extend((0..200).map(|i| b'a' + (i % 26) as u8));
        let pdus = push_pdus(Some(MMS_APP), MMS, &body, 0x70 + round);
        assert_eq!(pdus.len(), 2);
        let mut agent = Agent::new(rig.address(), &format!("r{round}")).await;
        agent.register(&persistent("reassembly")).await;

        rig.simulator().await.deliver(&pdus[0]).await.unwrap();
        let state = rig.state.clone();
        eventually("segment 1 to be spooled", || {
            let state = state.clone();
            async move { spooled(&state) == 1 }
        })
        .await;
        if kill {
            daemon.kill();
        } else {
            daemon.stop().await;
        }
        daemon.spawn();
        daemon.ready(&rig.conn, true).await;
        agent.register(&persistent("reassembly")).await;
        rig.simulator().await.deliver(&pdus[1]).await.unwrap();
        let d = agent.next().await;
        assert_eq!(d.body, body, "round {round}: the message reassembled across the restart");
        assert_eq!(d.meta_str("SentTime"), Some(SCTS_RFC3339));
        d.ack();
        agent.quiet(Duration::from_millis(300)).await;
        assert_eq!(spooled(&rig.state), 0, "both segments leave the spool with their message");
    }
}

/// A push on port 2948 whose WSP cannot be parsed is not delivered and not silently dropped:
/// it becomes a dead letter, listed by `otapushctl status --json` (before and after a restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_push_becomes_a_visible_dead_letter() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let mut all = Agent::new(rig.address(), "all").await;
    all.register(&[]).await;
    // TID 0x01, then PDU type 0x40 (Get), which is neither Push (0x06) nor ConfirmedPush (0x07).
    let garbage = [0x01, 0x40, 0xDE, 0xAD, 0xBE, 0xEF];
    let pdus = datagram_pdus(9200, 2948, &garbage, 0);
    network_sends(&rig.simulator().await, &pdus).await;
    network_sends(&rig.simulator().await, &text_pdus("after the garbage", 0)).await;
    let d = all.next().await;
    assert_eq!(d.body, b"after the garbage", "the undecodable push must not be delivered");
    d.ack();

    let dead = |status: &str| -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(status.trim()).unwrap();
        assert_eq!(v["modem"], "ready");
        v["dead_letters"].as_array().unwrap().clone()
    };
    for restart in [false, true] {
        if restart {
            daemon.stop().await;
            daemon.spawn();
            daemon.ready(&rig.conn, true).await;
        }
        let letters = dead(&daemon.ctl(&["status", "--json"]));
        assert_eq!(letters.len(), 1, "{letters:?}");
        let reason = letters[0]["Reason"].as_str().unwrap();
        assert!(reason.starts_with("WSP push") && reason.contains("0x40"), "{reason}");
        assert_eq!(letters[0]["Pdu"], otapush::hex::encode_lower(&pdus[0]), "root sees the PDU");
        assert_eq!(spooled(&rig.state), 0, "a dead letter leaves the spool");
    }
    all.quiet(Duration::from_millis(300)).await;
}

/// `InjectPdu` returns only once the PDU is in the spool: a caller that saw it succeed may
/// crash the daemon the next instant and the PDU still comes back (here: segment 1 of 2 is
/// durable the moment the call returns, and completes its message after a SIGKILL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inject_pdu_returns_once_the_pdu_is_durable() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let mut agent = Agent::new(rig.address(), "inject").await;
    agent.register(&persistent("inject")).await;
    let mut body = b"injected: ".to_vec();
    body.extend((0..200).map(|i| b'A' + (i % 26) as u8));
    let pdus = push_pdus(Some(MMS_APP), MMS, &body, 0x99);
    rig.manager().await.inject_pdu(&pdus[0]).await.unwrap();
    assert_eq!(spooled(&rig.state), 1, "InjectPdu returned before the PDU was spooled");
    daemon.kill();
    daemon.spawn();
    daemon.ready(&rig.conn, true).await;
    agent.register(&persistent("inject")).await;
    rig.manager().await.inject_pdu(&pdus[1]).await.unwrap();
    let d = agent.next().await;
    assert_eq!(d.body, body);
    d.ack();
}
