//! Fault injection end to end (issue 7 item 2) against the real daemon: the modem resets and is
//! unplugged during a burst, its storage fills up, an agent hangs and recovers, an agent crashes
//! and comes back, 100,000 bogus concatenation segments (5,000 in `cargo test`), and a disk
//! that runs out of space. In every scenario no message is lost; each prints one
//! `FAULT-RESULT` line that `scripts/fault-injection` collects (which sets
//! `OTAPUSH_FAULT_FULL=1` for the larger sizes).

use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::faults::*;
use otapush_test_support::pdu::*;
use std::collections::BTreeSet;
use std::time::Duration;
use zbus::zvariant::Value;

const MMS_APP: &str = "x-wap-application:mms.ua";

/// RSS cap of the daemon in these tests. The release budget (6 MiB burst peak, issue 4) is
/// measured by the benchmarks; a debug build with debug info maps about 19 MiB under a
/// 1,000-message burst on this machine, so 32 MiB leaves room for the allocator and SQLite page
/// cache while still catching anything that grows with the number of messages or segments
/// (100,000 segments of 140 octets held would be 13 MiB on their own).
const RSS_CAP_KIB: u64 = 32 * 1024;

fn mms() -> Vec<(&'static str, Value<'static>)> {
    vec![("ApplicationId", Value::from(MMS_APP))]
}

fn persistent(name: &'static str) -> Vec<(&'static str, Value<'static>)> {
    vec![
        ("ApplicationId", Value::from(MMS_APP)),
        ("Persistent", Value::Bool(true)),
        ("Name", Value::from(name)),
    ]
}

