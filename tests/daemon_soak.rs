//! Soak (issue 7 item 3): the real daemon under a steady rate of pushes through its simulated
//! modem, with a fault every few seconds (modem reset, unplug and replug, the agent crashing and
//! coming back, the SIM filling up), its RSS and file descriptors sampled throughout. Nothing
//! may be lost, and after the warm-up neither may grow.
//!
//! `cargo test` runs 30 seconds; `scripts/soak MINUTES` runs it long with
//! `OTAPUSH_SOAK_MINUTES` (and samples every 10 s).

use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::faults::*;
use otapush_test_support::pdu::*;
use std::time::{Duration, Instant};
use zbus::zvariant::Value;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn filter() -> Vec<(&'static str, Value<'static>)> {
    vec![
        ("ApplicationId", Value::from("x-wap-application:mms.ua")),
        ("Persistent", Value::Bool(true)),
        ("Name", Value::from("soak")),
    ]
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: f64,
    stats: ProcStats,
    sent: usize,
    delivered: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_traffic_with_periodic_faults_neither_loses_nor_grows() {
    let long = std::env::var("OTAPUSH_SOAK_MINUTES").is_ok();
    let run = Duration::from_secs_f64(env_f64("OTAPUSH_SOAK_MINUTES", 0.5) * 60.0);
    let every = Duration::from_secs_f64(env_f64("OTAPUSH_SOAK_SAMPLE_SECS", if long { 10.0 } else { 3.0 }));
    let fault_every =
        Duration::from_secs_f64(env_f64("OTAPUSH_SOAK_FAULT_SECS", if long { 60.0 } else { 6.0 }));
    let rate = env_f64("OTAPUSH_SOAK_RATE", 20.0);
    // The first fifth of the run (at least two samples) warms caches and the allocator up.
    let warm_up = (run / 5).max(every * 2);

    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let sim = rig.simulator().await;
    let mut rec = Recorder::start(rig.address(), "soak", &filter()).await;
    let got = rec.got.clone();
    println!(
        "soak: {:.1} min at {rate} pushes/s, a fault every {} s, samples every {} s, warm-up {} s",
        run.as_secs_f64() / 60.0,
        fault_every.as_secs(),
        every.as_secs(),
        warm_up.as_secs()
    );

    let start = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / rate);
    let (mut sent, mut faults) = (0usize, 0usize);
    // The first fault comes half a period in, so a run of N periods sees N faults.
    let (mut next_sample, mut next_fault) = (start, start + fault_every / 2);
    let mut samples: Vec<Sample> = Vec::new();
    while start.elapsed() < run {
        network_sends(&sim, &burst_message(sent, 10)).await;
        sent += 1;
        let now = Instant::now();
        if now >= next_fault {
            match faults % 4 {
                0 => sim.reset().await.unwrap(),
                1 => {
                    sim.unplug(true).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    sim.unplug(false).await.unwrap();
                }
                2 => {
                    rec.crash();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    rec = Recorder::start_sharing(
                        rig.address(),
                        &format!("soak{faults}"),
                        &filter(),
                        got.clone(),
                    )
                    .await;
                }
                _ => sim.fill_storage().await.unwrap(),
            }
            faults += 1;
            next_fault += fault_every;
        }
        if now >= next_sample {
            let stats = daemon.sample().expect("the daemon is running");
            let s = Sample {
                secs: start.elapsed().as_secs_f64(),
                stats,
                sent,
                delivered: got.lock().unwrap().len(),
            };
            println!(
                "SOAK t={:>6.0}s rss_kib={} hwm_kib={} fds={} sent={} delivered={}",
                s.secs, s.stats.rss_kib, s.stats.hwm_kib, s.stats.fds, s.sent, s.delivered
            );
            samples.push(s);
            next_sample += every;
        }
        tokio::time::sleep(gap).await;
    }
    let t = all_delivered("soak", &got, sent, &daemon).await;
    let end = daemon.sample().unwrap();

    let after: Vec<&Sample> = samples.iter().filter(|s| s.secs >= warm_up.as_secs_f64()).collect();
    assert!(after.len() >= 2, "too short a run to judge growth");
    let first = after[0];
    let (min_rss, max_rss) =
        after.iter().fold((u64::MAX, 0), |(lo, hi), s| (lo.min(s.stats.rss_kib), hi.max(s.stats.rss_kib)));
    let max_fds = after.iter().map(|s| s.stats.fds).max().unwrap_or(0);
    let minutes = (end_secs(&samples) - first.secs).max(1.0) / 60.0;
    println!(
        "soak: {sent} sent, {} delivered, {} duplicated, {} lost; {faults} faults; after warm-up RSS {} → {} KiB \
         (min {min_rss}, max {max_rss}, {:+.0} KiB/min), fds {} → {} (max {max_fds})",
        t.delivered,
        t.duplicated,
        t.lost,
        first.stats.rss_kib,
        end.rss_kib,
        (end.rss_kib as f64 - first.stats.rss_kib as f64) / minutes,
        first.stats.fds,
        end.fds
    );
    report(&format!("soak-{:.1}min", run.as_secs_f64() / 60.0), &t, daemon.peak_kib);
    t.assert_sound("soak");
    let periods = (run.as_secs_f64() / fault_every.as_secs_f64()) as usize;
    assert!(faults >= periods.min(4), "{faults} faults in {periods} periods: every kind runs once");
    assert!(end.fds <= first.stats.fds + 2, "file descriptors grew: {} → {}", first.stats.fds, end.fds);
    // Allocator and SQLite page-cache noise stays well under 1 MiB here; a leak of one message
    // body per push (~20 octets) over a run of a few thousand pushes would not show, which is
    // why `scripts/soak` runs an hour and reports the slope.
    assert!(
        end.rss_kib <= first.stats.rss_kib + 1024,
        "RSS grew: {} → {} KiB",
        first.stats.rss_kib,
        end.rss_kib
    );
}

fn end_secs(samples: &[Sample]) -> f64 {
    samples.last().map_or(0.0, |s| s.secs)
}
