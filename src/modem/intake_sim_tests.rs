//! The SMS intake (`otapush_proto::modem::intake`) with the daemon's parts: wired to the real
//! AT engine against the simulator core, and with a board profile `LoadProfile` reads.

use crate::modem::at::{Command, FinalResult, Response, Urc};
use crate::modem::intake::{Action, Intake};
use crate::modem::profile::LoadProfile;
use crate::modem::{ModemState, Profile};
use std::time::{Duration, Instant};

fn resp(cmd: &Command, lines: &[&str]) -> Response {
    Response {
        id: 0,
        command: cmd.text.clone(),
        lines: lines
            .iter()
            .map(|t| crate::modem::at::ResponseLine { text: t.to_string(), pdu: None })
            .collect(),
        result: FinalResult::Ok,
        echoed: false,
    }
}

/// Drains actions; returns the commands sent and the states.
fn drain(i: &mut Intake) -> (Vec<Command>, Vec<ModemState>) {
    let (mut c, mut s) = (Vec::new(), Vec::new());
    while let Some(a) = i.poll_action() {
        match a {
            Action::Send(x) => c.push(x),
            Action::HandOver { .. } => {}
            Action::State(x) => s.push(x),
        }
    }
    (c, s)
}

/// A modem that answers the init sequence like the simulator does.
fn answer(cmd: &Command) -> Response {
    let l: &[&str] = match cmd.text.as_str() {
        "AT+CPIN?" => &["+CPIN: READY"],
        "AT+CPMS=?" => &["+CPMS: (\"SM\",\"ME\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")"],
        "AT+CNMI=?" => &["+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"],
        "AT+CPMS?" => &["+CPMS: \"ME\",0,20,\"ME\",0,20,\"ME\",0,20"],
        _ => &[],
    };
    resp(cmd, l)
}

/// The intake brought to ready by [`answer`].
fn ready(profile: Profile) -> (Intake, Instant) {
    let t = Instant::now();
    let mut i = Intake::new(profile);
    i.on_connected(t);
    for _ in 0..100 {
        if i.is_ready() {
            drain(&mut i);
            return (i, t);
        }
        let cmd = drain(&mut i).0.into_iter().next().expect("a command during init");
        i.on_response(answer(&cmd), t);
    }
    panic!("init did not finish");
}

#[test]
fn after_a_boot_urc_sms_waits_for_the_ready_urc() {
    let p = Profile::load("quectel-eg25", None).unwrap();
    let (mut i, t) = ready(p);
    i.on_urc(Urc::Line("RDY".into()), t);
    loop {
        let c = drain(&mut i).0.remove(0);
        let cpin = c.text == "AT+CPIN?";
        i.on_response(answer(&c), t);
        if cpin {
            break;
        }
    }
    assert!(drain(&mut i).0.is_empty(), "SMS commands wait for +QIND: SMS DONE");
    assert_eq!(i.next_deadline(), Some(t + Duration::from_secs(30)));
    i.on_urc(Urc::Line("+QIND: SMS DONE".into()), t);
    assert_eq!(drain(&mut i).0[0].text, "AT+CSMS=0");
    assert_eq!(i.next_deadline(), None);
}

/// The intake driven by the real AT engine against the simulator core, without I/O. The
/// store answers `durable` while the next command is with the modem (a commit takes less
/// than a modem's 10-50 ms per command).
struct Wired {
    intake: Intake,
    engine: crate::modem::at::AtEngine,
    sim: crate::modem::sim::SimCore,
    t: Instant,
    tokens: Vec<u64>,
    handed: usize,
    /// One more SMS arrives each time a `+CMGR` goes out (arrivals as fast as the intake).
    feed: u32,
    next_pdu: u8,
}

impl Wired {
    fn ready() -> Wired {
        let t = Instant::now();
        let mut w = Wired {
            intake: Intake::new(Profile::default()),
            engine: crate::modem::at::AtEngine::default(),
            sim: crate::modem::sim::SimCore::new(crate::modem::sim::SimOptions::default()),
            t,
            tokens: Vec::new(),
            handed: 0,
            feed: 0,
            next_pdu: 0,
        };
        w.intake.on_connected(t);
        w.pump();
        assert!(w.intake.is_ready());
        w
    }

    fn deliver(&mut self) {
        let pdu = crate::modem::sim::sample_deliver_pdu(self.next_pdu);
        self.next_pdu = self.next_pdu.wrapping_add(1);
        self.sim.deliver(pdu);
    }