fn finish(scenario: &str, t: &Tally, daemon: &mut Daemon) {
    daemon.sample();
    report(scenario, t, daemon.peak_kib);
    t.assert_sound(scenario);
    assert!(daemon.peak_kib <= RSS_CAP_KIB, "{scenario}: peak RSS {} KiB over the cap", daemon.peak_kib);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modem_reset_and_unplug_during_a_burst() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let rec = Recorder::start(rig.address(), "burst", &mms()).await;
    let sim = rig.simulator().await;
    let n = size(300, 3000);
    // 40 messages arrive while the modem is unplugged: more than its storage holds, so the
    // network keeps the rest until the daemon has read and deleted some after the replug.
    let (reset1, gone, back, reset2) = (n / 5, 2 * n / 5, 2 * n / 5 + 40, 3 * n / 5);
    for i in 0..n {
        if i == reset1 || i == reset2 {
            sim.reset().await.unwrap();
        }
        if i == gone {
            sim.unplug(true).await.unwrap();
        }
        if i == back {
            sim.unplug(false).await.unwrap();
        }
        network_sends(&sim, &burst_message(i, 10)).await;
        if i % 100 == 0 {
            daemon.sample();
        }
    }
    let t = all_delivered("reset/unplug burst", &rec.got, n, &daemon).await;
    rec.quiet_check(Duration::from_millis(300)).await;
    let t2 = tally(n, &rec.snapshot());
    finish("modem-reset-unplug", &t2, &mut daemon);
    assert_eq!((t.duplicated, t2.duplicated), (0, 0), "no crash: exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sim_storage_mid_burst() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let rec = Recorder::start(rig.address(), "burst", &mms()).await;
    // The simulator fills free slots with 8-bit SMS ['S', 0x80 + k] (no ports: datagrams).
    let filler = Recorder::start(rig.address(), "filler", &[("Kind", Value::from("datagram"))]).await;
    let sim = rig.simulator().await;
    let n = size(200, 2000);
    // A fill before the burst (every slot free) and two in the middle of it.
    for i in 0..n {
        if i == 0 || i == n / 3 || i == 2 * n / 3 {
            sim.fill_storage().await.unwrap();
        }
        network_sends(&sim, &burst_message(i, 10)).await;
    }
    let t = all_delivered("burst around a full SIM", &rec.got, n, &daemon).await;
    // The generated messages came through too, each once: fills of k0, k1, k2 slots give the
    // bodies 0x80.. again each time (equal bodies, equal ids: suppressed as repeats); none may
    // be missing between.
    eventually("every queue to drain", || async {
        let regs = rig.manager().await.list_registrations().await.unwrap();
        regs.iter().all(|(_, d)| d["Queued"].downcast_ref::<u32>().unwrap() == 0)
    })
    .await;
    rec.quiet_check(Duration::from_millis(300)).await;
    assert!(filler.count() >= 1, "the generated messages were delivered");
    let bodies: Vec<Vec<u8>> = filler.snapshot().into_iter().map(|g| g.body).collect();
    let ids: BTreeSet<String> = filler.snapshot().into_iter().map(|g| g.id).collect();
    assert!(bodies.iter().all(|b| b.len() == 2 && b[0] == b'S' && b[1] >= 0x80), "{bodies:?}");
    let distinct: BTreeSet<u8> = bodies.iter().map(|b| b[1] - 0x80).collect();
    assert_eq!(distinct, (0..distinct.len() as u8).collect(), "a generated message is missing");
    assert_eq!(ids.len(), distinct.len(), "equal bodies, equal ids: the second fill is a repeat");
    finish("full-sim", &t, &mut daemon);
    assert_eq!(t.duplicated, 0, "no crash: exactly once");
}

/// One agent never answers (`Deliver` times out after `[cai] deliver_timeout` = 2 s and is
/// retried with the same id), another is served meanwhile; then the first recovers and gets
/// everything, in order, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_agent_is_retried_and_delays_nobody() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 2, "").await;
    let slow = Recorder::start(rig.address(), "slow", &mms()).await;
    slow.set(Behaviour::Hang);
    let fast = Recorder::start(rig.address(), "fast", &[("Kind", Value::from("text"))]).await;
    let sim = rig.simulator().await;
    let k = size(20, 200);
    for i in 0..k {
        network_sends(&sim, &burst_message(i, 10)).await;
        network_sends(&sim, &text_pdus(std::str::from_utf8(&tagged(i)).unwrap(), 0)).await;
    }
    let tf = all_delivered("the other agent while one hangs", &fast.got, k, &daemon).await;
    assert_eq!(slow.count(), 0);
    // The hung call times out and the same message comes again (the backoff starts at 1 s).
    eventually("a retry of the hung delivery", || async { slow.seen().len() >= 2 }).await;
    let seen = slow.seen();
    assert_eq!(seen[0], seen[1], "a retry carries the same id");
    slow.set(Behaviour::Ack);
    let ts = all_delivered("the recovered agent", &slow.got, k, &daemon).await;
    let order: Vec<usize> =
        slow.snapshot().iter().filter_map(|g| g.body.get(..10).and_then(tag_of)).collect();
    assert_eq!(order, (0..k).collect::<Vec<_>>(), "queue order kept across the retries");
    assert!(daemon.log_text().contains("no reply within 2 s"), "the timeout is logged");
    finish(
        "hanging-agent",
        &Tally { sent: 2 * k, delivered: tf.delivered + ts.delivered, ..tf },
        &mut daemon,
    );
}

/// A persistent agent crashes mid-burst (sometimes with a `Deliver` in flight) and comes back
/// under the same name, several times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_agent_comes_back_and_loses_nothing() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let mut rec = Recorder::start(rig.address(), "crashy", &persistent("crashy")).await;
    let got = rec.got.clone();
    let n = size(300, 3000);
    let rounds = size(3, 10);
    let sender = {
        let sim = rig.simulator().await;
        tokio::spawn(async move {
            for i in 0..n {
                network_sends(&sim, &burst_message(i, 10)).await;
            }
        })
    };
    let mut rng = Rng::new(0xC2A5);
    for r in 0..rounds {
        let mark = n * (r + 1) / (rounds + 1);
        eventually("progress before the crash", || async { got.lock().unwrap().len() >= mark }).await;
        rec.crash();
        tokio::time::sleep(Duration::from_millis(rng.range(0, 300))).await;
        rec =
            Recorder::start_sharing(rig.address(), &format!("crashy{r}"), &persistent("crashy"), got.clone())
                .await;
        daemon.sample();
    }
    tokio::time::timeout(GUARD, sender).await.unwrap().unwrap();
    let t = all_delivered("crashing agent", &got, n, &daemon).await;
    finish(&format!("crashing-agent-x{rounds}"), &t, &mut daemon);
}

