//! Line framing of the modem's byte stream (TS 27.007 §4.1: `<CR><LF>`-delimited responses).
//!
//! Real modems end lines with `\r\n`, a bare `\r`, or `\r\r\n`; any run of CR/LF ends one line
//! and empty lines are dropped. Bytes that cannot appear in an AT response (controls other than
//! CR/LF/TAB, and non-ASCII) are noise and skipped. A line longer than the cap is dropped whole,
//! so memory stays bounded whatever the modem sends.

/// Default cap on one line: a 176-octet PDU in hex plus a generous header.
pub const DEFAULT_MAX_LINE: usize = 1024;

/// What the framer produced besides lines, for logging.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FramerStats {
    /// Noise bytes skipped so far.
    pub noise_bytes: u64,
    /// Lines dropped because they exceeded the cap.
    pub overlong_lines: u64,
}

/// Splits bytes into lines. Feed it any chunking; it keeps at most `max_line` bytes.
#[derive(Debug)]
pub struct LineFramer {
    buf: Vec<u8>,
    max_line: usize,
    /// The current line overflowed: discard until the next terminator.
    discarding: bool,
    stats: FramerStats,
}

impl Default for LineFramer {
    fn default() -> Self {
        LineFramer::new(DEFAULT_MAX_LINE)
    }
}

impl LineFramer {
    /// A framer that drops lines longer than `max_line` octets.
    pub fn new(max_line: usize) -> Self {
        LineFramer { buf: Vec::new(), max_line, discarding: false, stats: FramerStats::default() }
    }

    /// What was dropped so far.
    pub fn stats(&self) -> &FramerStats {
        &self.stats
    }

    /// The partial line held so far (for the `> ` prompt and tests).
    pub fn partial(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets any partial line (after a reconnect).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.discarding = false;
    }

    /// Feeds bytes; calls `on_line` for each complete non-empty line, in order.
    pub fn feed(&mut self, bytes: &[u8], mut on_line: impl FnMut(&str)) {
        for &b in bytes {
            match b {
                b'\r' | b'\n' => {
                    if self.discarding {
                        self.discarding = false;
                        self.buf.clear();
                        continue;
                    }
                    if !self.buf.is_empty() {
                        // Only printable ASCII and TAB are ever stored, so this cannot fail.
                        if let Ok(s) = std::str::from_utf8(&self.buf) {
                            // A line of blanks only is an empty line too.
                            let line = s.trim_end_matches([' ', '\t']);
                            if !line.is_empty() {
                                on_line(line);
                            }
                        }
                        self.buf.clear();
                    }
                }
                b'\t' | 0x20..=0x7e => {
                    if self.discarding {
                        continue;
                    }
                    if self.buf.len() >= self.max_line {
                        self.stats.overlong_lines += 1;
                        log::warn!("modem: dropping a line longer than {} bytes", self.max_line);
                        self.buf.clear();
                        self.discarding = true;
                        continue;
                    }
                    self.buf.push(b);
                }
                _ => self.stats.noise_bytes += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(f: &mut LineFramer, bytes: &[u8]) -> Vec<String> {
        let mut v = Vec::new();
        f.feed(bytes, |l| v.push(l.to_string()));
        v
    }

    #[test]
    fn all_terminators() {
        let mut f = LineFramer::default();
        assert_eq!(lines(&mut f, b"\r\nOK\r\n"), ["OK"]);
        assert_eq!(lines(&mut f, b"A\rB\r\r\nC\nD"), ["A", "B", "C"]);
        assert_eq!(lines(&mut f, b"\r"), ["D"]);
    }

    #[test]
    fn blank_lines_are_dropped() {
        // Found by the `at` fuzz target: a line of spaces came out as an empty line.
        let mut f = LineFramer::default();
        assert_eq!(lines(&mut f, b" \r\n\t \r\nOK  \r\n"), ["OK"]);
    }

    #[test]
    fn split_anywhere() {
        let input = b"\r\n+CMTI: \"SM\",3\r\n\r\nOK\r\n";
        for cut in 0..input.len() {
            let mut f = LineFramer::default();
            let mut v = lines(&mut f, &input[..cut]);
            v.extend(lines(&mut f, &input[cut..]));
            assert_eq!(v, ["+CMTI: \"SM\",3", "OK"], "cut at {cut}");
        }
    }

    #[test]
    fn noise_skipped_and_long_lines_dropped() {
        let mut f = LineFramer::new(8);
        assert_eq!(lines(&mut f, b"\x00O\xffK\x1b\r\n"), ["OK"]);
        assert_eq!(f.stats().noise_bytes, 3);
        assert_eq!(lines(&mut f, b"0123456789ABCDEF\r\nOK\r\n"), ["OK"]);
        assert_eq!(f.stats().overlong_lines, 1);
        assert!(f.partial().is_empty());
    }

    #[test]
    fn trailing_spaces_trimmed() {
        let mut f = LineFramer::default();
        assert_eq!(lines(&mut f, b"OK  \r\n"), ["OK"]);
    }
}
