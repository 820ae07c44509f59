//! Final result codes: the line that ends a command's response (TS 27.007 §5 with `+CMEE=1`,
//! TS 27.005 §3.2.5, ITU-T V.250 §5.7; `COMMAND NOT SUPPORT` as some modems print it).

use std::fmt;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalResult {
    /// `OK` (V.250 §5.7.1).
    Ok,
    /// `ERROR` (V.250 §5.7.1).
    Error,
    /// `+CME ERROR: <n>` (TS 27.007 §9.2); a verbose text that is not a number is kept as `None`.
    CmeError(Option<u32>),
    /// `+CMS ERROR: <n>` (TS 27.005 §3.2.5).
    CmsError(Option<u32>),
    /// `NO CARRIER`, `BUSY`, `NO ANSWER`, `NO DIALTONE`, `CONNECT…`, `COMMAND NOT SUPPORT`,
    /// `+EXT ERROR: …`: the text as printed.
    Other(String),
    /// The expected response came but no final result followed within the grace period.
    Assumed,
    /// Nothing came back in time.
    Timeout,
    /// The port closed or the modem reset while the command was in flight.
    Aborted,
}

impl FinalResult {
    /// Classifies a line; `None` if it is not a final result code.
    pub fn parse(line: &str) -> Option<FinalResult> {
        let num = |rest: &str| rest.trim().parse::<u32>().ok();
        match line {
            "OK" => return Some(FinalResult::Ok),
            "ERROR" => return Some(FinalResult::Error),
            "NO CARRIER" | "BUSY" | "NO ANSWER" | "NO DIALTONE" | "COMMAND NOT SUPPORT" => {
                return Some(FinalResult::Other(line.to_string()))
            }
            _ => {}
        }
        if let Some(rest) = line.strip_prefix("+CME ERROR:") {
            return Some(FinalResult::CmeError(num(rest)));
        }
        if let Some(rest) = line.strip_prefix("+CMS ERROR:") {
            return Some(FinalResult::CmsError(num(rest)));
        }
        if line.starts_with("CONNECT") || line.starts_with("+EXT ERROR:") {
            return Some(FinalResult::Other(line.to_string()));
        }
        None
    }

    /// `OK`, or an `OK` assumed after the expected response.
    pub fn is_ok(&self) -> bool {
        matches!(self, FinalResult::Ok | FinalResult::Assumed)
    }
}

impl fmt::Display for FinalResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FinalResult::Ok => f.write_str("OK"),
            FinalResult::Error => f.write_str("ERROR"),
            FinalResult::CmeError(Some(n)) => write!(f, "+CME ERROR: {n}"),
            FinalResult::CmsError(Some(n)) => write!(f, "+CMS ERROR: {n}"),
            FinalResult::CmeError(None) => f.write_str("+CME ERROR"),
            FinalResult::CmsError(None) => f.write_str("+CMS ERROR"),
            FinalResult::Other(s) => f.write_str(s),
            FinalResult::Assumed => f.write_str("(no final result; assumed OK)"),
            FinalResult::Timeout => f.write_str("(timeout)"),
            FinalResult::Aborted => f.write_str("(aborted)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(FinalResult::parse("OK"), Some(FinalResult::Ok));
        assert_eq!(FinalResult::parse("+CMS ERROR: 321"), Some(FinalResult::CmsError(Some(321))));
        assert_eq!(FinalResult::parse("+CME ERROR: SIM busy"), Some(FinalResult::CmeError(None)));
        assert_eq!(FinalResult::parse("CONNECT 115200"), Some(FinalResult::Other("CONNECT 115200".into())));
        assert_eq!(
            FinalResult::parse("COMMAND NOT SUPPORT"),
            Some(FinalResult::Other("COMMAND NOT SUPPORT".into()))
        );
        assert_eq!(FinalResult::parse("+CMTI: \"SM\",1"), None);
        assert_eq!(FinalResult::parse("OKAY"), None);
    }
}
