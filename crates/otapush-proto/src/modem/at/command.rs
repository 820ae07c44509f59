//! AT commands as the engine sends them: the text, the response prefixes that belong to it,
//! whether a PDU line follows each of those (PDU mode, TS 27.005 §3.4.2/§4.x) and a timeout.
//! Built with `at-commands`' builder.

use at_commands::builder::CommandBuilder;
use std::time::Duration;

/// Default time a command may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// `+CMGL` lists a whole store; ModemManager allows 120 s.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(120);
/// The first `AT` after opening the port.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// One command line and what its response looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command without the line terminator, e.g. `AT+CMGR=3`.
    pub text: String,
    /// Information-response prefixes that belong to this command (e.g. `+CMGR:`).
    pub expect: Vec<&'static str>,
    /// In PDU mode a PDU line follows each line with an expected prefix (`+CMGR`, `+CMGL`).
    pub pdu_follows: bool,
    /// How long the engine waits for the final result.
    pub timeout: Duration,
}

/// Big enough for every command this crate builds (the longest is a 3-storage `+CPMS`).
const BUILD_BUF: usize = 96;

fn built(r: Result<&[u8], usize>) -> String {
    match r {
        Ok(b) => String::from_utf8_lossy(b).into_owned(),
        // Only reachable with an over-long storage name from a profile; send it truncated so
        // the modem answers ERROR rather than panicking here.
        Err(_) => String::from("AT"),
    }
}

impl Command {
    /// A command sent verbatim (profile init additions, `AT+CNMA` forms).
    pub fn raw(text: &str) -> Command {
        Command { text: text.to_string(), expect: Vec::new(), pdu_follows: false, timeout: DEFAULT_TIMEOUT }
    }

    fn with(mut self, expect: &[&'static str]) -> Command {
        self.expect = expect.to_vec();
        self
    }

    /// The same command with another timeout.
    pub fn with_timeout(mut self, t: Duration) -> Command {
        self.timeout = t;
        self
    }

    /// `AT`, to see whether anything answers.
    pub fn probe() -> Command {
        Command::raw("AT").with_timeout(PROBE_TIMEOUT)
    }

    /// `AT+NAME?`
    pub fn query(name: &str, expect: &'static str) -> Command {
        let mut buf = [0u8; BUILD_BUF];
        let t = built(CommandBuilder::create_query(&mut buf, true).named(name).finish_with(b""));
        Command::raw(&t).with(&[expect])
    }

    /// `AT+NAME=?`
    pub fn test(name: &str, expect: &'static str) -> Command {
        let mut buf = [0u8; BUILD_BUF];
        let t = built(CommandBuilder::create_test(&mut buf, true).named(name).finish_with(b""));
        Command::raw(&t).with(&[expect])
    }

    /// `AT+NAME=<n>,<n>,…`
    pub fn set_ints(name: &str, values: &[i32], expect: &[&'static str]) -> Command {
        let mut buf = [0u8; BUILD_BUF];
        let mut b = CommandBuilder::create_set(&mut buf, true).named(name);
        for v in values {
            b = b.with_int_parameter(*v);
        }
        Command::raw(&built(b.finish_with(b""))).with(expect)
    }

    /// `AT+CPMS="<m1>"[,"<m2>"[,"<m3>"]]` (TS 27.005 §3.2.2).
    pub fn cpms_set(mems: &[&str]) -> Command {
        let mut buf = [0u8; BUILD_BUF];
        let mut b = CommandBuilder::create_set(&mut buf, true).named("+CPMS");
        for m in mems {
            b = b.with_string_parameter(m);
        }
        Command::raw(&built(b.finish_with(b""))).with(&["+CPMS:"])
    }

    /// `AT+CMGL=<stat>` in PDU mode (4 = all, TS 27.005 §3.4.2).
    pub fn cmgl(stat: i32) -> Command {
        let mut c = Command::set_ints("+CMGL", &[stat], &["+CMGL:"]).with_timeout(LIST_TIMEOUT);
        c.pdu_follows = true;
        c
    }

    /// `AT+CMGR=<index>` (TS 27.005 §3.4.3).
    pub fn cmgr(index: u32) -> Command {
        let mut c = Command::set_ints("+CMGR", &[index_i32(index)], &["+CMGR:"]);
        c.pdu_follows = true;
        c
    }

    /// `AT+CMGD=<index>` (TS 27.005 §3.5.4).
    pub fn cmgd(index: u32) -> Command {
        Command::set_ints("+CMGD", &[index_i32(index)], &[])
    }

    /// Whether a response line belongs to this command.
    pub fn expects(&self, line: &str) -> bool {
        self.expect.iter().any(|p| line.starts_with(p))
    }
}

fn index_i32(i: u32) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds() {
        assert_eq!(Command::query("+CPIN", "+CPIN:").text, "AT+CPIN?");
        assert_eq!(Command::test("+CNMI", "+CNMI:").text, "AT+CNMI=?");
        assert_eq!(Command::set_ints("+CNMI", &[2, 1, 2, 1, 0], &[]).text, "AT+CNMI=2,1,2,1,0");
        assert_eq!(Command::cpms_set(&["ME", "ME", "SM"]).text, "AT+CPMS=\"ME\",\"ME\",\"SM\"");
        let l = Command::cmgl(4);
        assert_eq!(l.text, "AT+CMGL=4");
        assert!(l.pdu_follows && l.timeout == LIST_TIMEOUT);
        assert!(Command::cmgr(7).expects("+CMGR: 0,,23"));
        assert!(!Command::cmgr(7).expects("+CMTI: \"SM\",1"));
        assert_eq!(Command::cmgd(12).text, "AT+CMGD=12");
    }
}
