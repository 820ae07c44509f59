//! The storage choice (TS 27.005 §3.2.2 `+CPMS`): where new messages go and which storages are
//! listed, the one selected now, and the message counts of each.

use super::{Intake, Phase, Purpose, Step};
use crate::modem::at::response::parse_cpms_usage;
use crate::modem::at::{Command, Response};
use std::collections::HashMap;

/// Messages in a storage (`<used>`/`<total>`, TS 27.005 §3.2.2), as the last `+CPMS` answer
/// gave them and tracked since from `+CMTI` and `+CMGD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Count {
    pub(super) used: u32,
    pub(super) total: u32,
}

/// What is known of the modem's storages.
#[derive(Debug, Default)]
pub(super) struct Storage {
    /// The storages `+CPMS=?` offers for `<mem1>`, `<mem2>`, `<mem3>`.
    pub(super) groups: Vec<Vec<String>>,
    /// The storage chosen for all three.
    pub(super) store: Option<String>,
    /// The storages listed for leftovers, the chosen one first.
    pub(super) list_mems: Vec<String>,
    /// The `<mem1>` selected now (reads and deletes go there), as far as we know.
    pub(super) mem1: Option<String>,
    /// The `<mem3>` (where new messages go) set by the init, if it set all three.
    pub(super) mem3: Option<String>,
    /// Per storage, while known.
    pub(super) counts: HashMap<String, Count>,
    /// The position of the `smsfull` indicator in `+CIEV` (TS 27.007 §8.9).
    pub(super) smsfull_ind: Option<u32>,
}

impl Storage {
    /// Picks the first preferred storage all three `+CPMS` parameters accept (else the first
    /// `<mem1>` accepts, else the first), and lists every preferred storage `<mem1>` accepts.
    pub(super) fn choose(&mut self, prefs: &[String]) {
        let g = &self.groups;
        let in_group = |i: usize, m: &String| g.get(i).is_none_or(|l| l.is_empty() || l.contains(m));
        let store = prefs
            .iter()
            .find(|m| in_group(0, m) && in_group(1, m) && in_group(2, m))
            .or_else(|| prefs.iter().find(|m| in_group(0, m)))
            .or(prefs.first())
            .cloned();
        let mut list = Vec::new();
        if let Some(s) = &store {
            list.push(s.clone());
        }
        for m in prefs {
            if in_group(0, m) && !list.contains(m) {
                list.push(m.clone());
            }
        }
        self.store = store;
        self.list_mems = list;
    }

    /// A `+CMTI` for `mem`: one message more.
    pub(super) fn count_stored(&mut self, mem: &str) {
        if let Some(c) = self.counts.get_mut(mem) {
            c.used = (c.used + 1).min(c.total);
        }
    }
}

impl Intake {
    /// Logs and records a `+CPMS?` answer; `false` if it had no usage.
    pub(super) fn log_usage(&mut self, r: &Response) -> bool {
        let Some(line) = r.line("+CPMS:") else { return false };
        match parse_cpms_usage(line) {
            Ok(u) => {
                let text: Vec<String> =
                    u.iter().map(|s| format!("{} {}/{}", s.mem, s.used, s.total)).collect();
                log::info!("modem: SMS storage {}", text.join(", "));
                for s in u.iter().filter(|s| !s.mem.is_empty()) {
                    self.storage.counts.insert(s.mem.clone(), Count { used: s.used, total: s.total });
                }
                if u.iter().any(|s| s.is_full()) {
                    log::warn!("modem: SMS storage full; draining");
                    self.request_drain();
                }
                true
            }
            Err(e) => {
                log::warn!("modem: {e}");
                false
            }
        }
    }

    /// A storage-full sign. Storage holding only messages already in hand needs no listing
    /// (a storage larger than the burst refills after every delete and says so each time); one
    /// with messages nobody notified is listed, and so is every storage if the counts do not
    /// show a full one (they are stale).
    pub(super) fn storage_full(&mut self, sign: &str) {
        let counted_full = self
            .storage
            .list_mems
            .iter()
            .any(|m| self.storage.counts.get(m).is_some_and(|c| c.used >= c.total));
        let todo: Vec<String> =
            self.storage.list_mems.iter().filter(|m| !counted_full || !self.all_known(m)).cloned().collect();
        if todo.is_empty() {
            log::debug!("modem: SMS storage full ({sign}); every message in it is being handled");
            return;
        }
        log::warn!("modem: SMS storage full ({sign}); listing {}", todo.join(", "));
        for m in todo {
            self.queue_drain(m);
        }
    }

    /// Sends `AT+CPMS="<mem>"` if mem1 is another storage (always switch to the storage a
    /// `+CMTI` names before `+CMGR`/`+CMGD`: docs/modem.md, Receiving). `true` if a command was sent.
    pub(super) fn switch_mem(&mut self, mem: &str) -> bool {
        if self.storage.mem1.as_deref() == Some(mem) {
            return false;
        }
        self.send(Command::cpms_set(&[mem]), Purpose::SwitchMem(mem.to_string()));
        true
    }

    /// Nothing to send. The modem may reset silently while nobody talks to it, and a `+CMGD`
    /// to the default storage it came back with would delete the wrong message: the next
    /// piece of work selects its storage again (and that command's answer shows the reset).
    pub(super) fn on_idle(&mut self) {
        self.storage.mem1 = None;
    }

    /// The answer to a storage selection: on success the set command's usage (`+CPMS:
    /// <used1>,<total1>,…`, TS 27.005 §3.2.2); a storage that cannot be selected loses its work.
    pub(super) fn switch_mem_response(&mut self, mem: String, r: &Response) {
        if r.result.is_ok() {
            let u = r.line("+CPMS:").and_then(|l| parse_cpms_usage(l).ok());
            if let Some(u) = u.as_ref().and_then(|u| u.first()) {
                self.storage.counts.insert(mem.clone(), Count { used: u.used, total: u.total });
            }
            self.storage.mem1 = Some(mem);
        } else {
            log::warn!("modem: cannot select storage {mem}: {}; skipping its work", r.result);
            self.work.reads.forget_mem(&mem);
            self.work.listed_order.take_mem(&mem);
            self.work.deletes.retain(|d| d.loc.mem != mem);
            self.work.drains.retain(|m| *m != mem);
            if let Phase::Init(Step::List(i)) = self.phase {
                self.phase = Phase::Init(Step::List(i + 1));
            }
        }
    }
}
