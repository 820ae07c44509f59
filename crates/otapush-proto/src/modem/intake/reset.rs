//! Signs that the modem reset without a boot URC: settings only a reset undoes (`ATE0`,
//! `+CMGF=0`, `+CPMS`) are gone.

use super::{Intake, Phase};
use crate::modem::at::response::{parse_cpms_usage, split_fields};
use crate::modem::at::{FinalResult, Response};

/// `+CMS ERROR: 305`: invalid text mode parameter — the modem is in text mode (TS 27.005 §3.2.5).
const CMS_INVALID_TEXT_PARAM: u32 = 305;

impl Intake {
    /// Whether an answer shows settings a modem has only after a reset (ATE0, `+CMGF=0` or
    /// `+CPMS` lost): the echo of the command once `ATE0` held, a text-mode answer to a PDU-mode
    /// command (TS 27.005 §3.2.3), or `+CPMS?` naming another `<mem3>` than the init set. Checked in the ready phase; during init it learns the echo quirk.
    pub(super) fn reveals_reset(&mut self, r: &Response) -> Option<&'static str> {
        if self.phase != Phase::Ready {
            if r.echoed && self.init.echo_off == Some(true) {
                log::info!("modem: echo stays on after ATE0 (a quirk); not a reset sign");
                self.init.echo_off = Some(false);
            }
            return None;
        }
        if r.echoed && self.init.echo_off == Some(true) {
            return Some("echo on");
        }
        let sms = r.command.starts_with("AT+CMGR") || r.command.starts_with("AT+CMGL");
        if sms && r.result == FinalResult::CmsError(Some(CMS_INVALID_TEXT_PARAM)) {
            return Some("text mode (+CMS ERROR: 305)");
        }
        if r.lines.iter().any(|l| is_text_mode_entry(&l.text)) {
            return Some("a text-mode entry");
        }
        let usage =
            r.line("+CPMS:").filter(|_| r.command == "AT+CPMS?").and_then(|l| parse_cpms_usage(l).ok());
        let mem3 = usage.as_ref().and_then(|u| u.get(2)).map(|u| u.mem.as_str());
        if let (Some(set), Some(now)) = (self.storage.mem3.as_deref(), mem3) {
            if set != now {
                return Some("new messages going to another storage");
            }
        }
        None
    }
}

/// A `+CMGR:`/`+CMGL:` line in text mode: `<stat>` is a quoted string (`"REC UNREAD"`), where
/// PDU mode prints an integer (TS 27.005 §3.4.3, §4.x).
pub(super) fn is_text_mode_entry(line: &str) -> bool {
    let field = if let Some(rest) = line.strip_prefix("+CMGR:") {
        split_fields(rest).first().copied()
    } else if let Some(rest) = line.strip_prefix("+CMGL:") {
        split_fields(rest).get(1).copied()
    } else {
        None
    };
    field.is_some_and(|f| f.trim_start().starts_with('"'))
}