    fn pump(&mut self) {
        use crate::modem::at::Event;
        loop {
            let mut busy = false;
            while let Some(a) = self.intake.poll_action() {
                match a {
                    Action::Send(c) => {
                        self.engine.submit(c, self.t);
                    }
                    Action::HandOver { token, .. } => {
                        self.tokens.push(token);
                        self.handed += 1;
                    }
                    Action::State(_) => {}
                }
            }
            while let Some(b) = self.engine.poll_transmit() {
                if self.feed > 0 && b.starts_with(b"AT+CMGR") {
                    self.feed -= 1;
                    self.deliver();
                }
                self.sim.input(&b);
                busy = true;
            }
            for tok in std::mem::take(&mut self.tokens) {
                self.intake.on_durable(tok, Ok(()), self.t);
                busy = true;
            }
            let out = self.sim.take_output();
            if !out.is_empty() {
                self.engine.feed(&out, self.t);
                busy = true;
            }
            while let Some(ev) = self.engine.poll_event() {
                match ev {
                    Event::Response(r) => self.intake.on_response(r, self.t),
                    Event::Urc(u) => self.intake.on_urc(u, self.t),
                }
                busy = true;
            }
            if !busy {
                return;
            }
        }
    }

    fn count(cmds: &[String], prefix: &str) -> usize {
        cmds.iter().filter(|c| c.starts_with(prefix)).count()
    }
}

#[test]
fn steady_stream_costs_one_read_and_one_delete_per_sms() {
    let mut w = Wired::ready();
    let start = w.sim.log.len();
    w.feed = 40;
    w.deliver();
    w.pump();
    assert_eq!(w.handed, 41);
    assert!(w.sim.stored().is_empty());
    let cmds = &w.sim.log[start..];
    let first = cmds.iter().position(|c| c.starts_with("AT+CMGR")).unwrap();
    let last = cmds.iter().rposition(|c| c.starts_with("AT+CMGR")).unwrap();
    // While SMS keep coming, nothing but +CMGR and +CMGD: the storage stays selected.
    let steady = &cmds[first..=last];
    assert_eq!(Wired::count(steady, "AT+CMGR"), 41, "{steady:?}");
    assert_eq!(Wired::count(steady, "AT+CMGD") + 41, steady.len(), "{steady:?}");
    // Around it: the selection at the start; at the end the selection again after waiting
    // for the store with nothing else to do, and one usage check.
    assert_eq!(Wired::count(cmds, "AT+CMGD"), 41, "{cmds:?}");
    assert!(cmds.len() <= 82 + 3, "{cmds:?}");
    assert_eq!(cmds.last().map(String::as_str), Some("AT+CPMS?"));
}

#[test]
fn burst_of_ten_is_read_with_one_listing() {
    let mut w = Wired::ready();
    let start = w.sim.log.len();
    for _ in 0..10 {
        w.deliver();
    }
    w.pump();
    assert_eq!(w.handed, 10);
    assert!(w.sim.stored().is_empty());
    let cmds = &w.sim.log[start..];
    assert_eq!(Wired::count(cmds, "AT+CMGL=4"), 1, "{cmds:?}");
    assert_eq!(Wired::count(cmds, "AT+CMGR"), 0, "{cmds:?}");
    assert_eq!(Wired::count(cmds, "AT+CMGD"), 10, "{cmds:?}");
    // The selection, the selection again after waiting for the store (a silent reset may
    // have come in between), the usage check at the end.
    assert_eq!(cmds.len(), 11 + 3, "{cmds:?}");
}

#[test]
fn burst_larger_than_the_storage_lists_no_storage_it_need_not() {
    let mut w = Wired::ready();
    let start = w.sim.log.len();
    // ME has 20 slots: the network holds the rest, and every delete refills the storage,
    // which says "full" (+CIEV) again each time.
    for _ in 0..50 {
        w.deliver();
    }
    w.pump();
    assert_eq!(w.handed, 50);
    assert!(w.sim.stored().is_empty());
    assert_eq!(w.sim.network_queue_len(), 0);
    let cmds = &w.sim.log[start..];
    assert_eq!(Wired::count(cmds, "AT+CMGD"), 50, "{cmds:?}");
    assert_eq!(Wired::count(cmds, "AT+CPMS=\"SM\""), 0, "{cmds:?}");
    assert!(Wired::count(cmds, "AT+CMGL=4") <= 3, "{cmds:?}");
    assert!(Wired::count(cmds, "AT+CMGR") <= 2, "{cmds:?}");
    assert!(cmds.len() <= 50 + 3 + 5, "{} commands: {cmds:?}", cmds.len());
}

#[test]
fn a_lost_notification_is_found_by_the_check_after_the_burst() {
    let mut w = Wired::ready();
    w.deliver();
    w.deliver();
    // The second +CMTI never reaches the host.
    let out = String::from_utf8(w.sim.take_output()).unwrap();
    let first = out.split(['\r', '\n']).find(|l| l.starts_with("+CMTI")).unwrap().to_string();
    w.engine.feed(format!("\r\n{first}\r\n").as_bytes(), w.t);
    w.pump();
    // The usage check once the first is deleted shows one message more than was handled.
    assert_eq!(w.handed, 2);
    assert!(w.sim.stored().is_empty());
    assert_eq!(Wired::count(&w.sim.log, "AT+CPMS?"), 3, "init, after each burst");
}
