//! The daemon's log lines, captured in the test process (a `log` logger of our own).

use std::sync::{Mutex, OnceLock};

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("otapush") && m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let line = format!("{} {}] {}", r.level(), r.target(), r.args());
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    }
    fn flush(&self) {}
}

static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();

/// Installs the capturing logger (once per test binary).
pub fn capture() {
    CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(c).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Info);
        c
    });
}

/// The lines captured so far that contain `needle`.
pub fn lines_with(needle: &str) -> Vec<String> {
    let c = CAPTURE.get().expect("logs::capture() first");
    c.0.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|l| l.contains(needle)).cloned().collect()
}
