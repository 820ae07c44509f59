//! The simulated modem's behaviour: a TS 27.005 subset in PDU mode with SIM/ME storage and the
//! quirks of real modems (docs/modem.md). Pure: command bytes in, response bytes out.

use crate::modem::at::response::{parse_int_ranges, split_fields};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Quirks real modems show, each switchable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimQuirks {
    /// Echo stays on whatever `ATE0` says.
    pub echo_stuck: bool,
    /// URCs wait for the next final result and are written glued after it in the same write.
    pub urc_glued_after_ok: bool,
    /// Lines end in `\r\r\n` (Huawei E1752).
    pub crcrlf: bool,
    /// `+CMGR: <stat>,,<len> <pdu>` on one line.
    pub pdu_on_cmgr_line: bool,
    /// `+CPIN: READY` without `OK` (Wavecom).
    pub cpin_without_ok: bool,
    /// An empty `+CMGL` answers `+CMS ERROR: 321` (phonesim).
    pub empty_list_321: bool,
    /// `+CMGR`/`+CMGL` print an empty quoted alpha `""` (Telit HE910).
    pub alpha_quoted: bool,
    /// A `"` trails each PDU line (gammu's logs).
    pub trailing_quote: bool,
    /// `+CDS` PDUs are printed without the SMSC part.
    pub cds_without_smsc: bool,
    /// `+CNMI` settings refused although `=?` advertises them (Qualcomm `<ds>`=1).
    pub reject_cnmi: Vec<[u8; 5]>,
    /// The modem boots in text mode (`+CMGF=1`), as many do.
    pub text_mode_at_boot: bool,
}

/// How the simulator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Storages and their slot counts; the first is the default for mem1/2/3.
    pub storages: Vec<(String, usize)>,
    pub quirks: SimQuirks,
    /// The SIM wants a PIN until [`SimCore::unlock`].
    pub pin_locked: bool,
    /// Lines printed at (re)boot.
    pub boot_urcs: Vec<String>,
    /// Printed after the boot URCs when SMS is usable (`+QIND: SMS DONE`).
    pub ready_urc: Option<String>,
    /// The `+CNMI=?` ranges.
    pub cnmi_ranges: String,
    /// With `+CSMS` service 1, how long a routed `+CMT` waits for `+CNMA` before the modem
    /// answers the network with RP-ERROR and sets `<mt>` and `<ds>` to 0 (TS 27.005 §3.4.4).
    pub ack_timeout: Duration,
    /// How long the network waits before it resends a message the modem refused.
    pub network_retry: Duration,
    /// How many received commands [`SimCore::log`] keeps (the newest); 0 keeps none, as
    /// inside `otapushd`, where nothing reads them.
    pub command_log: usize,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            storages: vec![("SM".into(), 10), ("ME".into(), 20)],
            quirks: SimQuirks::default(),
            pin_locked: false,
            boot_urcs: vec!["RDY".into()],
            ready_urc: None,
            cnmi_ranges: "(0-2),(0-3),(0,2),(0-2),(0,1)".into(),
            ack_timeout: Duration::from_secs(10),
            network_retry: Duration::from_secs(10),
            command_log: COMMAND_LOG_CAP,
        }
    }
}

/// One stored message. `stat` as in TS 27.005 §3.1: 0 received unread, 1 received read,
/// 2 stored unsent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub stat: u8,
    pub pdu: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Storage {
    name: String,
    slots: Vec<Option<Slot>>,
}

/// Called when the modem deletes a message: storage, index, PDU.
pub type DeleteHook = Arc<dyn Fn(&str, u32, &[u8]) + Send + Sync>;

/// Called when `+CNMA` acknowledges a routed message to the network: its PDU.
pub type AckHook = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// A command that the simulator swallows (no answer), to freeze a conversation at one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// Matches commands starting with this text (e.g. `AT+CMGD`).
    pub prefix: String,
    /// Carry the command out before going silent (the answer is lost, not the effect).
    pub execute: bool,
}

