//! Giving memory back once the daemon is quiet: glibc's free heap pages (`malloc_trim`), and
//! this process's mappings of read-only file pages (the code of the binary and its libraries).
//!
//! Clean file pages dropped from the page tables stay in the page cache; the next access maps
//! them again (a minor fault), so resident memory becomes what the daemon touches after the
//! release. Start-up code, SQL preparation and configuration parsing stop counting.
//! See BENCHMARKS.md (idle RSS) for the figures.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long the delivery side stays drained before [`release`] runs: a steady trickle of
/// pushes keeps its pages, a burst's end gives them back.
pub const QUIET: Duration = Duration::from_secs(2);

/// Returns glibc's free heap memory to the kernel, in every arena, including free pages in the
/// middle of a heap that glibc's own trimming (top of the heap only) keeps.
/// Blocks in glibc's per-thread cache count as in use and keep their pages; the shipped unit makes
/// that cache small (docs/device-builders.md, "Memory after a burst").
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim(3) only walks glibc's own arenas under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// One glibc malloc arena for the whole process (mallopt(3), `M_ARENA_MAX`). Otherwise the
/// store's writer thread gets an arena of its own, whose heap grows, fragments and is trimmed
/// apart from the main one: a burst then leaves two partly used heaps resident. With two threads
/// that rarely allocate at the same moment, one arena costs no measurable contention. Call
/// before any other thread starts.
pub fn single_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt(3) sets a glibc tunable; called before the process has other threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// One mapping of `/proc/self/smaps`.
#[derive(Debug, Default, PartialEq)]
struct Mapping {
    start: usize,
    end: usize,
    /// Readable, not writable, private, backed by a file.
    read_only_file: bool,
    rss_kb: u64,
    anonymous_kb: u64,
}

fn parse_smaps(text: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                let perms = f.next().unwrap_or("").as_bytes();
                let path = f.nth(3).unwrap_or("");
                let read_only_file = perms.len() == 4
                    && perms[0] == b'r'
                    && perms[1] == b'-'
                    && perms[3] == b'p'
                    && path.starts_with('/');
                out.push(Mapping { start, end, read_only_file, ..Mapping::default() });
                continue;
            }
        }
        let kb = || f.clone().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        if let Some(m) = out.last_mut() {
            match first {
                "Rss:" => m.rss_kb = kb(),
                "Anonymous:" => m.anonymous_kb = kb(),
                _ => {}
            }
        }
    }
    out
}

/// Drops this process's page-table entries for read-only private file mappings that hold no
/// private copy of a page (`Anonymous: 0`: text, read-only data; not the relocated RELRO pages,
/// whose contents exist nowhere else). Gives the kB released. Must not run while another thread
/// loads or relocates a library; the daemon calls it from its runtime thread.
pub fn release_file_pages() -> u64 {
    // Under an emulator (qemu-user) the mappings are the emulator's view: scripts/cross-test
    // sets this so the emulated daemon keeps them.
    if std::env::var_os("OTAPUSH_KEEP_FILE_PAGES").is_some() {
        return 0;
    }
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps") else { return 0 };
    let mut released = 0;
    for m in parse_smaps(&text) {
        if !m.read_only_file || m.anonymous_kb != 0 || m.rss_kb == 0 {
            continue;
        }
        // SAFETY: the range is a whole mapping of this process, read-only and private, with
        // no anonymous (copied-on-write) page: MADV_DONTNEED only unmaps page-cache pages,
        // which the next access maps again with the same contents (madvise(2)).
        let r = unsafe { libc::madvise(m.start as *mut libc::c_void, m.end - m.start, libc::MADV_DONTNEED) };
        if r == 0 {
            released += m.rss_kb;
        }
    }
    released
}

/// [`trim_heap`] and [`release_file_pages`], logged.
pub fn release() {
    trim_heap();
    let kb = release_file_pages();
    log::debug!("quiet: released {kb} kB of file pages and the free heap");
}

/// Counts deliveries in progress; [`Quiet::run`] releases memory once none has been for
/// [`QUIET`].
#[derive(Default)]
pub struct Quiet {
    busy: AtomicUsize,
    /// Bumped whenever work starts, so a quiet period that saw work starts over.
    generation: AtomicU64,
    drained: Notify,
}

/// Held while a delivery task has messages; dropping the last one marks the quiet start.
pub struct Busy(Arc<Quiet>);

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.drained.notify_one();
        }
    }
}

