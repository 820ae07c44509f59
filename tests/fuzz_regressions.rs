//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and every input that once crashed a
//! target (`fuzz/regressions/<target>/`) through the fuzz harness's entry points, on the stable
//! toolchain and without libFuzzer. Each entry point asserts its target's invariants (caps,
//! tags returned once, chunking-independent parsing, round trips); a panic fails the test and
//! names the file.
//!
//! The harness installs a per-thread counting allocator (for the sse memory bound), so this is
//! a test binary of its own.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn replay(kind: &str, target: &str) -> usize {
    let (_, run) = harness::TARGETS.iter().find(|(name, _)| *name == target).expect("known target");
    let files = inputs(kind, target);
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if let Err(e) = std::panic::catch_unwind(|| run(&data)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target}: {} failed: {msg}", f.display());
        }
    }
    files.len()
}

macro_rules! target_tests {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            let seeds = replay("corpus", stringify!($name));
            assert!(seeds > 0, "no committed corpus for {}", stringify!($name));
            replay("regressions", stringify!($name));
        }
    )*};
}

target_tests!(sms, udh, wsp, sse, reassembly, receive, at);

/// Every target has a corpus directory and a test above; a new target must be added to both.
#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = harness::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["sms", "udh", "wsp", "sse", "reassembly", "receive", "at"]);
}

/// The harness's allocator counts this thread's heap: a vector of 4 KiB shows up in `live`.
#[test]
fn counting_allocator_sees_this_thread() {
    let before = harness::alloc::live();
    let v = vec![0u8; 4096];
    assert!(harness::alloc::installed());
    assert!(harness::alloc::live() >= before + 4096);
    drop(v);
    assert!(harness::alloc::live() < before + 4096);
}