/// The simulator's state.
pub struct SimCore {
    opts: SimOptions,
    stores: Vec<Storage>,
    mem: [usize; 3],
    echo: bool,
    /// `+CMGF`: 0 PDU mode, 1 text mode (TS 27.005 §3.2.3).
    cmgf: u8,
    service: u8,
    cnmi: [u8; 5],
    awaiting_ack: u32,
    pin_locked: bool,
    input: Vec<u8>,
    out: Vec<u8>,
    /// URCs held for the glued-after-OK quirk.
    held: VecDeque<String>,
    glue_pending: bool,
    /// Messages the network holds because the store was full (resent after a delete: SMMA).
    network_queue: VecDeque<Vec<u8>>,
    full_reported: bool,
    on_delete: Option<DeleteHook>,
    on_ack: Option<AckHook>,
    /// The routed `+CMT` waiting for `+CNMA` (service 1) and when the modem stops waiting.
    routed_wait: Option<(Vec<u8>, Instant)>,
    /// Routed messages the network holds until the one before is acknowledged.
    routed_backlog: VecDeque<Vec<u8>>,
    /// Messages refused with RP-ERROR, resent by the network at the given time.
    redeliver: VecDeque<(Instant, Vec<u8>)>,
    stall: Option<(Stall, Option<tokio::sync::oneshot::Sender<()>>)>,
    /// The commands received, for tests: the newest [`SimOptions::command_log`] at most.
    pub log: Vec<String>,
}

/// Commands kept in [`SimCore::log`] by default. Inside `otapushd` (`device = "sim"`) the
/// simulator keeps none: a full log holds ~200 KiB of the daemon's heap.
pub const COMMAND_LOG_CAP: usize = 4096;

/// `+CIND=?` of the simulator: smsfull is indicator 5.
const CIND_TEST: &str =
    "+CIND: (\"battchg\",(0-5)),(\"signal\",(0-5)),(\"service\",(0,1)),(\"message\",(0,1)),(\"smsfull\",(0,1))";
const SMSFULL_IND: u32 = 5;

impl SimCore {
    pub fn new(opts: SimOptions) -> SimCore {
        let stores =
            opts.storages.iter().map(|(n, s)| Storage { name: n.clone(), slots: vec![None; *s] }).collect();
        let pin_locked = opts.pin_locked;
        let cmgf = u8::from(opts.quirks.text_mode_at_boot);
        SimCore {
            opts,
            stores,
            mem: [0; 3],
            echo: true,
            cmgf,
            service: 0,
            cnmi: [0; 5],
            awaiting_ack: 0,
            pin_locked,
            input: Vec::new(),
            out: Vec::new(),
            held: VecDeque::new(),
            glue_pending: false,
            network_queue: VecDeque::new(),
            full_reported: false,
            on_delete: None,
            on_ack: None,
            routed_wait: None,
            routed_backlog: VecDeque::new(),
            redeliver: VecDeque::new(),
            stall: None,
            log: Vec::new(),
        }
    }

    pub fn set_on_delete(&mut self, hook: Option<DeleteHook>) {
        self.on_delete = hook;
    }

    pub fn set_on_ack(&mut self, hook: Option<AckHook>) {
        self.on_ack = hook;
    }

    pub fn set_stall(&mut self, stall: Option<Stall>, notify: Option<tokio::sync::oneshot::Sender<()>>) {
        self.stall = stall.map(|s| (s, notify));
    }

    pub fn quirks_mut(&mut self) -> &mut SimQuirks {
        &mut self.opts.quirks
    }

    /// Takes what the modem has written since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Every stored message: storage, index, slot.
    pub fn stored(&self) -> Vec<(String, u32, Slot)> {
        let mut v = Vec::new();
        for s in &self.stores {
            for (i, slot) in s.slots.iter().enumerate() {
                if let Some(m) = slot {
                    v.push((s.name.clone(), i as u32, m.clone()));
                }
            }
        }
        v
    }

    /// Messages the network still holds (store full, refused, or routed behind an unacknowledged
    /// one), and the routed one awaiting `+CNMA`.
    pub fn network_queue_len(&self) -> usize {
        self.network_queue.len()
            + self.redeliver.len()
            + self.routed_backlog.len()
            + usize::from(self.routed_wait.is_some())
    }

    /// When [`on_time`](Self::on_time) has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let ack = self.routed_wait.as_ref().map(|(_, t)| *t);
        let resend = self.redeliver.iter().map(|(t, _)| *t).min();
        match (ack, resend) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passed: a `+CMT` not acknowledged in time is refused, and the network resends what
    /// is due.
    pub fn on_time(&mut self, now: Instant) {
        if self.routed_wait.as_ref().is_some_and(|(_, t)| *t <= now) {
            self.ack_missed(now);
        }
        while let Some(i) = self.redeliver.iter().position(|(t, _)| *t <= now) {
            if let Some((_, pdu)) = self.redeliver.remove(i) {
                self.deliver(pdu);
            }
        }
    }