impl Quiet {
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    /// Releases memory `quiet` after start, then `quiet` after each time the last delivery
    /// drained, unless work came back meanwhile. Sleeps only then: no wake-ups while idle.
    pub async fn run(self: Arc<Self>, quiet: Duration, release: impl Fn()) {
        let mut released = None;
        loop {
            let generation = self.generation.load(Ordering::Acquire);
            if self.busy.load(Ordering::Acquire) != 0 || released == Some(generation) {
                // A drain since the load left a permit: not missed.
                self.drained.notified().await;
                continue;
            }
            tokio::time::sleep(quiet).await;
            if self.generation.load(Ordering::Acquire) == generation && self.busy.load(Ordering::Acquire) == 0
            {
                release();
                released = Some(generation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn status_kb(field: &str) -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|r| r.trim_start_matches(':').split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    #[test]
    #[cfg(target_pointer_width = "64")] // the sample carries 64-bit addresses
    fn smaps_mappings_and_their_sizes() {
        let text = "\
55d0c0000000-55d0c0100000 r-xp 00001000 08:01 123 /usr/bin/otapushd
Rss:                 900 kB
Anonymous:             0 kB
55d0c0100000-55d0c0110000 r--p 00101000 08:01 123 /usr/bin/otapushd
Rss:                  64 kB
Anonymous:            60 kB
55d0c0110000-55d0c0111000 rw-p 00111000 08:01 123 /usr/bin/otapushd
Rss:                   4 kB
7f0000000000-7f0000021000 rw-p 00000000 00:00 0
Rss:                 132 kB
Anonymous:           132 kB
7f0000100000-7f0000108000 rw-s 00000000 08:01 9 /var/lib/otapush/otapush.db-shm
Rss:                  32 kB
7ffc00000000-7ffc00021000 r--p 00000000 00:00 0                          [vvar]
Rss:                   8 kB
";
        let m = parse_smaps(text);
        assert_eq!(m.len(), 6);
        assert_eq!(
            m[0],
            Mapping {
                start: 0x55d0c0000000,
                end: 0x55d0c0100000,
                read_only_file: true,
                rss_kb: 900,
                anonymous_kb: 0
            }
        );
        assert!(m[1].read_only_file && m[1].anonymous_kb == 60);
        assert_eq!(
            m.iter().map(|m| m.read_only_file).collect::<Vec<_>>(),
            [true, true, false, false, false, false]
        );
    }

    /// The test binary's code and libc drop out of its resident set, and still run after.
    #[test]
    fn releasing_file_pages_lowers_rss_and_code_still_runs() {
        let before = status_kb("RssFile");
        let released = release_file_pages();
        let after = status_kb("RssFile");
        assert!(released > 0, "nothing released ({before} kB file-backed)");
        assert!(after < before, "RssFile {before} kB -> {after} kB");
        // The code faults back in: formatting, allocation, a thread.
        let s = std::thread::spawn(|| format!("{:?}", vec![1u8, 2, 3])).join().unwrap();
        assert_eq!(s, "[1, 2, 3]");
    }

    /// Free blocks in the middle of the heap (a live block above them) come back only with
    /// malloc_trim.
    #[test]
    fn trimming_returns_free_heap_pages() {
        let std::thread::Result::Ok((before, after)) = std::thread::spawn(|| {
            let blocks: Vec<Box<[u8; 1000]>> = (0..16_384).map(|i| Box::new([i as u8; 1000])).collect();
            let keep = Box::new([7u8; 1000]);
            drop(blocks);
            let before = status_kb("RssAnon");
            trim_heap();
            let after = status_kb("RssAnon");
            assert_eq!(keep[999], 7);
            (before, after)
        })
        .join() else {
            panic!("thread failed")
        };
        assert!(after + 8_000 < before, "RssAnon {before} kB -> {after} kB after malloc_trim");
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_releases_after_start_and_after_each_drain_not_while_busy() {
        let start = |quiet: &Arc<Quiet>| {
            let count = Arc::new(AtomicU32::new(0));
            let c = count.clone();
            tokio::spawn(quiet.clone().run(QUIET, move || {
                c.fetch_add(1, Ordering::SeqCst);
            }));
            count
        };
        // Quiet from the start: released once, after QUIET.
        let idle = Arc::new(Quiet::default());
        let idle_count = start(&idle);
        tokio::time::sleep(QUIET * 3 / 2).await;
        assert_eq!(idle_count.load(Ordering::SeqCst), 1);

        let quiet = Arc::new(Quiet::default());
        let busy = quiet.busy();
        let count = start(&quiet);
        tokio::time::sleep(QUIET * 3).await;
        assert_eq!(count.load(Ordering::SeqCst), 0, "released while a delivery was busy");
        drop(busy);
        tokio::time::sleep(QUIET / 2).await;
        // Work again before the quiet period ended: it starts over.
        drop(quiet.busy());
        tokio::time::sleep(QUIET * 3 / 4).await;
        assert_eq!(count.load(Ordering::SeqCst), 0, "released before a full quiet period");
        tokio::time::sleep(QUIET).await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        // Idle: nothing more until the next drain.
        tokio::time::sleep(QUIET * 10).await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        drop(quiet.busy());
        tokio::time::sleep(QUIET * 2).await;
        assert_eq!(count.load(Ordering::SeqCst), 2);
        assert_eq!(idle_count.load(Ordering::SeqCst), 1);
    }
}
