//! The init sequence (TS 27.005 §3, V.250 §6): probe, echo off, verbose errors, the profile's
//! extra commands, the SIM, the ready URC after a boot, the message service, PDU mode, the
//! storage, indicators, new-message indications, usage, and a listing of every storage. One
//! command per step; its answer picks the next step.

use super::{Intake, Phase, Purpose};
use crate::backoff::Backoff;
use crate::modem::at::response::{parse_cind_smsfull, parse_cpms_test, parse_int_ranges};
use crate::modem::at::{Command, FinalResult, Response};
use crate::modem::profile::Route;
use crate::modem::state::ModemState;
use std::time::{Duration, Instant};

/// `AT` probes before the modem counts as not responding.
pub(super) const PROBE_TRIES: u32 = 5;
/// `+CPIN?` / `+CPMS` tries while the SIM initialises (oFono: 10 × 1 s for CPMS).
const SIM_TRIES: u32 = 10;
pub(super) const SIM_RETRY_PAUSE: Duration = Duration::from_secs(1);
/// After a failed init: 30 s, doubling up to 5 minutes.
const FAILED_BACKOFF: Backoff = Backoff::new(30_000, 300_000);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Probe(u32),
    Echo,
    Cmee,
    Extra(usize),
    Cpin(u32),
    AwaitReady,
    Csms,
    Cmgf,
    CpmsTest(u32),
    CpmsSet(u32, bool),
    Cind,
    CnmiTest,
    CnmiSet(usize),
    Usage,
    List(usize),
}

/// The init's sub-state.
#[derive(Debug)]
pub(super) struct Init {
    /// A pause in the init sequence (retry, ready URC, after a failure) ends here.
    pub(super) pause: Option<Instant>,
    pub(super) failed_backoff: Backoff,
    /// `ATE0` was accepted and no later init command was echoed: an echo in the ready phase
    /// means the modem reset its settings. `Some(false)`: echo stays on (a quirk).
    pub(super) echo_off: Option<bool>,
    pub(super) boot_seen: bool,
    pub(super) ready_seen: bool,
    /// `+CSMS` service 1: routed messages need `+CNMA`.
    pub(super) service1: bool,
}

impl Default for Init {
    fn default() -> Init {
        Init {
            pause: None,
            failed_backoff: FAILED_BACKOFF,
            echo_off: None,
            boot_seen: false,
            ready_seen: false,
            service1: false,
        }
    }
}

impl Intake {
    pub(super) fn start_init(&mut self, now: Instant, boot: bool) {
        if self.flight.awaiting.take().is_some() {
            self.flight.stale += 1;
        }
        self.forget_modem_state();
        self.init.boot_seen = boot;
        if boot {
            self.init.ready_seen = false;
        }
        self.init.pause = None;
        self.flight.timeouts_in_row = 0;
        self.init.echo_off = None;
        self.init.service1 = false;
        self.set_state(if boot { ModemState::Resetting } else { ModemState::Initializing });
        self.phase = Phase::Init(Step::Probe(0));
        self.advance(now);
    }

    pub(super) fn fail(&mut self, reason: &str, now: Instant) {
        let wait = Duration::from_millis(self.init.failed_backoff.next());
        log::error!("modem: {reason}; retrying in {wait:?}");
        self.set_state(ModemState::error(reason));
        self.phase = Phase::Failed;
        self.init.pause = Some(now + wait);
    }

    pub(super) fn init_response(&mut self, step: Step, r: &Response, now: Instant) {
        let ok = r.result.is_ok();
        let next = match step {
            Step::Probe(n) if !ok => {
                if n + 1 >= PROBE_TRIES {
                    self.fail("modem does not answer AT", now);
                    return;
                }
                Step::Probe(n + 1)
            }
            Step::Probe(_) => Step::Echo,
            Step::Echo => {
                self.init.echo_off = ok.then_some(true);
                Step::Cmee
            }
            Step::Cmee => Step::Extra(0),
            Step::Extra(i) => {
                if !ok {
                    log::warn!("modem: init command {} failed: {}", r.command, r.result);
                }
                Step::Extra(i + 1)
            }
            Step::Cpin(n) => match self.cpin(r, n, now) {
                Some(s) => s,
                None => return,
            },
            Step::AwaitReady => Step::AwaitReady,
            Step::Csms => {
                if !ok && self.init.service1 {
                    log::warn!("modem: +CSMS=1 refused ({}); using service 0, no +CNMA", r.result);
                    self.init.service1 = false;
                    self.send(Command::set_ints("+CSMS", &[0], &["+CSMS:"]), Purpose::Init);
                    return;
                }
                if !ok {
                    log::warn!("modem: +CSMS failed: {}", r.result);
                }
                Step::Cmgf
            }
            Step::Cmgf if !ok => {
                self.fail(&format!("PDU mode (+CMGF=0) refused: {}", r.result), now);
                return;
            }
            Step::Cmgf => Step::CpmsTest(0),
            Step::CpmsTest(n) => {
                if let Some(l) = r.line("+CPMS:").filter(|_| ok) {
                    self.storage.groups = parse_cpms_test(l);
                    Step::CpmsSet(0, true)
                } else if n + 1 < SIM_TRIES {
                    self.pause_then(now, SIM_RETRY_PAUSE, Step::CpmsTest(n + 1));
                    return;
                } else {
                    log::warn!("modem: +CPMS=? failed: {}; trying the profile's storage", r.result);
                    Step::CpmsSet(0, true)
                }
            }
            Step::CpmsSet(n, three) => {
                if ok {
                    self.storage.mem1 = self.storage.store.clone();
                    self.storage.mem3 = if three { self.storage.store.clone() } else { None };
                    Step::Cind
                } else if three {
                    Step::CpmsSet(n, false)
                } else if n + 1 < SIM_TRIES {
                    self.pause_then(now, SIM_RETRY_PAUSE, Step::CpmsSet(n + 1, true));
                    return;
                } else {
                    log::warn!("modem: +CPMS refused: {}; using the modem's default storage", r.result);
                    Step::Cind
                }
            }
            Step::Cind => {
                self.storage.smsfull_ind = r.line("+CIND:").and_then(parse_cind_smsfull);
                Step::CnmiTest
            }
            Step::CnmiTest => {
                self.cnmi.ranges = r.line("+CNMI:").and_then(|l| parse_int_ranges(l, "+CNMI:").ok());
                self.cnmi.list = self.cnmi.choices(&self.profile.init.cnmi_candidates);
                Step::CnmiSet(0)
            }
            Step::CnmiSet(i) => {
                if ok {
                    self.cnmi.base = self.cnmi.list.get(i).copied();
                    self.cnmi.now = self.cnmi.base;
                    Step::Usage
                } else if i + 1 < self.cnmi.list.len() {
                    Step::CnmiSet(i + 1)
                } else {
                    self.fail("no +CNMI setting accepted", now);
                    return;
                }
            }
            Step::Usage => {
                self.log_usage(r);
                Step::List(0)
            }
            Step::List(i) => Step::List(i + 1),
        };
        self.phase = Phase::Init(next);
    }