/// A flood of segment-1-of-2 PDUs that never complete, each a partial message of its own, with
/// a real message every 500 PDUs. Reassembly is bounded (`[wdp] max_partials`), the given-up
/// partials become dead letters (capped), memory stays under the cap, the real messages arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bogus_segment_flood_stays_bounded() {
    // The state on tmpfs: the flood measures memory, not the disk's fsync rate.
    let rig = Rig::new_in(std::path::Path::new("/dev/shm")).await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let rec = Recorder::start(rig.address(), "all", &[]).await;
    let n = size(5_000, 100_000);
    let every = 500;
    let base = daemon.sample().unwrap();
    let workers = 4;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let manager = rig.manager().await;
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(workers) {
                if i % every == 0 {
                    for p in text_pdus(std::str::from_utf8(&tagged(i / every)).unwrap(), 0) {
                        manager.inject_pdu(&p).await.unwrap();
                    }
                }
                manager.inject_pdu(&bogus_segment(i)).await.unwrap();
            }
        }));
    }
    let mut peak_rss = 0;
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        peak_rss = peak_rss.max(daemon.sample().map_or(0, |s| s.rss_kib));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let legit = n / every;
    let t = all_delivered("messages among the flood", &rec.got, legit, &daemon).await;
    rec.quiet_check(Duration::from_millis(300)).await;
    assert_eq!(rec.count(), legit, "a bogus segment became a message");
    let end = daemon.sample().unwrap();
    let spool = spooled(&rig.state);
    println!(
        "bogus flood: {n} segments, RSS {} → {} KiB (max {peak_rss}, HWM {}), fds {} → {}, {spool} PDUs spooled",
        base.rss_kib, end.rss_kib, end.hwm_kib, base.fds, end.fds
    );
    assert!((1..=64).contains(&spool), "only the partials held stay spooled ({spool})");
    assert!(end.fds <= base.fds + 2, "fds {} → {}", base.fds, end.fds);
    finish("bogus-segments", &t, &mut daemon);
    // The given-up partials are dead letters, capped at 1,000. Listing them all is the one
    // large reply the daemon builds; its cost is reported (not part of the flood's cap).
    let dead = rig.manager().await.list_dead_letters().await.unwrap();
    let listed = daemon.sample().unwrap();
    assert!(dead.len() <= 1000, "dead letters are capped");
    println!("ListDeadLetters of {} letters: peak RSS {} → {} KiB", dead.len(), end.hwm_kib, listed.hwm_kib);
}

/// The state directory's disk fills up: PDUs cannot be spooled, so they stay on the modem;
/// when space is free again they come through. Needs root for a small tmpfs; without root the
/// same shape is played with `[store] max_queued_bytes` (the cap drops the oldest queued
/// messages of an absent agent, by design, and only those).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        disk_full_tmpfs().await
    } else {
        disk_full_cap().await
    }
}

