//! The AT engine: a sans-I/O core. Bytes and time go in; bytes to write, command responses and
//! URCs come out. One command is in flight at a time with a queue behind it (V.250 §5.2.1: a
//! new command line must wait for the final result of the previous one).
//!
//! A line is, in this order: the PDU awaited after a two-line header; an echo (`AT…`, or the
//! exact text of the command in flight); a final result code; a two-line URC header (`+CMT:`,
//! `+CDS:`, `+CBM:`); an information response of the command in flight (by its expected
//! prefixes); otherwise a URC. So a URC before, inside or glued after a response is never lost.

use super::command::Command;
use super::framer::{LineFramer, DEFAULT_MAX_LINE};
use super::pdu::RawPdu;
use super::response::{looks_like_pdu, parse_pdu_header, pdu_hex, PduHeader};
use super::result::FinalResult;
use super::urc::{PduUrcKind, Urc, TWO_LINE_URCS};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long to wait for a missing final result once the expected response has arrived
/// (Wavecom prints `+CPIN: READY` without `OK`).
pub const DEFAULT_GRACE: Duration = Duration::from_millis(1500);

/// Identifies a submitted command in its [`Response`].
pub type CommandId = u64;

/// One information-response line, with the PDU that followed it in PDU mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseLine {
    /// The line as received.
    pub text: String,
    /// The PDU on the next line, for a command with `pdu_follows`.
    pub pdu: Option<RawPdu>,
}

/// A finished command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// What [`AtEngine::submit`] returned for it.
    pub id: CommandId,
    /// The command line as sent.
    pub command: String,
    /// Its information-response lines (those with an expected prefix).
    pub lines: Vec<ResponseLine>,
    /// The final result code (V.250 §5.7.1).
    pub result: FinalResult,
    /// The modem echoed the command line back (V.250 §6.2.4 `E1`).
    pub echoed: bool,
}

impl Response {
    /// The first line with this prefix.
    pub fn line(&self, prefix: &str) -> Option<&str> {
        self.lines.iter().map(|l| l.text.as_str()).find(|l| l.starts_with(prefix))
    }
}

/// What the engine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A command finished (or timed out).
    Response(Response),
    /// An unsolicited result code (TS 27.005 §3.4.1, TS 27.007 §8.10).
    Urc(Urc),
}

#[derive(Debug)]
struct InFlight {
    id: CommandId,
    cmd: Command,
    lines: Vec<ResponseLine>,
    deadline: Instant,
    grace: Option<Instant>,
    echoed: bool,
}

/// Who the next line belongs to when it is a PDU.
#[derive(Debug)]
enum PduWait {
    Urc(PduUrcKind, PduHeader),
    /// The last line of the command in flight, which had this prefix.
    Response(&'static str, PduHeader),
}

/// The engine. See the module doc for the line classification.
#[derive(Debug)]
pub struct AtEngine {
    framer: LineFramer,
    queue: VecDeque<(CommandId, Command)>,
    in_flight: Option<InFlight>,
    pdu_wait: Option<PduWait>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    next_id: CommandId,
    grace: Duration,
    junk_lines: u64,
}

impl Default for AtEngine {
    fn default() -> Self {
        AtEngine::new(DEFAULT_MAX_LINE, DEFAULT_GRACE)
    }
}

impl AtEngine {
    /// An engine that drops lines longer than `max_line` and, after a command's last expected
    /// line, waits `grace` for a final result that never comes.
    pub fn new(max_line: usize, grace: Duration) -> Self {
        AtEngine {
            framer: LineFramer::new(max_line),
            queue: VecDeque::new(),
            in_flight: None,
            pdu_wait: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 1,
            grace,
            junk_lines: 0,
        }
    }

    /// Queues a command; it is written once every earlier one has finished.
    pub fn submit(&mut self, cmd: Command, now: Instant) -> CommandId {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back((id, cmd));
        self.start_next(now);
        id
    }

    /// Whether a command is in flight or queued.
    pub fn busy(&self) -> bool {
        self.in_flight.is_some() || !self.queue.is_empty()
    }

    /// Bytes to write to the modem, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next finished command or URC, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called; `None` when idle.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.in_flight.as_ref().map(|f| f.grace.map_or(f.deadline, |g| g.min(f.deadline)))
    }

    /// Junk lines skipped so far (for logs and tests).
    pub fn junk_lines(&self) -> u64 {
        self.junk_lines
    }