    pub(super) fn cpin(&mut self, r: &Response, n: u32, now: Instant) -> Option<Step> {
        let code = r.line("+CPIN:").map(|l| l.trim_start_matches("+CPIN:").trim().to_string());
        match (code.as_deref(), &r.result) {
            (Some("READY"), _) => Some(Step::AwaitReady),
            (Some(c), _) if c.contains("PIN") || c.contains("PUK") => {
                log::error!("modem: the SIM wants {c}; waiting for +CPIN: READY");
                self.phase = Phase::SimLocked;
                self.set_state(ModemState::SimLocked);
                None
            }
            (_, FinalResult::CmeError(Some(11 | 12 | 17 | 18))) => {
                self.phase = Phase::SimLocked;
                self.set_state(ModemState::SimLocked);
                None
            }
            (_, FinalResult::CmeError(Some(10))) => {
                self.fail("no SIM card", now);
                None
            }
            _ if n + 1 < SIM_TRIES => {
                self.pause_then(now, SIM_RETRY_PAUSE, Step::Cpin(n + 1));
                None
            }
            _ => {
                self.fail(&format!("SIM not ready: {}", r.result), now);
                None
            }
        }
    }

    pub(super) fn pause_then(&mut self, now: Instant, d: Duration, step: Step) {
        self.phase = Phase::Init(step);
        self.init.pause = Some(now + d);
    }

    /// Issues the command of an init step; `false` if the step was skipped (phase changed).
    pub(super) fn init_command(&mut self, step: Step, now: Instant) -> bool {
        let cmd = match step {
            Step::Probe(_) => Command::probe(),
            Step::Echo => Command::raw("ATE0"),
            Step::Cmee => Command::set_ints("+CMEE", &[1], &[]),
            Step::Extra(i) => match self.profile.init.extra.get(i) {
                Some(c) => Command::raw(c),
                None => {
                    self.phase = Phase::Init(Step::Cpin(0));
                    return false;
                }
            },
            Step::Cpin(_) => Command::query("+CPIN", "+CPIN:"),
            Step::AwaitReady => {
                let waits =
                    self.profile.init.ready_urc.is_some() && self.init.boot_seen && !self.init.ready_seen;
                if waits {
                    self.init.pause = Some(now + self.profile.ready_timeout());
                    return true;
                }
                self.phase = Phase::Init(Step::Csms);
                return false;
            }
            Step::Csms => {
                self.init.service1 = self.profile.init.route == Route::Route && self.profile.cnma().is_some();
                Command::set_ints("+CSMS", &[i32::from(self.init.service1)], &["+CSMS:"])
            }
            Step::Cmgf => Command::set_ints("+CMGF", &[0], &[]),
            Step::CpmsTest(_) => Command::test("+CPMS", "+CPMS:"),
            Step::CpmsSet(_, three) => {
                self.storage.choose(&self.profile.init.storage);
                let s = self.storage.store.clone().unwrap_or_else(|| "SM".into());
                if three {
                    Command::cpms_set(&[&s, &s, &s])
                } else {
                    Command::cpms_set(&[&s])
                }
            }
            Step::Cind => Command::test("+CIND", "+CIND:"),
            Step::CnmiTest => Command::test("+CNMI", "+CNMI:"),
            Step::CnmiSet(i) => match self.cnmi.list.get(i) {
                Some(c) => {
                    let v: Vec<i32> = c.iter().map(|x| i32::from(*x)).collect();
                    Command::set_ints("+CNMI", &v, &[])
                }
                None => {
                    self.fail("no +CNMI candidates", now);
                    return true;
                }
            },
            Step::Usage => Command::query("+CPMS", "+CPMS:"),
            Step::List(i) => match self.storage.list_mems.get(i).cloned() {
                Some(mem) => {
                    if self.storage.mem1.as_deref() != Some(mem.as_str()) {
                        self.send(Command::cpms_set(&[&mem]), Purpose::SwitchMem(mem));
                    } else {
                        self.send(Command::cmgl(4), Purpose::List(mem));
                    }
                    return true;
                }
                None => {
                    self.phase = Phase::Ready;
                    self.init.failed_backoff.reset();
                    self.set_state(ModemState::Ready);
                    return false;
                }
            },
        };
        self.send(cmd, Purpose::Init);
        true
    }
}