/// A 3 MiB tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &std::path::Path) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=3m", "otapush-test"])
            .arg(at)
            .status()
            .unwrap();
        assert!(ok.success(), "mount tmpfs");
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` with one file until ENOSPC.
fn fill_disk(file: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(file).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

async fn queued_for(rig: &Rig, name: &str) -> u32 {
    let regs = rig.manager().await.list_registrations().await.unwrap();
    regs.iter()
        .find(|(_, d)| d["Name"].downcast_ref::<&str>().ok() == Some(name))
        .map_or(0, |(_, d)| d["Queued"].downcast_ref::<u32>().unwrap())
}

async fn disk_full_tmpfs() {
    let mut rig = Rig::new().await;
    let mount = Tmpfs::mount(&rig.dir.path().join("disk"));
    rig.state = mount.0.join("state");
    let mut daemon = rig.daemon("sim", 25, "").await;
    let sim = rig.simulator().await;
    // Messages wait in the queue of an absent persistent agent while there is room.
    let got = Recorder::start(rig.address(), "away", &persistent("disk")).await.crash();
    let queued = size(150, 500);
    for i in 0..queued {
        network_sends(&sim, &burst_message(i, 10)).await;
    }
    eventually("the queue to fill", || async { queued_for(&rig, "disk").await as usize == queued }).await;

    // The disk fills. New PDUs cannot be spooled: they stay on the modem (send until that
    // shows, then more). The agent stays away until then: its deliveries would free pages that
    // the store can commit into on a full disk, and the failure might never come.
    let filler = mount.0.join("filler");
    fill_disk(&filler);
    let mut sent = queued;
    let failed = "store: cannot commit";
    while !daemon.log_text().contains(failed) {
        assert!(sent < queued + 500, "no spool failure on a full disk");
        network_sends(&sim, &burst_message(sent, 10)).await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The agent comes back: each acknowledgement must be removed from the queue, which needs
    // room in the WAL, which fails while the disk is full: the delivery is then retried at a pace.
    let _rec = Recorder::start_sharing(rig.address(), "back", &persistent("disk"), got.clone()).await;
    for _ in 0..size(20, 200) {
        network_sends(&sim, &burst_message(sent, 10)).await;
        sent += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let while_full = tally(sent, &got.lock().unwrap());
    std::fs::remove_file(&filler).unwrap();
    // No modem reset, no restart: the daemon retries the spool (0.5 s doubling to 30 s) and the
    // intake lists storage again by itself (2 s doubling to 30 s).
    let total = sent + 10;
    for i in sent..total {
        network_sends(&sim, &burst_message(i, 10)).await;
    }
    let t = all_delivered("after space came back", &got, total, &daemon).await;
    let paced = daemon.log_text().matches("delivered, but store").count();
    let commits = daemon.log_text().matches("cannot commit message").count();
    println!(
        "disk full: {} of {queued} queued and {} of {} new messages delivered while full; \
         {paced} acknowledgements could not be recorded and were redelivered later; \
         {commits} commits failed and were retried",
        while_full.delivered.min(queued),
        while_full.delivered.saturating_sub(queued),
        sent - queued
    );
    finish("disk-full-tmpfs", &t, &mut daemon);
    assert!(t.duplicated <= paced && paced <= 10, "redeliveries while the disk was full are paced: {t:?}");
}

async fn disk_full_cap() {
    let rig = Rig::new().await;
    // Room for about 8 messages of ~360 octets.
    let cap = 3000;
    let text = config_text("sim", rig.address(), &rig.state, 25, "")
        .replace("[store]\n", &format!("[store]\nmax_queued_bytes = {cap}\n"));
    let mut daemon = Daemon::start(rig.address(), rig.dir.path(), &rig.state, &text);
    daemon.ready(&rig.conn, true).await;
    let mut rec = Recorder::start(rig.address(), "capped", &persistent("capped")).await;
    let got = rec.got.clone();
    rec.crash();
    let sim = rig.simulator().await;
    let n = size(30, 300);
    for i in 0..n {
        let mut body = tagged(i);
        body.extend(std::iter::repeat_n(b'.', 350));
        network_sends(
            &sim,
            &push_pdus(Some(MMS_APP), "application/vnd.wap.mms-message", &body, i as u16 % 256),
        )
        .await;
    }
    eventually("every message accepted", || async { daemon.log_text().matches("accepted").count() >= n })
        .await;
    rec = Recorder::start_sharing(rig.address(), "capped2", &persistent("capped"), got.clone()).await;
    eventually("the queue to drain", || async {
        rig.manager()
            .await
            .list_registrations()
            .await
            .unwrap()
            .iter()
            .all(|(_, d)| d["Queued"].downcast_ref::<u32>().unwrap() == 0)
    })
    .await;
    let t = tally(n, &rec.snapshot());
    let newest: Vec<usize> = (n - t.delivered..n).collect();
    let have: Vec<usize> = rec.snapshot().iter().filter_map(|g| g.body.get(..10).and_then(tag_of)).collect();
    assert_eq!(have, newest, "the cap drops the oldest, keeps the newest in order");
    assert!(t.delivered * 360 <= cap as usize + 400, "the cap holds");
    println!("queue cap {cap} octets: {} of {n} kept, the oldest {} dropped by the cap", t.delivered, t.lost);
    daemon.sample();
    let note =
        format!("non-root: no tmpfs; [store] max_queued_bytes dropped the oldest {} by design", t.lost);
    report_with("queue-cap", &Tally { lost: 0, delivered: t.delivered, ..t }, daemon.peak_kib, &note);
}
