//! Log output of the two binaries: `env_logger` filtering (`RUST_LOG`) with a small formatter of
//! our own, so that neither colour nor time-formatting crates end up in the board's binary.
//!
//! Under systemd (`JOURNAL_STREAM` set) each line starts with the syslog priority (`<3>` …
//! `<7>`, sd-daemon(3)) and carries no time, since the journal adds both; elsewhere a line is
//! `2026-11-22T04:50:01.123Z INFO otapush::daemon] text`.

use std::io::Write;

/// The longest piece of foreign text (an agent's error message, a filter) put into a log line
/// or stored (a dead letter's reason), in bytes.
pub const MAX_FOREIGN_TEXT: usize = 256;

/// `text` cut to [`MAX_FOREIGN_TEXT`] bytes (at a character boundary) with `… (N bytes)`
/// appended when it was longer, so a huge message costs one short line.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_FOREIGN_TEXT {
        return text.into();
    }
    let mut end = MAX_FOREIGN_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len()).into()
}

/// Installs the logger; `default` is the filter when `RUST_LOG` is unset (e.g. `"info"`).
pub fn init(default: &str) {
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format(move |f, record| {
            if journal {
                writeln!(f, "<{}>{}: {}", priority(record.level()), record.target(), record.args())
            } else {
                writeln!(
                    f,
                    "{} {:<5} {}] {}",
                    timestamp(crate::time::now_ms()),
                    record.level(),
                    record.target(),
                    record.args()
                )
            }
        })
        .init();
}

/// The syslog priority of a level (RFC 5424 §6.2.1): error 3, warning 4, info 6, debug 7.
fn priority(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// UTC with milliseconds, e.g. `2026-11-22T04:50:01.123Z`.
fn timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    let (day, rem) = ((secs / 86_400) as i64, (secs % 86_400) as u32);
    let text = crate::time::format_rfc3339(
        crate::time::civil_from_days(day),
        (rem / 3600, rem / 60 % 60, rem % 60),
        0,
    );
    // "…T04:50:01+00:00" → "…T04:50:01.123Z"
    format!("{}.{:03}Z", text.get(..19).unwrap_or(&text), ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_at_a_char_boundary() {
        assert_eq!(clip("short"), "short");
        let exact = "x".repeat(MAX_FOREIGN_TEXT);
        assert_eq!(clip(&exact), exact.as_str());
        let long = format!("{}{}", "é".repeat(200), "y".repeat(1 << 20));
        let c = clip(&long);
        assert!(c.len() < MAX_FOREIGN_TEXT + 32, "{}", c.len());
        assert!(c.starts_with("éé") && c.ends_with(&format!("… ({} bytes)", long.len())), "{c}");
    }

    #[test]
    fn timestamp_is_utc_with_milliseconds() {
        // 2026-11-22T04:50:01.123Z: 20779 days after 1970-01-01, plus 4 h 50 min 1.123 s.
        let ms = (20_779 * 86_400 + 4 * 3600 + 50 * 60 + 1) * 1000 + 123;
        assert_eq!(timestamp(ms), "2026-11-22T04:50:01.123Z");
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(priority(log::Level::Error), 3);
        assert_eq!(priority(log::Level::Warn), 4);
        assert_eq!(priority(log::Level::Info), 6);
        assert_eq!(priority(log::Level::Trace), 7);
    }
}