    /// No `+CNMA` came: RP-ERROR to the network, routing off (TS 27.005 §3.4.4); the network
    /// then sends what it held back under the new setting.
    fn ack_missed(&mut self, now: Instant) {
        if let Some((pdu, _)) = self.routed_wait.take() {
            self.redeliver.push_back((now + self.opts.network_retry, pdu));
        }
        self.cnmi[1] = 0;
        self.cnmi[3] = 0;
        self.release_backlog();
    }

    fn release_backlog(&mut self) {
        while self.routed_wait.is_none() {
            let Some(pdu) = self.routed_backlog.pop_front() else { break };
            self.deliver(pdu);
        }
    }

    /// Current `+CNMI` setting.
    pub fn cnmi(&self) -> [u8; 5] {
        self.cnmi
    }

    fn nl(&self) -> &'static str {
        if self.opts.quirks.crcrlf {
            "\r\r\n"
        } else {
            "\r\n"
        }
    }

    fn line(&mut self, text: &str) {
        let nl = self.nl();
        self.out.extend_from_slice(nl.as_bytes());
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(nl.as_bytes());
    }

    /// A line following another one directly (the PDU after its header).
    fn next_line(&mut self, text: &str) {
        let nl = self.nl();
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(nl.as_bytes());
    }

    fn pdu_line(&mut self, pdu: &[u8]) -> String {
        let mut s = crate::hex::encode_upper(pdu);
        if self.opts.quirks.trailing_quote {
            s.push('"');
        }
        s
    }

    /// Emits a URC now, or holds it (glued quirk).
    fn urc(&mut self, text: &str) {
        if self.opts.quirks.urc_glued_after_ok && self.glue_pending {
            self.held.push_back(text.to_string());
            return;
        }
        if self.opts.quirks.urc_glued_after_ok {
            self.glue_pending = true;
        }
        self.line(text);
    }

    fn final_result(&mut self, text: &str) {
        self.line(text);
        if self.opts.quirks.urc_glued_after_ok {
            self.glue_pending = false;
            if let Some(u) = self.held.pop_front() {
                // Same write: `\r\nOK\r\n\r\n+CMTI: …\r\n`.
                self.urc(&u);
            }
        }
    }

    /// (Re)boots: prints the boot URCs and forgets volatile settings; storage persists.
    pub fn reset(&mut self) {
        self.reset_silently();
        for u in self.opts.boot_urcs.clone() {
            self.line(&u);
        }
        if let Some(r) = self.opts.ready_urc.clone() {
            self.line(&r);
        }
    }

    /// Reboots without printing anything (no `RDY`): settings back to their defaults (echo on,
    /// `+CNMI` off, default storage, boot `+CMGF`), storage kept.
    pub fn reset_silently(&mut self) {
        self.echo = true;
        self.cmgf = u8::from(self.opts.quirks.text_mode_at_boot);
        self.service = 0;
        self.cnmi = [0; 5];
        self.mem = [0; 3];
        self.awaiting_ack = 0;
        if let Some((pdu, _)) = self.routed_wait.take() {
            self.redeliver.push_back((Instant::now() + self.opts.network_retry, pdu));
        }
        self.input.clear();
        self.held.clear();
        self.glue_pending = false;
        self.pin_locked = self.opts.pin_locked;
    }

    /// `n` notifications `+CMTI: "<mem>",<first + k>` in one burst, whatever is stored there.
    pub fn flood_cmti(&mut self, mem: &str, first: u32, n: u32) {
        for k in 0..n {
            self.urc(&format!("+CMTI: \"{mem}\",{}", first.wrapping_add(k)));
        }
        self.release_backlog();
    }

    /// The SIM accepts its PIN: prints `+CPIN: READY`.
    pub fn unlock(&mut self) {
        self.pin_locked = false;
        self.urc("+CPIN: READY");
        // The network now delivers what it held.
        while let Some(p) = self.network_queue.pop_front() {
            self.deliver(p);
        }
    }

    fn tpdu_len(pdu: &[u8]) -> usize {
        let sca = pdu.first().map_or(0, |b| *b as usize);
        pdu.len().saturating_sub(1 + sca)
    }

    /// Frees the first slot of `store`, if any.
    fn free_slot(&self, store: usize) -> Option<usize> {
        self.stores.get(store)?.slots.iter().position(Option::is_none)
    }

    /// The network delivers an SMS-DELIVER (PDU with SMSC prefix).
    pub fn deliver(&mut self, pdu: Vec<u8>) {
        if self.pin_locked {
            self.network_queue.push_back(pdu);
            return;
        }
        let mt = self.cnmi[1];
        if mt == 2 || mt == 3 {
            if self.service == 1 {
                // One routed message at a time until it is acknowledged.
                if self.routed_wait.is_some() {
                    self.routed_backlog.push_back(pdu);
                    return;
                }
                self.routed_wait = Some((pdu.clone(), Instant::now() + self.opts.ack_timeout));
            }
            let text = format!("+CMT: ,{}", Self::tpdu_len(&pdu));
            let p = self.pdu_line(&pdu);
            self.urc_two_line(&text, &p);
            return;
        }
        let store = self.mem[2];
        match self.free_slot(store) {
            Some(i) => {
                self.stores[store].slots[i] = Some(Slot { stat: 0, pdu });
                if mt == 1 {
                    let name = self.stores[store].name.clone();
                    self.urc(&format!("+CMTI: \"{name}\",{i}"));
                }
                if self.free_slot(store).is_none() && !self.full_reported {
                    self.full_reported = true;
                    self.urc(&format!("+CIEV: {SMSFULL_IND},1"));
                }
            }
            None => {
                // TS 31.102 §4.2.28: the MS rejects with "memory capacity exceeded"; the SMSC
                // keeps the message until the MS signals free memory.
                self.network_queue.push_back(pdu);
                if !self.full_reported {
                    self.full_reported = true;
                    self.urc(&format!("+CIEV: {SMSFULL_IND},1"));
                }
            }
        }
    }

    /// The network delivers an SMS-STATUS-REPORT (PDU with SMSC prefix), routed as `+CDS` with
    /// `<ds>`=1 or stored with `+CDSI` with `<ds>`=2.
    pub fn deliver_status_report(&mut self, pdu: Vec<u8>) {
        match self.cnmi[3] {
            1 => {
                let len = Self::tpdu_len(&pdu);
                let shown = if self.opts.quirks.cds_without_smsc {
                    pdu.get(pdu.len() - len..).unwrap_or(&pdu).to_vec()
                } else {
                    pdu
                };
                if self.service == 1 {
                    self.awaiting_ack += 1;
                }
                let p = self.pdu_line(&shown);
                self.urc_two_line(&format!("+CDS: {len}"), &p);
            }
            2 => {
                let store = self.mem[2];
                if let Some(i) = self.free_slot(store) {
                    self.stores[store].slots[i] = Some(Slot { stat: 0, pdu });
                    let name = self.stores[store].name.clone();
                    self.urc(&format!("+CDSI: \"{name}\",{i}"));
                }
            }
            _ => {}
        }
    }

    fn urc_two_line(&mut self, header: &str, pdu: &str) {
        let nl = self.nl();
        self.urc(&format!("{header}{nl}{pdu}"));
    }

    /// Stores an SMS in the incoming storage without a `+CMTI`, as if it arrived while the host
    /// slept and the notification was lost. Returns where it went (`None`: storage full).
    pub fn store_silently(&mut self, pdu: Vec<u8>) -> Option<crate::modem::Location> {
        self.store_with_stat(pdu, 0)
    }

    /// Stores an SMS-SUBMIT the user wrote and did not send (`<stat>` 2 "STO UNSENT",
    /// TS 27.005 §3.1) in the incoming storage, as a phone does. `None`: storage full.
    pub fn store_outgoing(&mut self, pdu: Vec<u8>) -> Option<crate::modem::Location> {
        self.store_with_stat(pdu, 2)
    }

    fn store_with_stat(&mut self, pdu: Vec<u8>, stat: u8) -> Option<crate::modem::Location> {
        let store = self.mem[2];
        let i = self.free_slot(store)?;
        self.stores[store].slots[i] = Some(Slot { stat, pdu });
        Some(crate::modem::Location::new(self.stores[store].name.clone(), i as u32))
    }

    /// Fills every free slot of the incoming storage with generated messages (silently, as if
    /// they arrived while nobody listened) and reports smsfull. Returns the PDUs stored.
    pub fn fill_storage(&mut self) -> Vec<Vec<u8>> {
        let store = self.mem[2];
        let mut added = Vec::new();
        let mut n = 0u8;
        while let Some(i) = self.free_slot(store) {
            let pdu = sample_deliver_pdu(0x80 | n);
            n = n.wrapping_add(1);
            self.stores[store].slots[i] = Some(Slot { stat: 0, pdu: pdu.clone() });
            added.push(pdu);
        }
        self.full_reported = true;
        self.urc(&format!("+CIEV: {SMSFULL_IND},1"));
        added
    }

    /// Feeds bytes the host wrote.
    pub fn input(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                if self.input.is_empty() {
                    continue;
                }
                let line = String::from_utf8_lossy(&self.input).into_owned();
                self.input.clear();
                if self.echo || self.opts.quirks.echo_stuck {
                    self.out.extend_from_slice(line.as_bytes());
                    self.out.push(b'\r');
                }
                self.command(line.trim());
            } else if self.input.len() < 4096 {
                self.input.push(b);
            }
        }
    }

    fn command(&mut self, line: &str) {
        let cap = self.opts.command_log;
        if cap > 0 {
            if self.log.len() >= cap {
                self.log.drain(..cap.div_ceil(2));
            }
            self.log.push(line.to_string());
        }
        if let Some((stall, _)) = &self.stall {
            if line.to_ascii_uppercase().starts_with(&stall.prefix.to_ascii_uppercase()) {
                let execute = stall.execute;
                if let Some((_, Some(tx))) = self.stall.take() {
                    let _ = tx.send(());
                }
                if execute {
                    self.execute(line);
                    self.out.clear();
                }
                return;
            }
        }
        self.execute(line);
    }

    fn execute(&mut self, line: &str) {
        let upper = line.to_ascii_uppercase();
        let Some(cmd) = upper.strip_prefix("AT") else {
            self.final_result("ERROR");
            return;
        };
        let sms = ["+CSMS", "+CMGF", "+CPMS", "+CNMI", "+CMGL", "+CMGR", "+CMGD", "+CNMA"];
        if self.pin_locked && sms.iter().any(|p| cmd.starts_with(p)) {
            self.final_result("+CME ERROR: 11");
            return;
        }
        let arg = |p: &str| cmd.strip_prefix(p);
        let int = |s: &str| s.trim().parse::<u32>().ok();
        if cmd.is_empty() || cmd.starts_with("+CMEE=") || cmd.starts_with("+CFUN") {
            self.final_result("OK");
        } else if cmd == "E0" || cmd == "E1" {
            self.echo = cmd == "E1";
            self.final_result("OK");
        } else if cmd == "+CPIN?" {
            let state = if self.pin_locked { "SIM PIN" } else { "READY" };
            self.line(&format!("+CPIN: {state}"));
            if !self.opts.quirks.cpin_without_ok {
                self.final_result("OK");
            }
        } else if let Some(n) = arg("+CSMS=").and_then(int) {
            if n > 1 {
                self.final_result("+CMS ERROR: 303");
            } else {
                self.service = n as u8;
                self.line("+CSMS: 1,1,1");
                self.final_result("OK");
            }
        } else if cmd == "+CMGF=0" || cmd == "+CMGF=1" {
            self.cmgf = u8::from(cmd == "+CMGF=1");
            self.final_result("OK");
        } else if self.cmgf == 1 && cmd.starts_with("+CMGL=") {
            // Text mode wants `"ALL"`: an integer `<stat>` is a bad text-mode parameter.
            self.final_result("+CMS ERROR: 305");
        } else if cmd == "+CPMS=?" {
            let names: Vec<String> = self.stores.iter().map(|s| format!("\"{}\"", s.name)).collect();
            let g = format!("({})", names.join(","));
            self.line(&format!("+CPMS: {g},{g},{g}"));
            self.final_result("OK");
        } else if cmd == "+CPMS?" {
            let parts: Vec<String> = self
                .mem
                .iter()
                .map(|&m| {
                    let (u, t) = self.usage(m);
                    format!("\"{}\",{u},{t}", self.stores[m].name)
                })
                .collect();
            self.line(&format!("+CPMS: {}", parts.join(",")));
            self.final_result("OK");
        } else if let Some(a) = arg("+CPMS=") {
            self.cpms_set(a);
        } else if cmd == "+CNMI=?" {
            let r = self.opts.cnmi_ranges.clone();
            self.line(&format!("+CNMI: {r}"));
            self.final_result("OK");
        } else if let Some(a) = arg("+CNMI=") {
            self.cnmi_set(a);
        } else if cmd == "+CIND=?" {
            self.line(CIND_TEST);
            self.final_result("OK");
        } else if let Some(stat) = arg("+CMGL=").and_then(int) {
            self.cmgl(stat);
        } else if let Some(i) = arg("+CMGR=").and_then(int) {
            self.cmgr(i);
        } else if let Some(a) = arg("+CMGD=") {
            let idx = split_fields(a).first().and_then(|f| int(f));
            match idx {
                Some(i) => self.cmgd(i),
                None => self.final_result("+CMS ERROR: 302"),
            }
        } else if let Some(a) = cmd.strip_prefix("+CNMA") {
            self.cnma(a);
        } else {
            self.final_result("ERROR");
        }
    }

    /// `+CNMA[=<n>]`: `<n>` 2 is RP-ERROR (the network resends later), else RP-ACK. A pending
    /// `+CMT` is acknowledged before a pending `+CDS`.
    fn cnma(&mut self, args: &str) {
        let negative = args.trim_start_matches('=').starts_with('2');
        if self.service == 1 {
            if let Some((pdu, _)) = self.routed_wait.take() {
                if negative {
                    self.redeliver.push_back((Instant::now() + self.opts.network_retry, pdu));
                } else if let Some(hook) = &self.on_ack {
                    hook(&pdu);
                }
                self.final_result("OK");
                self.release_backlog();
                return;
            }
            if self.awaiting_ack > 0 {
                self.awaiting_ack -= 1;
                self.final_result("OK");
                return;
            }
        }
        self.final_result("+CMS ERROR: 340");
    }

    fn usage(&self, m: usize) -> (usize, usize) {
        let s = &self.stores[m];
        (s.slots.iter().filter(|x| x.is_some()).count(), s.slots.len())
    }

    fn cpms_set(&mut self, args: &str) {
        let mut new = self.mem;
        for (i, f) in split_fields(args).iter().enumerate().take(3) {
            let name = f.trim_matches('"');
            match self.stores.iter().position(|s| s.name == name) {
                Some(p) => new[i] = p,
                None => {
                    self.final_result("+CMS ERROR: 302");
                    return;
                }
            }
        }
        self.mem = new;
        let parts: Vec<String> = self
            .mem
            .iter()
            .map(|&m| {
                let (u, t) = self.usage(m);
                format!("{u},{t}")
            })
            .collect();
        self.line(&format!("+CPMS: {}", parts.join(",")));
        self.final_result("OK");
    }

    fn cnmi_set(&mut self, args: &str) {
        let vals: Vec<u8> = split_fields(args).iter().map(|f| f.parse::<u8>().unwrap_or(u8::MAX)).collect();
        let mut v = [0u8; 5];
        for (d, s) in v.iter_mut().zip(vals.iter()) {
            *d = *s;
        }
        let ranges =
            parse_int_ranges(&format!("+CNMI: {}", self.opts.cnmi_ranges), "+CNMI:").unwrap_or_default();
        let fits = vals.len() <= 5
            && vals.iter().zip(ranges.iter()).all(|(x, r)| r.iter().any(|r| r.contains(&i32::from(*x))));
        if !fits || self.opts.quirks.reject_cnmi.contains(&v) {
            self.final_result("+CMS ERROR: 303");
            return;
        }
        self.cnmi = v;
        self.final_result("OK");
    }

    fn header_alpha(&self) -> &'static str {
        if self.opts.quirks.alpha_quoted {
            ",\"\""
        } else {
            ","
        }
    }

    fn cmgl(&mut self, stat: u32) {
        let m = self.mem[0];
        let mut any = false;
        for i in 0..self.stores[m].slots.len() {
            let Some(slot) = self.stores[m].slots[i].clone() else { continue };
            if stat != 4 && u32::from(slot.stat) != stat {
                continue;
            }
            any = true;
            let len = Self::tpdu_len(&slot.pdu);
            let alpha = self.header_alpha();
            self.line(&format!("+CMGL: {i},{}{alpha},{len}", slot.stat));
            let p = self.pdu_line(&slot.pdu);
            self.next_line(&p);
            self.mark_read(m, i);
        }
        if !any && self.opts.quirks.empty_list_321 {
            self.final_result("+CMS ERROR: 321");
        } else {
            self.final_result("OK");
        }
    }

    /// Reading a message received unread makes it read (TS 27.005 §3.4.2, §3.4.3); a stored
    /// outgoing one keeps its status.
    fn mark_read(&mut self, m: usize, i: usize) {
        if let Some(Some(s)) = self.stores[m].slots.get_mut(i) {
            if s.stat == 0 {
                s.stat = 1;
            }
        }
    }

    fn cmgr(&mut self, i: u32) {
        let m = self.mem[0];
        let Some(Some(slot)) = self.stores[m].slots.get(i as usize).cloned() else {
            self.final_result("+CMS ERROR: 321");
            return;
        };
        if self.cmgf == 1 {
            // TS 27.005 §3.4.3 text mode: `<stat>` as a string, then the text.
            let stat = if slot.stat == 0 { "REC UNREAD" } else { "REC READ" };
            self.line(&format!("+CMGR: \"{stat}\",\"+12345678901\",,\"25/03/01,12:34:56+00\""));
            self.next_line("S");
            self.final_result("OK");
            return;
        }
        let len = Self::tpdu_len(&slot.pdu);
        let alpha = self.header_alpha();
        let p = self.pdu_line(&slot.pdu);
        if self.opts.quirks.pdu_on_cmgr_line {
            self.line(&format!("+CMGR: {}{alpha},{len} {p}", slot.stat));
        } else {
            self.line(&format!("+CMGR: {}{alpha},{len}", slot.stat));
            self.next_line(&p);
        }
        self.mark_read(m, i as usize);
        self.final_result("OK");
    }

    fn cmgd(&mut self, i: u32) {
        let m = self.mem[0];
        let removed = self.stores[m].slots.get_mut(i as usize).and_then(Option::take);
        if let (Some(slot), Some(hook)) = (&removed, &self.on_delete) {
            hook(&self.stores[m].name, i, &slot.pdu);
        }
        self.final_result("OK");
        if removed.is_some() {
            self.full_reported = false;
            // Memory available again: the network resends what it held (SMMA).
            if let Some(pdu) = self.network_queue.pop_front() {
                self.deliver(pdu);
            }
        }
    }
}

