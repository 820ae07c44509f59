//! The event-stream parser: WHATWG HTML §9.2.5 "Parsing an event stream" and §9.2.6
//! "Interpreting an event stream". Sans-I/O: bytes in, [`Output`]s out.
//!
//! One parser serves both paths: the body of an HTTP `text/event-stream` response, fed chunk by
//! chunk as it arrives, and a `text/event-stream` body that arrived whole in a WAP Push
//! ([`parse_body`]).
//!
//! Decoding is UTF-8 per line: line terminators are ASCII, so decoding each line on its own gives
//! the same characters as decoding the stream first (a multi-octet sequence cut by a terminator is
//! invalid either way), and invalid sequences become U+FFFD instead of stalling the stream.
//!
//! Memory is bounded by [`Limits`]: the partial line carried between feeds never exceeds
//! `max_line`, and an event's buffers never exceed `max_event` (plus one LF). A block (the lines
//! up to a blank line) that breaks a cap is dropped whole, reported once as
//! [`Output::Oversized`], and parsing resumes after the next blank line.

use std::borrow::Cow;
use std::mem;

/// The UTF-8 byte order mark, stripped once at the start of a stream (§9.2.5).
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Room for a field name, colon and space on top of the event cap, for the line cap derived from
/// it (`data: ` is 6 octets; 64 leaves room for longer unknown field names).
const LINE_OVERHEAD: usize = 64;

/// Caps that keep one stream's memory bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Octets in one line, without its terminator. A longer comment line is skipped; a longer
    /// field line drops its block.
    pub max_line: usize,
    /// Octets of one event: its data (one LF between lines), its type and its id, after UTF-8
    /// decoding. Every `data` line counts its LF, so endless empty `data:` lines hit the cap too.
    pub max_event: usize,
    /// `data`, `event` and `id` lines in one block (comments and unknown fields do not count:
    /// they hold no memory).
    pub max_lines: usize,
}

impl Limits {
    /// Caps derived from an event-size cap (the config's `max_event_bytes`).
    pub const fn for_event_bytes(max_event: usize) -> Limits {
        let lines = max_event / 8;
        Limits {
            max_line: max_event.saturating_add(LINE_OVERHEAD),
            max_event,
            max_lines: if lines < 1024 { 1024 } else { lines },
        }
    }

    /// Caps for a body that arrived by WAP Push (a few SMS segments at most; 64 KiB is generous).
    pub const WAP_PUSH: Limits = Limits::for_event_bytes(64 * 1024);
}

impl Default for Limits {
    /// 1 MiB events, the config's default `max_event_bytes`.
    fn default() -> Limits {
        Limits::for_event_bytes(1 << 20)
    }
}

/// One dispatched event (§9.2.6 "dispatch the event").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event` field, or `message` when there was none (or it was empty).
    pub event_type: String,
    /// The `data` lines joined with LF.
    pub data: String,
    /// The stream's last event ID when this event was dispatched (it persists across events).
    pub id: String,
    /// An `id` field set `id` since the previous event (in this event's block, or in a block
    /// without data before it); false when the event merely inherited it. A repeated explicit
    /// id names the same event again; an inherited one does not name this event at all.
    pub own_id: bool,
}

/// What the parser reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// An event was dispatched (a blank line after a block with data).
    Event(Event),
    /// A valid `retry` field: the new reconnection time in milliseconds (also from a block
    /// without data, and reported as soon as the line is read).
    Retry(u64),
    /// A block broke a cap and was dropped. `bytes` is the size that broke it: the line length
    /// for `max_line`, the event size for `max_event`, the line count for `max_lines`.
    Oversized {
        /// The size that broke the cap.
        bytes: usize,
    },
}

/// An incremental event-stream parser. Feed it bytes in any chunking; the result is the same.
#[derive(Debug, Clone)]
pub struct Parser {
    limits: Limits,
    /// BOM octets matched so far at the start of the stream, while `bom_checked` is false.
    bom_matched: usize,
    bom_checked: bool,
    /// The start of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// The last line ended with CR: an LF that follows belongs to that terminator.
    after_cr: bool,
    /// The current line broke `max_line`: its length so far, while it is discarded up to its
    /// terminator, and whether it is a comment (a long comment is harmless).
    overlong: Option<usize>,
    overlong_comment: bool,
    /// The current block broke a cap: ignore lines up to the next blank line.
    dropping: bool,
    // The block's buffers (§9.2.6).
    data: String,
    event_type: String,
    /// The `id` value of the current block (when `has_block_id`); it becomes the last event ID
    /// at dispatch. The buffer is reused from block to block.
    block_id: String,
    has_block_id: bool,
    block_lines: usize,
    // Stream state.
    last_event_id: String,
    /// An `id` field set `last_event_id` after the last dispatched event.
    id_is_new: bool,
    retry_ms: Option<u64>,
}