    /// Ends the command in flight whose deadline or grace period has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(f) = &self.in_flight else { return };
        if f.grace.is_some_and(|g| g <= now) {
            log::debug!("modem: {} got its response but no final result; assuming OK", f.cmd.text);
            self.complete(FinalResult::Assumed, now);
        } else if f.deadline <= now {
            log::warn!("modem: {} timed out after {:?}", f.cmd.text, f.cmd.timeout);
            self.pdu_wait = None;
            self.complete(FinalResult::Timeout, now);
        }
    }

    /// Forgets everything (the port closed or reopened). Pending commands are dropped unanswered.
    pub fn reset(&mut self) {
        self.framer.clear();
        self.queue.clear();
        self.in_flight = None;
        self.pdu_wait = None;
        self.transmit.clear();
        self.events.clear();
    }

    /// Feeds bytes read from the modem.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) {
        let mut lines = Vec::new();
        self.framer.feed(bytes, |l| lines.push(l.to_string()));
        for l in lines {
            self.handle_line(&l, now);
        }
    }

    fn start_next(&mut self, now: Instant) {
        if self.in_flight.is_some() {
            return;
        }
        if let Some((id, cmd)) = self.queue.pop_front() {
            log::debug!("modem ← {}", cmd.text);
            let mut bytes = cmd.text.clone().into_bytes();
            bytes.push(b'\r');
            self.transmit.push_back(bytes);
            let deadline = now + cmd.timeout;
            self.in_flight =
                Some(InFlight { id, cmd, lines: Vec::new(), deadline, grace: None, echoed: false });
        }
    }

    fn complete(&mut self, result: FinalResult, now: Instant) {
        if let Some(f) = self.in_flight.take() {
            if matches!(self.pdu_wait, Some(PduWait::Response(..))) {
                self.pdu_wait = None;
            }
            self.events.push_back(Event::Response(Response {
                id: f.id,
                command: f.cmd.text,
                lines: f.lines,
                result,
                echoed: f.echoed,
            }));
        }
        self.start_next(now);
    }

    fn junk(&mut self, line: &str, why: &str) {
        self.junk_lines += 1;
        log::warn!("modem: skipping line {line:?}: {why}");
    }

    fn handle_line(&mut self, line: &str, now: Instant) {
        log::trace!("modem → {line}");
        if let Some(wait) = self.pdu_wait.take() {
            if looks_like_pdu(line) {
                self.take_pdu(wait, line, now);
                return;
            }
            self.junk(line, "a PDU line was expected");
        }
        let own_echo = self.in_flight.as_ref().is_some_and(|f| line == f.cmd.text);
        if own_echo || line.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("AT")) {
            if let Some(f) = &mut self.in_flight {
                f.echoed = true;
            }
            return;
        }
        if let Some(fr) = FinalResult::parse(line) {
            if self.in_flight.is_some() {
                self.complete(fr, now);
            } else if matches!(fr, FinalResult::CmsError(_) | FinalResult::CmeError(_)) {
                self.events.push_back(Event::Urc(Urc::Error(fr)));
            } else {
                log::debug!("modem: final result {line:?} with no command in flight");
            }
            return;
        }
        if let Some(prefix) = TWO_LINE_URCS.iter().find(|p| line.starts_with(**p)) {
            let Some(kind) = PduUrcKind::from_prefix(prefix) else { return };
            match parse_pdu_header(line, prefix) {
                Ok(mut header) => match header.inline_pdu.take() {
                    Some(inline) => self.take_pdu(PduWait::Urc(kind, header), &inline, now),
                    None => self.pdu_wait = Some(PduWait::Urc(kind, header)),
                },
                Err(e) => self.junk(line, &e.to_string()),
            }
            return;
        }
        if let Some(f) = &mut self.in_flight {
            if f.cmd.expects(line) {
                let mut rl = ResponseLine { text: line.to_string(), pdu: None };
                if f.cmd.pdu_follows {
                    let prefix = f.cmd.expect.iter().find(|p| line.starts_with(**p)).copied().unwrap_or("");
                    match parse_pdu_header(line, prefix) {
                        Ok(h) => match h.inline_pdu.as_deref().and_then(pdu_hex) {
                            Some((hex, _)) => {
                                rl.pdu = RawPdu::new(prefix, &h, hex).ok();
                                f.grace = Some(now + self.grace);
                            }
                            None => self.pdu_wait = Some(PduWait::Response(prefix, h)),
                        },
                        Err(e) => log::warn!("modem: {e}"),
                    }
                } else {
                    f.grace = Some(now + self.grace);
                }
                f.lines.push(rl);
                return;
            }
        }
        self.events.push_back(Event::Urc(Urc::classify(line)));
    }

    fn take_pdu(&mut self, wait: PduWait, line: &str, now: Instant) {
        let Some((hex, cut)) = pdu_hex(line) else {
            self.junk(line, "not a PDU");
            return;
        };
        if cut {
            log::debug!("modem: trailing junk after a PDU dropped: {line:?}");
        }
        let (prefix, header) = match &wait {
            PduWait::Urc(kind, h) => (kind.prefix(), h),
            PduWait::Response(prefix, h) => (*prefix, h),
        };
        let pdu = match RawPdu::new(prefix, header, hex) {
            Ok(p) => p,
            Err(e) => {
                self.junk(line, &e.to_string());
                return;
            }
        };
        match wait {
            PduWait::Urc(kind, _) => self.events.push_back(Event::Urc(Urc::Pdu { kind, pdu })),
            PduWait::Response(..) => {
                if let Some(f) = &mut self.in_flight {
                    if let Some(last) = f.lines.last_mut() {
                        last.pdu = Some(pdu);
                    }
                    f.grace = Some(now + self.grace);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::at::command::Command;
    use crate::modem::Location;

    fn events(e: &mut AtEngine) -> Vec<Event> {
        std::iter::from_fn(|| e.poll_event()).collect()
    }

    fn response(ev: &[Event]) -> &Response {
        ev.iter()
            .find_map(|e| match e {
                Event::Response(r) => Some(r),
                _ => None,
            })
            .expect("a response")
    }

    #[test]
    fn one_in_flight_queue_behind() {
        let t = Instant::now();
        let mut e = AtEngine::default();
        e.submit(Command::raw("ATE0"), t);
        e.submit(Command::raw("AT+CMEE=1"), t);
        assert_eq!(e.poll_transmit().unwrap(), b"ATE0\r");
        assert_eq!(e.poll_transmit(), None);
        e.feed(b"ATE0\r\r\nOK\r\n", t);
        assert_eq!(response(&events(&mut e)).result, FinalResult::Ok);
        assert_eq!(e.poll_transmit().unwrap(), b"AT+CMEE=1\r");
        e.feed(b"\r\nERROR\r\n", t);
        assert_eq!(response(&events(&mut e)).result, FinalResult::Error);
        assert!(!e.busy());
        assert_eq!(e.next_deadline(), None);
    }

    #[test]
    fn urc_glued_after_ok_and_inside_response() {
        let t = Instant::now();
        let mut e = AtEngine::default();
        e.submit(Command::query("+CPMS", "+CPMS:"), t);
        e.feed(b"\r\n+CMTI: \"SM\",1\r\n+CPMS: \"SM\",1,10,\"SM\",1,10,\"SM\",1,10\r\n\r\nOK\r\n+CMTI: \"SM\",2\r\n", t);
        let ev = events(&mut e);
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0], Event::Urc(Urc::MessageStored(Location::new("SM", 1))));
        assert_eq!(response(&ev).lines.len(), 1);
        assert_eq!(ev[2], Event::Urc(Urc::MessageStored(Location::new("SM", 2))));
    }

    #[test]
    fn cmgr_pdu_next_line_same_line_and_trailing_quote() {
        let t = Instant::now();
        for input in [
            &b"\r\n+CMGR: 0,,3\r\n00060102\r\n\r\nOK\r\n"[..],
            b"\r\n+CMGR: 0,,3 00060102\r\nOK\r\n",
            b"\r\n+CMGR: 0,\"\",3\r\n00060102\"\r\nOK\r\n",
            b"\r\n+CMGR: 0,3\r\r\n00060102\r\r\nOK\r\r\n",
        ] {
            let mut e = AtEngine::default();
            e.submit(Command::cmgr(1), t);
            e.feed(input, t);
            let ev = events(&mut e);
            let r = response(&ev);
            assert_eq!(r.result, FinalResult::Ok);
            assert_eq!(r.lines[0].pdu.as_ref().map(RawPdu::bytes), Some(&[0, 6, 1, 2][..]), "{input:?}");
        }
    }

    #[test]
    fn cmgl_with_urc_and_cmt_between() {
        let t = Instant::now();
        let mut e = AtEngine::default();
        e.submit(Command::cmgl(4), t);
        e.feed(b"+CMGL: 1,1,,3\r\n00060102\r\n+CMT: ,2\r\n000601\r\n+CMGL: 2,1,,3\r\n00060103\r\nOK\r\n", t);
        let ev = events(&mut e);
        match &ev[0] {
            Event::Urc(Urc::Pdu { kind: PduUrcKind::Deliver, pdu }) => {
                assert_eq!((pdu.bytes(), pdu.tpdu_len()), (&[0, 6, 1][..], 2))
            }
            other => panic!("{other:?}"),
        }
        let r = response(&ev);
        assert_eq!(r.lines.len(), 2);
        assert_eq!(
            r.lines[1].pdu.as_ref().map(|p| (p.index(), p.bytes())),
            Some((Some(2), &[0, 6, 1, 3][..]))
        );
    }

    #[test]
    fn missing_final_result_accepted_after_grace() {
        let t = Instant::now();
        let mut e = AtEngine::default();
        e.submit(Command::query("+CPIN", "+CPIN:"), t);
        e.feed(b"\r\n+CPIN: READY\r\n", t);
        assert!(events(&mut e).is_empty());
        let d = e.next_deadline().unwrap();
        assert_eq!(d, t + DEFAULT_GRACE);
        e.handle_timeout(d);
        let ev = events(&mut e);
        assert_eq!(response(&ev).result, FinalResult::Assumed);
        assert!(response(&ev).result.is_ok());
    }

    #[test]
    fn timeout_without_answer() {
        let t = Instant::now();
        let mut e = AtEngine::default();
        e.submit(Command::raw("AT"), t);
        e.handle_timeout(t + Duration::from_secs(1));
        assert!(events(&mut e).is_empty());
        e.handle_timeout(t + Duration::from_secs(10));
        assert_eq!(response(&events(&mut e)).result, FinalResult::Timeout);
    }

    #[test]
    fn echo_on_and_unsolicited_errors() {
        let t = Instant::now();
        let mut e = AtEngine::default();
        e.feed(b"\r\n+CMS ERROR: 322\r\nOK\r\n", t);
        assert_eq!(events(&mut e), vec![Event::Urc(Urc::Error(FinalResult::CmsError(Some(322))))]);
        e.submit(Command::cmgd(3), t);
        e.feed(b"AT+CMGD=3\r\r\nOK\r\n", t);
        let ev = events(&mut e);
        assert_eq!(response(&ev).result, FinalResult::Ok);
        assert!(response(&ev).echoed);
        e.submit(Command::cmgd(4), t);
        e.feed(b"\r\nOK\r\n", t);
        assert!(!response(&events(&mut e)).echoed);
    }

    #[test]
    fn broken_two_line_urc_does_not_eat_next_line() {
        let t = Instant::now();
        let mut e = AtEngine::default();
        e.feed(b"+CMT: ,3\r\n+CMTI: \"SM\",5\r\n", t);
        assert_eq!(events(&mut e), vec![Event::Urc(Urc::MessageStored(Location::new("SM", 5)))]);
        assert_eq!(e.junk_lines(), 1);
    }

    proptest::proptest! {
        /// Whatever the modem sends, in whatever chunks, the engine neither panics nor grows
        /// without bound, and a command in flight still ends (by result or timeout).
        #[test]
        fn arbitrary_input_is_survived(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), 0..20),
            seeds in proptest::collection::vec("(\\+CMGR: 0,,3|\\+CMT: ,2|\\+CMTI: \"SM\",1|OK|\\+CPIN: READY|0A0B0C|AT)\r\n", 0..10),
        ) {
            let t = Instant::now();
            let mut e = AtEngine::new(64, DEFAULT_GRACE);
            e.submit(Command::cmgr(1), t);
            for s in &seeds {
                e.feed(s.as_bytes(), t);
            }
            for c in &chunks {
                e.feed(c, t);
                proptest::prop_assert!(e.framer.partial().len() <= 64);
            }
            e.handle_timeout(t + Duration::from_secs(60));
            proptest::prop_assert!(!e.busy());
            let _ = events(&mut e);
        }

        #[test]
        fn response_grammars_never_panic(line in "\\PC{0,80}") {
            use crate::modem::at::response::*;
            let _ = parse_stored_indication(&line, "+CMTI:");
            let _ = parse_ciev(&line);
            let _ = parse_pdu_header(&line, "+CMGR:");
            let _ = parse_int_ranges(&line, "+CNMI:");
            let _ = parse_cpms_test(&line);
            let _ = parse_cpms_usage(&line);
            let _ = parse_cind_smsfull(&line);
            let _ = pdu_hex(&line);
            let _ = Urc::classify(&line);
        }
    }
}