/// A valid SMS-DELIVER with SMSC prefix, 8-bit data `['S', n]`, for generated traffic.
///
/// Octets: `00` SMSC length 0 (modem default) · `04` first octet: TP-MTI 00 (deliver), TP-MMS
/// set · `0B 91 21 43 65 87 09 F1` originator: 11 digits, international, "12345678901" in
/// swapped semi-octets with F filler · `00` TP-PID · `04` TP-DCS 8-bit data · `52 30 10 21 43
/// 65 00` TP-SCTS 25-03-01 12:34:56 UTC+0 (swapped semi-octets) · `02` TP-UDL · `53 nn` data.
pub fn sample_deliver_pdu(n: u8) -> Vec<u8> {
    vec![
        0x00, 0x04, 0x0B, 0x91, 0x21, 0x43, 0x65, 0x87, 0x09, 0xF1, 0x00, 0x04, 0x52, 0x30, 0x10, 0x21, 0x43,
        0x65, 0x00, 0x02, 0x53, n,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(core: &mut SimCore, cmd: &str) -> String {
        core.input(format!("{cmd}\r").as_bytes());
        String::from_utf8(core.take_output()).unwrap()
    }

    #[test]
    fn store_notify_read_delete() {
        let mut c = SimCore::new(SimOptions::default());
        assert_eq!(run(&mut c, "ATE0"), "ATE0\r\r\nOK\r\n");
        assert_eq!(run(&mut c, "AT+CNMI=2,1,0,0,0"), "\r\nOK\r\n");
        c.deliver(sample_deliver_pdu(1));
        assert_eq!(String::from_utf8(c.take_output()).unwrap(), "\r\n+CMTI: \"SM\",0\r\n");
        let r = run(&mut c, "AT+CMGR=0");
        assert!(r.starts_with("\r\n+CMGR: 0,,21\r\n0004"), "{r}");
        assert_eq!(run(&mut c, "AT+CMGD=0"), "\r\nOK\r\n");
        assert!(c.stored().is_empty());
        assert_eq!(run(&mut c, "AT+CMGR=0"), "\r\n+CMS ERROR: 321\r\n");
    }

    #[test]
    fn full_store_holds_network_messages_until_a_delete() {
        let mut c = SimCore::new(SimOptions { storages: vec![("SM".into(), 1)], ..Default::default() });
        run(&mut c, "AT+CNMI=2,1,0,0,0");
        c.deliver(sample_deliver_pdu(1));
        c.deliver(sample_deliver_pdu(2));
        assert_eq!(c.network_queue_len(), 1);
        let out = String::from_utf8(c.take_output()).unwrap();
        assert!(out.contains("+CIEV: 5,1"), "{out}");
        let r = run(&mut c, "AT+CMGD=0");
        assert!(r.contains("+CMTI: \"SM\",0"), "{r}");
        assert_eq!(c.stored()[0].2.pdu, sample_deliver_pdu(2));
    }

    #[test]
    fn routed_messages_wait_for_cnma_and_a_missed_ack_is_redelivered() {
        let opts = SimOptions {
            ack_timeout: Duration::from_secs(1),
            network_retry: Duration::from_secs(2),
            ..Default::default()
        };
        let mut c = SimCore::new(opts);
        run(&mut c, "ATE0");
        run(&mut c, "AT+CSMS=1");
        run(&mut c, "AT+CNMI=2,2,0,0,0");
        let acked: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
        let a = acked.clone();
        c.set_on_ack(Some(Arc::new(move |p: &[u8]| a.lock().unwrap().push(p.to_vec()))));
        c.deliver(sample_deliver_pdu(1));
        c.deliver(sample_deliver_pdu(2));
        let out = String::from_utf8(c.take_output()).unwrap();
        assert_eq!(out.matches("+CMT:").count(), 1, "one at a time: {out}");
        let r = run(&mut c, "AT+CNMA");
        assert!(r.starts_with("\r\nOK\r\n\r\n+CMT: ,21"), "the next follows the ack: {r}");
        assert_eq!(*acked.lock().unwrap(), vec![sample_deliver_pdu(1)]);
        // The second is never acknowledged: refused, routing off, resent later and stored.
        let t = c.next_deadline().expect("ack timer");
        c.on_time(t);
        assert_eq!(c.cnmi(), [2, 0, 0, 0, 0]);
        assert!(c.stored().is_empty());
        assert_eq!(c.network_queue_len(), 1);
        let t = c.next_deadline().expect("network retry");
        c.on_time(t);
        assert_eq!(c.stored()[0].2.pdu, sample_deliver_pdu(2));
        assert_eq!(c.next_deadline(), None);
        assert_eq!(run(&mut c, "AT+CNMA"), "\r\n+CMS ERROR: 340\r\n");
        assert_eq!(acked.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_command_log_keeps_the_newest() {
        let mut c = SimCore::new(SimOptions::default());
        for i in 0..COMMAND_LOG_CAP + 10 {
            c.input(format!("AT+CMGR={i}\r").as_bytes());
        }
        assert!(c.log.len() <= COMMAND_LOG_CAP);
        assert_eq!(
            c.log.last().map(String::as_str),
            Some(format!("AT+CMGR={}", COMMAND_LOG_CAP + 9).as_str())
        );
        let mut quiet = SimCore::new(SimOptions { command_log: 0, ..Default::default() });
        assert_eq!(run(&mut quiet, "AT"), "AT\r\r\nOK\r\n", "still answers");
        assert!(quiet.log.is_empty());
        let mut one = SimCore::new(SimOptions { command_log: 1, ..Default::default() });
        run(&mut one, "ATE0");
        run(&mut one, "AT");
        assert_eq!(one.log, ["AT"]);
    }

    #[test]
    fn glued_urcs() {
        let mut c = SimCore::new(SimOptions::default());
        c.quirks_mut().urc_glued_after_ok = true;
        run(&mut c, "ATE0");
        run(&mut c, "AT+CNMI=2,1,0,0,0");
        c.deliver(sample_deliver_pdu(1));
        c.deliver(sample_deliver_pdu(2));
        assert_eq!(String::from_utf8(c.take_output()).unwrap(), "\r\n+CMTI: \"SM\",0\r\n");
        assert_eq!(run(&mut c, "AT"), "\r\nOK\r\n\r\n+CMTI: \"SM\",1\r\n");
    }
}