impl Parser {
    /// A parser for a new stream (the BOM is skipped once), with these caps.
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            bom_matched: 0,
            bom_checked: false,
            line: Vec::new(),
            after_cr: false,
            overlong: None,
            overlong_comment: false,
            dropping: false,
            data: String::new(),
            event_type: String::new(),
            block_id: String::new(),
            has_block_id: false,
            block_lines: 0,
            last_event_id: String::new(),
            id_is_new: false,
            retry_ms: None,
        }
    }

    /// Starts from a known last event ID (a reconnect, or the history shared with the SMS path):
    /// events without an `id` field carry it.
    pub fn with_last_event_id(mut self, id: String) -> Parser {
        self.last_event_id = id;
        self
    }

    /// The caps it was built with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The last event ID string: set at each dispatch from the `id` fields seen so far.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time from the last valid `retry` field, if any.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Parses the next chunk of the stream.
    pub fn feed(&mut self, mut input: &[u8], out: &mut impl FnMut(Output)) {
        if !self.bom_checked {
            while let Some((&b, rest)) = input.split_first() {
                if BOM.get(self.bom_matched) == Some(&b) {
                    self.bom_matched += 1;
                    input = rest;
                    if self.bom_matched == BOM.len() {
                        self.bom_checked = true;
                        break;
                    }
                } else {
                    // Not a BOM after all: the octets held back start the first line.
                    self.bom_checked = true;
                    let held = BOM.get(..self.bom_matched).unwrap_or_default();
                    self.scan(held, out);
                    break;
                }
            }
            if !self.bom_checked {
                return;
            }
        }
        self.scan(input, out);
    }

    /// Ends the stream: an unterminated block is discarded (§9.2.6 "Once the end of the file is
    /// reached, any pending data must be discarded"); an overlong field line cut by the end is
    /// still reported. The last event ID and reconnection time are kept, and the parser is ready
    /// for a new stream (BOM check included).
    pub fn finish(&mut self, out: &mut impl FnMut(Output)) {
        if let Some(len) = self.overlong.take() {
            if !self.overlong_comment && !self.dropping {
                out(Output::Oversized { bytes: len });
            }
        }
        self.line = Vec::new();
        self.after_cr = false;
        self.dropping = false;
        self.clear_block();
        self.bom_matched = 0;
        self.bom_checked = false;
    }

    /// Splits `input` into lines (CRLF, LF or CR, §9.2.5) and processes each complete one.
    fn scan(&mut self, mut input: &[u8], out: &mut impl FnMut(Output)) {
        if self.after_cr {
            match input.split_first() {
                Some((b'\n', rest)) => {
                    input = rest;
                    self.after_cr = false;
                }
                Some(_) => self.after_cr = false,
                None => return,
            }
        }
        while !input.is_empty() {
            let Some(i) = find_eol(input) else {
                self.push_partial(input);
                return;
            };
            let (head, tail) = input.split_at(i);
            let Some((&eol, mut rest)) = tail.split_first() else { return };
            self.end_line(head, out);
            if eol == b'\r' {
                // The line is complete at the CR; a following LF is part of its terminator.
                match rest.split_first() {
                    Some((b'\n', r)) => rest = r,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            input = rest;
        }
    }

    /// Keeps the start of a line whose terminator has not arrived yet, within `max_line`.
    fn push_partial(&mut self, bytes: &[u8]) {
        if let Some(len) = &mut self.overlong {
            *len = len.saturating_add(bytes.len());
            return;
        }
        let len = self.line.len() + bytes.len();
        if len > self.limits.max_line {
            // Reported when the line ends, so that the report does not depend on the chunking.
            self.overlong_comment = self.line.first().or(bytes.first()) == Some(&b':');
            self.overlong = Some(len);
            self.line = Vec::new();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    /// A line terminator arrived after `head`.
    fn end_line(&mut self, head: &[u8], out: &mut impl FnMut(Output)) {
        if let Some(len) = self.overlong.take() {
            if !self.overlong_comment {
                self.drop_block(len.saturating_add(head.len()), out);
            }
            return;
        }
        if self.line.is_empty() {
            self.process_line(head, out);
            return;
        }
        let len = self.line.len() + head.len();
        if len > self.limits.max_line {
            if self.line.first() != Some(&b':') {
                self.drop_block(len, out);
            }
            self.line.clear();
            return;
        }
        let mut line = mem::take(&mut self.line);
        line.extend_from_slice(head);
        self.process_line(&line, out);
        line.clear();
        self.line = line;
    }

    /// §9.2.6: one complete line.
    fn process_line(&mut self, line: &[u8], out: &mut impl FnMut(Output)) {
        let Some(&first) = line.first() else {
            self.dispatch(out);
            return;
        };
        if first == b':' {
            return; // a comment
        }
        if line.len() > self.limits.max_line {
            self.drop_block(line.len(), out);
            return;
        }
        if self.dropping {
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let (name, rest) = line.split_at(i);
                let value = rest.get(1..).unwrap_or_default();
                (name, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                let value = decode(value);
                if self.admit(value.len(), out) {
                    self.data.reserve(value.len() + 1);
                    self.data.push_str(&value);
                    self.data.push('\n');
                }
            }
            b"event" => {
                let value = decode(value);
                if self.admit(value.len().saturating_sub(self.event_type.len()), out) {
                    self.event_type.clear();
                    self.event_type.push_str(&value);
                }
            }
            b"id" => {
                // An id containing U+0000 is ignored; U+0000 is only ever the octet 0x00.
                if value.contains(&0) {
                    return;
                }
                let value = decode(value);
                let old = self.block_id_len();
                if self.admit(value.len().saturating_sub(old), out) {
                    self.block_id.clear();
                    self.block_id.push_str(&value);
                    self.has_block_id = true;
                }
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.retry_ms = Some(ms);
                    out(Output::Retry(ms));
                }
            }
            _ => {}
        }
    }

    fn block_id_len(&self) -> usize {
        if self.has_block_id {
            self.block_id.len()
        } else {
            0
        }
    }

    /// Whether a field line that grows the event by `grow` octets fits the caps; drops the block
    /// if not.
    fn admit(&mut self, grow: usize, out: &mut impl FnMut(Output)) -> bool {
        self.block_lines += 1;
        if self.block_lines > self.limits.max_lines {
            let lines = self.block_lines;
            self.drop_block(lines, out);
            return false;
        }
        let id = self.block_id_len();
        let size = self.data.len() + self.event_type.len() + id + grow;
        if size > self.limits.max_event {
            self.drop_block(size, out);
            return false;
        }
        true
    }

    /// Drops the current block, reporting it once.
    fn drop_block(&mut self, bytes: usize, out: &mut impl FnMut(Output)) {
        if !self.dropping {
            self.dropping = true;
            out(Output::Oversized { bytes });
        }
        self.clear_block();
    }

    fn clear_block(&mut self) {
        // Release rather than clear: a dropped block may have grown the buffers to the cap.
        self.data = String::new();
        self.event_type = String::new();
        self.block_id = String::new();
        self.has_block_id = false;
        self.block_lines = 0;
    }

    /// A blank line: §9.2.6 "dispatch the event".
    fn dispatch(&mut self, out: &mut impl FnMut(Output)) {
        if self.dropping {
            self.dropping = false;
            self.clear_block();
            return;
        }
        self.block_lines = 0;
        if self.has_block_id {
            // The old last ID's buffer becomes the next block's: no allocation per event.
            mem::swap(&mut self.last_event_id, &mut self.block_id);
            self.block_id.clear();
            self.has_block_id = false;
            self.id_is_new = true;
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        let mut data = mem::take(&mut self.data);
        if data.ends_with('\n') {
            data.pop();
        }
        let event_type = if self.event_type.is_empty() {
            String::from("message")
        } else {
            mem::take(&mut self.event_type)
        };
        let own_id = mem::take(&mut self.id_is_new);
        out(Output::Event(Event { event_type, data, id: self.last_event_id.clone(), own_id }));
    }
}

/// A `retry` value: ASCII digits only (no sign, no space, not empty). Values past `u64` saturate.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |n, &d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}

/// The index of the first CR or LF (memchr's vectorised search; nom already links it).
fn find_eol(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', b'\r', bytes)
}

/// UTF-8 with U+FFFD for invalid sequences; the common valid case without the lossy decoder.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A whole stream parsed at once: what [`parse_body`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedBody {
    /// The events dispatched, in order.
    pub events: Vec<Event>,
    /// The reconnection time from the last valid `retry` field.
    pub retry_ms: Option<u64>,
    /// Blocks dropped for breaking a cap.
    pub dropped: usize,
}

/// Parses a complete stream, such as a `text/event-stream` body that arrived by WAP Push: the
/// BOM is stripped once and an unterminated last block is discarded.
pub fn parse_body(body: &[u8], limits: Limits) -> ParsedBody {
    let mut parser = Parser::new(limits);
    let mut parsed = ParsedBody::default();
    parser.feed(body, &mut |o| match o {
        Output::Event(e) => parsed.events.push(e),
        Output::Retry(ms) => parsed.retry_ms = Some(ms),
        Output::Oversized { .. } => parsed.dropped += 1,
    });
    parser.finish(&mut |o| {
        if let Output::Oversized { .. } = o {
            parsed.dropped += 1;
        }
    });
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `input` whole, one octet at a time, and split at every point, asserts that all
    /// give the same outputs, and returns them.
    fn outputs_with(input: &[u8], limits: Limits, last_id: &str) -> Vec<Output> {
        let run = |chunks: &[&[u8]]| {
            let mut p = Parser::new(limits).with_last_event_id(last_id.into());
            let mut v = Vec::new();
            for c in chunks {
                p.feed(c, &mut |o| v.push(o));
            }
            p.finish(&mut |o| v.push(o));
            v
        };
        let whole = run(&[input]);
        let octets: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(&octets), whole, "octet by octet");
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            assert_eq!(run(&[a, b]), whole, "split at {i}");
        }
        whole
    }

    fn outputs(input: &[u8]) -> Vec<Output> {
        outputs_with(input, Limits::default(), "")
    }

    fn events(input: &[u8]) -> Vec<Event> {
        outputs(input)
            .into_iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    fn datas(input: &[u8]) -> Vec<String> {
        events(input).into_iter().map(|e| e.data).collect()
    }

    /// An event whose id was inherited (or empty).
    fn ev(event_type: &str, data: &str, id: &str) -> Event {
        Event { event_type: event_type.into(), data: data.into(), id: id.into(), own_id: false }
    }

    /// An event whose id an `id` field set.
    fn own(event_type: &str, data: &str, id: &str) -> Event {
        Event { own_id: true, ..ev(event_type, data, id) }
    }

    // The web-platform-tests `eventsource/` cases, restated as facts. The WPT server
    // (`resources/message.py`) sends the `message` parameter, then `newline` (default LF LF,
    // `none` for nothing), then one more LF; the inputs below are those bytes.

    #[test]
    fn wpt_format_bom() {
        // A BOM is stripped once at the start; the second one makes the field name
        // "\u{FEFF}data", an unknown field, so event "2" never happens.
        assert_eq!(datas(b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n"), ["1", "3"]);
    }

    #[test]
    fn wpt_format_bom_2() {
        // Two BOMs: only the first is stripped, so the first block is an unknown field.
        assert_eq!(datas(b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n\n"), ["2", "3"]);
    }

    #[test]
    fn wpt_format_comments() {
        // Comments of every length and with every terminator, inside one block.
        let long = "x".repeat(2048);
        let input = format!("data:1\r:\0\n:\r\ndata:2\n:{long}\rdata:3\n:data:fail\r:{long}\ndata:4\n\n");
        assert_eq!(datas(input.as_bytes()), ["1\n2\n3\n4"]);
    }

    #[test]
    fn wpt_format_data_before_final_empty_line() {
        // The last block has no blank line after it: discarded at the end, its id unused.
        let out = outputs(b"retry:1000\ndata:test1\n\nid:test\ndata:test2\n");
        assert_eq!(out, [Output::Retry(1000), Output::Event(ev("message", "test1", ""))]);
        let mut p = Parser::new(Limits::default());
        p.feed(b"retry:1000\ndata:test1\n\nid:test\ndata:test2\n", &mut |_| {});
        p.finish(&mut |_| {});
        assert_eq!(p.last_event_id(), "");
        assert_eq!(p.retry_ms(), Some(1000));
    }

    #[test]
    fn wpt_format_field_data() {
        // "data:" LF LF dispatches "", two "data" lines without colon dispatch "\n".
        assert_eq!(datas(b"data:\n\ndata\ndata\n\ndata:test\n\n\n"), ["", "\n", "test"]);
    }

    #[test]
    fn wpt_format_field_event_empty() {
        assert_eq!(events(b"event: \ndata:data\n\n\n"), [ev("message", "data", "")]);
    }

    #[test]
    fn wpt_format_field_event() {
        // The type applies to one event only.
        assert_eq!(
            events(b"event:test\ndata:x\n\ndata:x\n\n\n"),
            [ev("test", "x", ""), ev("message", "x", "")]
        );
    }

    #[test]
    fn wpt_format_field_id() {
        // `resources/last-event-id`: first connection, then the reconnect that sent
        // `Last-Event-ID: …` and got it echoed as data; the id persists into the new stream.
        let first = outputs("id: …\nretry: 200\ndata: hello\n\n".as_bytes());
        assert_eq!(first, [Output::Retry(200), Output::Event(own("message", "hello", "…"))]);
        let again = outputs_with("data: …\n\n".as_bytes(), Limits::default(), "…");
        assert_eq!(again, [Output::Event(ev("message", "…", "…"))]);
    }

    #[test]
    fn wpt_format_field_id_3() {
        // `resources/last-event-id2`: the id persists, changes, and resets (with and without
        // colon).
        let ids = |input: &[u8]| events(input).into_iter().map(|e| (e.data, e.id)).collect::<Vec<_>>();
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(ids(b"id: 1\ndata: 1\n\ndata:2\n\n"), [s("1", "1"), s("2", "1")]);
        assert_eq!(
            ids(b"id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n"),
            [s("1", "1"), s("2", "2"), s("3", "2")]
        );
        assert_eq!(
            ids(b"id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n"),
            [s("1", "1"), s("2", ""), s("3", "")]
        );
        assert_eq!(ids(b"id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n"), [s("1", "1"), s("2", ""), s("3", "")]);
    }

    #[test]
    fn wpt_format_field_id_null() {
        // An id value containing NUL anywhere is ignored (the previous id stays).
        for id in [&b"\0\0"[..], b"x\0", b"\0x", b"x\0x", b" \0"] {
            let mut input = b"id: ".to_vec();
            input.extend_from_slice(id);
            input.extend_from_slice(b"\ndata: hello\n\n");
            assert_eq!(events(&input), [ev("message", "hello", "")], "{id:?}");
            assert_eq!(
                outputs_with(&input, Limits::default(), "7"),
                [Output::Event(ev("message", "hello", "7"))],
                "{id:?}"
            );
        }
    }

    #[test]
    fn wpt_format_field_parsing() {
        // Field names are case-sensitive and exact; only one leading space is removed; NUL is
        // data; " data:32" has the field name " data".
        let input = b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n";
        assert_eq!(datas(input), ["\0\n 2\n1\n3\n\n4"]);
    }

    #[test]
    fn wpt_format_field_retry_bogus() {
        let out = outputs(b"retry:3000\nretry:1000x\ndata:x\n\n\n");
        assert_eq!(out, [Output::Retry(3000), Output::Event(ev("message", "x", ""))]);
    }

    #[test]
    fn wpt_format_field_retry() {
        // Leading zeros are decimal, not octal.
        assert_eq!(outputs(b"retry:03000\ndata:x\n\n\n")[0], Output::Retry(3000));
    }

    #[test]
    fn wpt_format_field_retry_empty() {
        assert_eq!(outputs(b"retry\ndata:test\n\n\n"), [Output::Event(ev("message", "test", ""))]);
    }

    #[test]
    fn wpt_format_field_unknown() {
        assert_eq!(
            datas(b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n"),
            ["test\n\ntest"]
        );
    }

    #[test]
    fn wpt_format_leading_space() {
        // A tab is not a space; "data: " is an empty line of data; a CR ends a line.
        assert_eq!(datas(b"data:\ttest\rdata: \ndata:test\n\n\n"), ["\ttest\n\ntest"]);
    }

    #[test]
    fn wpt_format_newlines() {
        // CRLF, LF and CR; the final CR alone ends the blank line.
        assert_eq!(datas(b"data:test\r\ndata\ndata:test\r\n\r\n"), ["test\n\ntest"]);
    }

    #[test]
    fn wpt_format_null_character() {
        assert_eq!(datas(b"data:\0\n\n\n\n"), ["\0"]);
    }

    #[test]
    fn wpt_format_utf_8() {
        // Always UTF-8, whatever charset the Content-Type names.
        assert_eq!(datas(b"data:ok\xE2\x80\xA6\n\n\n"), ["ok\u{2026}"]);
    }

    // Beyond WPT.

    #[test]
    fn cr_at_end_of_feed_dispatches_at_once_and_swallows_the_lf() {
        let mut p = Parser::new(Limits::default());
        let mut v = Vec::new();
        p.feed(b"data:a\r\r", &mut |o| v.push(o));
        // The CR CR pair is a line end and a blank line: the event is out before any LF.
        assert_eq!(v, [Output::Event(ev("message", "a", ""))]);
        // The LF that follows belongs to the second CR, not a new blank line.
        p.feed(b"\ndata:b\n\n", &mut |o| v.push(o));
        assert_eq!(v.len(), 2);
        assert_eq!(v[1], Output::Event(ev("message", "b", "")));
    }

    #[test]
    fn bom_split_across_feeds_and_partial_bom() {
        let mut p = Parser::new(Limits::default());
        let mut v = Vec::new();
        for c in [&b"\xEF"[..], b"\xBB", b"\xBF", b"data:1\n\n"] {
            p.feed(c, &mut |o| v.push(o));
        }
        assert_eq!(v, [Output::Event(ev("message", "1", ""))]);
        // EF BB then something else: not a BOM; the octets start the first line (an unknown
        // field named "\u{FFFD}data"), so nothing is dispatched from that block.
        assert!(events(b"\xEF\xBBdata:1\n\ndata:2\n\n").iter().map(|e| &e.data).eq(["2"].iter()));
        // A BOM after finish() is stripped again: finish() starts a new stream.
        let mut v = Vec::new();
        p.finish(&mut |_| {});
        p.feed(b"\xEF\xBB\xBFdata:3\n\n", &mut |o| v.push(o));
        assert_eq!(v, [Output::Event(ev("message", "3", ""))]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_and_parsing_continues() {
        // FF is never valid; E2 82 is a truncated three-octet sequence cut by the LF.
        let e = events(b"data:a\xFFb\ndata:\xE2\x82\nid:\xC3\n\ndata:next\n\n");
        assert_eq!(
            e,
            [own("message", "a\u{FFFD}b\n\u{FFFD}", "\u{FFFD}"), ev("message", "next", "\u{FFFD}")]
        );
    }

    #[test]
    fn retry_rules() {
        let r = |input: &[u8]| {
            outputs(input)
                .into_iter()
                .filter_map(|o| match o {
                    Output::Retry(ms) => Some(ms),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(r(b"retry: 1500\n\n"), [1500], "one leading space is removed first");
        assert_eq!(r(b"retry:0\n\n"), [0], "zero is valid");
        assert!(r(b"retry:+1\n\nretry:-1\n\nretry:  1\n\nretry:1 \n\nretry:1.5\n\nretry:\n\n").is_empty());
        assert_eq!(r(b"retry:99999999999999999999999\n\n"), [u64::MAX], "saturates");
        // A retry-only block (no data) still sets the reconnection time.
        let mut p = Parser::new(Limits::default());
        p.feed(b"retry: 42\n\n", &mut |_| {});
        assert_eq!(p.retry_ms(), Some(42));
    }

    #[test]
    fn id_only_block_moves_last_event_id_without_dispatch() {
        let mut p = Parser::new(Limits::default());
        let mut v = Vec::new();
        p.feed(b"id: 9\n\n", &mut |o| v.push(o));
        assert!(v.is_empty());
        assert_eq!(p.last_event_id(), "9");
        p.feed(b"data: x\n\n", &mut |o| v.push(o));
        // The first event after it owns the id; the next one inherits it.
        p.feed(b"data: y\n\n", &mut |o| v.push(o));
        assert_eq!(v, [Output::Event(own("message", "x", "9")), Output::Event(ev("message", "y", "9"))]);
    }

    #[test]
    fn a_repeated_id_field_is_owned_an_inherited_id_is_not() {
        let e = events(b"id: x\ndata: a\n\nid: x\ndata: a\n\ndata: b\n\nid:\ndata: c\n\n");
        assert_eq!(
            e,
            [
                own("message", "a", "x"),
                own("message", "a", "x"),
                ev("message", "b", "x"),
                own("message", "c", "")
            ]
        );
        // A reconnect's Last-Event-ID is inherited, never owned.
        let again = outputs_with(b"data: d\n\nid: 5\ndata: e\n\n", Limits::default(), "x");
        assert_eq!(again, [Output::Event(ev("message", "d", "x")), Output::Event(own("message", "e", "5"))]);
    }

    #[test]
    fn unterminated_block_discarded_including_its_id() {
        let mut p = Parser::new(Limits::default()).with_last_event_id("1".into());
        let mut v = Vec::new();
        p.feed(b"id: 2\ndata: x\n", &mut |o| v.push(o));
        p.finish(&mut |o| v.push(o));
        assert!(v.is_empty());
        assert_eq!(p.last_event_id(), "1");
    }

    fn small() -> Limits {
        Limits { max_line: 16, max_event: 10, max_lines: 4 }
    }

    #[test]
    fn long_line_drops_its_block_and_resyncs_at_blank_line() {
        // Line "data: " + 20 x = 26 octets > max_line 16.
        let input = format!("data: {}\ndata: after\n\ndata: ok\n\n", "x".repeat(20));
        let out = outputs_with(input.as_bytes(), small(), "");
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(out[0], Output::Oversized { bytes } if bytes > 16));
        assert_eq!(out[1], Output::Event(ev("message", "ok", "")));
    }

    #[test]
    fn long_comment_is_skipped_without_dropping_the_block() {
        let input = format!("data: a\n:{}\ndata: b\n\n", "x".repeat(100));
        assert_eq!(outputs_with(input.as_bytes(), small(), ""), [Output::Event(ev("message", "a\nb", ""))]);
    }

    #[test]
    fn event_size_counts_data_type_and_id() {
        // data "12345" (5) + LF, then "6789" (4): 5 + 1 + 4 = 10 = max_event: fits.
        assert_eq!(
            outputs_with(b"data:12345\ndata:6789\n\n", small(), ""),
            [Output::Event(ev("message", "12345\n6789", ""))]
        );
        // One octet more does not.
        assert_eq!(
            outputs_with(b"data:12345\ndata:67890\n\n", small(), ""),
            [Output::Oversized { bytes: 11 }]
        );
        // type (3) + id (3) + data (5) = 11.
        assert_eq!(
            outputs_with(b"event:abc\nid:def\ndata:12345\n\n", small(), ""),
            [Output::Oversized { bytes: 11 }]
        );
        // A dropped block's id does not become the last event ID.
        let out = outputs_with(b"id:zz\ndata:1234567890\n\ndata:k\n\n", small(), "");
        assert_eq!(out, [Output::Oversized { bytes: 12 }, Output::Event(ev("message", "k", ""))]);
    }

    #[test]
    fn endless_empty_data_lines_are_capped() {
        // Each empty data line adds one LF between lines: 11 lines make 10 octets of data
        // (fits), the twelfth makes 11.
        let limits = Limits { max_line: 16, max_event: 10, max_lines: 100 };
        let out = outputs_with(&b"data\n".repeat(11), limits, "");
        assert_eq!(out, []);
        let out = outputs_with(&b"data\n".repeat(12), limits, "");
        assert_eq!(out, [Output::Oversized { bytes: 11 }]);
        // And with a line cap of 4, the fifth line breaks it first.
        let out = outputs_with(&b"data\n".repeat(11), small(), "");
        assert_eq!(out, [Output::Oversized { bytes: 5 }]);
    }

    #[test]
    fn memory_stays_bounded_on_an_endless_line_and_an_endless_event() {
        let limits = Limits { max_line: 1000, max_event: 4000, max_lines: 1_000_000 };
        let mut p = Parser::new(limits);
        let mut reports = 0;
        let chunk = vec![b'x'; 4096];
        p.feed(b"data:", &mut |_| {});
        for _ in 0..1000 {
            p.feed(&chunk, &mut |_| reports += 1);
            assert!(p.line.capacity() <= 1000 + 4096, "line buffer {}", p.line.capacity());
        }
        assert_eq!(reports, 0, "reported when the line ends");
        p.feed(b"\n\n", &mut |_| reports += 1);
        assert_eq!(reports, 1);
        let line = [b"data: ".as_slice(), &[b'y'; 900], b"\n"].concat();
        for _ in 0..1000 {
            p.feed(&line, &mut |_| reports += 1);
            assert!(p.data.capacity() <= 2 * 4001, "data buffer {}", p.data.capacity());
        }
        assert_eq!(reports, 2);
        let mut v = Vec::new();
        p.feed(b"\ndata: fine\n\n", &mut |o| v.push(o));
        assert_eq!(v, [Output::Event(ev("message", "fine", ""))]);
    }

    #[test]
    fn parse_body_counts_drops() {
        let body =
            format!("\u{FEFF}retry: 5\ndata: {}\n\ndata: a\n\nid: 3\ndata: b\n\ndata: tail", "x".repeat(40));
        let parsed = parse_body(body.as_bytes(), Limits { max_line: 100, max_event: 20, max_lines: 10 });
        assert_eq!(parsed.events, [ev("message", "a", ""), own("message", "b", "3")]);
        assert_eq!(parsed.retry_ms, Some(5));
        assert_eq!(parsed.dropped, 1);
    }

    #[test]
    fn find_eol_matches_a_plain_search() {
        let mut bytes: Vec<u8> = (0..=255u8).filter(|&b| b != b'\n' && b != b'\r').collect();
        bytes.extend_from_slice(&bytes.clone());
        assert_eq!(find_eol(&bytes), None);
        for at in 0..bytes.len() {
            for eol in [b'\n', b'\r'] {
                let mut b = bytes.clone();
                b[at] = eol;
                // A second terminator later must not win.
                let later = (at + 9).min(b.len() - 1);
                b[later] = b'\n';
                assert_eq!(find_eol(&b), Some(at), "at {at}");
                // 0x0B/0x0C/0x0E next to the match stress the borrow in the SWAR trick.
                assert_eq!(find_eol(&b[at.saturating_sub(3)..]), Some(at - at.saturating_sub(3)));
            }
        }
    }

    mod props {
        use super::super::*;
        use crate::sse::encode::Encoder;
        use proptest::prelude::*;

        fn run(chunks: &[&[u8]], limits: Limits) -> (Vec<Output>, String, Option<u64>) {
            let mut p = Parser::new(limits);
            let mut v = Vec::new();
            for c in chunks {
                p.feed(c, &mut |o| v.push(o));
            }
            p.finish(&mut |o| v.push(o));
            (v, p.last_event_id().to_string(), p.retry_ms())
        }

        /// Arbitrary chunk boundaries over `bytes`.
        fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut out = Vec::new();
            let mut at = 0;
            for c in cuts {
                out.push(bytes[at..c].to_vec());
                at = c;
            }
            out.push(bytes[at..].to_vec());
            out
        }

        #[derive(Debug, Clone)]
        enum Item {
            Event(Event),
            Retry(u64),
            Comment(String),
        }

        fn item() -> impl Strategy<Value = Item> {
            let text = "[a-z :\u{e9}\u{2026}\u{1F600}\t\0]{0,12}";
            let data = prop::collection::vec(text, 1..4).prop_map(|l| l.join("\n"));
            let event_type = prop_oneof!["[a-z]{1,8}", Just("message".to_string())];
            let id = prop_oneof!["[a-z0-9 ]{0,6}", Just(String::new())];
            prop_oneof![
                6 => (event_type, data, id, any::<bool>())
                    .prop_map(|(event_type, data, id, own_id)| Item::Event(Event { event_type, data, id, own_id })),
                1 => any::<u64>().prop_map(Item::Retry),
                1 => "[a-z: ]{0,10}".prop_map(Item::Comment),
            ]
        }

        proptest! {
            #[test]
            fn decode_encode_round_trip_in_any_chunking(
                items in prop::collection::vec(item(), 0..8),
                bom in any::<bool>(),
                cuts in prop::collection::vec(any::<usize>(), 0..6),
            ) {
                let mut enc = Encoder::new();
                let mut enc_id = String::new();
                let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
                let mut expect = Vec::new();
                for it in &items {
                    match it {
                        Item::Event(e) => {
                            // An id field is written when the id changes or is owned.
                            let own_id = e.own_id || e.id != enc_id;
                            enc_id.clone_from(&e.id);
                            enc.event(e, &mut bytes).unwrap();
                            expect.push(Output::Event(Event { own_id, ..e.clone() }));
                        }
                        Item::Retry(ms) => {
                            enc.retry(*ms, &mut bytes);
                            expect.push(Output::Retry(*ms));
                        }
                        Item::Comment(c) => enc.comment(c, &mut bytes),
                    }
                }
                let chunks = chunked(&bytes, &cuts);
                let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
                let (got, _, _) = run(&refs, Limits::default());
                prop_assert_eq!(&got, &expect);
                // Every single split point gives the same result.
                for i in 0..=bytes.len() {
                    let (a, b) = bytes.split_at(i);
                    prop_assert_eq!(&run(&[a, b], Limits::default()).0, &expect, "split at {}", i);
                }
            }

            #[test]
            fn arbitrary_bytes_parse_the_same_in_any_chunking(
                bytes in prop::collection::vec(prop_oneof![
                    4 => Just(b'\n'), 2 => Just(b'\r'), 3 => Just(b':'), 1 => Just(b' '), 1 => Just(0u8),
                    2 => Just(b'd'), 1 => Just(0xEF), 1 => Just(0xBB), 1 => Just(0xBF), 4 => any::<u8>(),
                ], 0..200),
                words in any::<bool>(),
                cuts in prop::collection::vec(any::<usize>(), 0..10),
                max_line in 1usize..40,
                max_event in 0usize..40,
                max_lines in 1usize..6,
            ) {
                // Sprinkle whole field names in, so that fields are actually exercised.
                let mut bytes = bytes;
                if words {
                    for (i, w) in [&b"data:"[..], b"id:", b"event:", b"retry:", b"data"].iter().enumerate() {
                        let at = (i * 37) % (bytes.len() + 1);
                        bytes.splice(at..at, w.iter().copied());
                    }
                }
                let limits = Limits { max_line, max_event, max_lines };
                let whole = run(&[&bytes], limits);
                let chunks = chunked(&bytes, &cuts);
                let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
                prop_assert_eq!(&run(&refs, limits), &whole);
                let octets: Vec<&[u8]> = bytes.chunks(1).collect();
                prop_assert_eq!(&run(&octets, limits), &whole);
                for o in &whole.0 {
                    if let Output::Event(e) = o {
                        prop_assert!(e.data.len() <= max_event);
                        prop_assert!(!e.data.contains('\r'));
                    }
                }
            }
        }
    }
}
