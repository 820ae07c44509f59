//! Unsolicited result codes (TS 27.005 §3.4.1, TS 27.007 §8.10), classified.

use super::pdu::RawPdu;
use super::response::{parse_ciev, parse_stored_indication};
use super::result::FinalResult;
use crate::modem::Location;

/// The URCs that carry a PDU on the following line (PDU mode).
pub const TWO_LINE_URCS: [&str; 3] = ["+CMT:", "+CDS:", "+CBM:"];

/// Which two-line URC delivered a PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduUrcKind {
    /// `+CMT`: an SMS-DELIVER routed to the host (not stored).
    Deliver,
    /// `+CDS`: an SMS-STATUS-REPORT routed to the host.
    StatusReport,
    /// `+CBM`: a cell broadcast page (not an SMS; logged only).
    Broadcast,
}

impl PduUrcKind {
    /// The kind for a URC prefix (`+CMT:`, `+CDS:`, `+CBM:`).
    pub fn from_prefix(p: &str) -> Option<PduUrcKind> {
        match p {
            "+CMT:" => Some(PduUrcKind::Deliver),
            "+CDS:" => Some(PduUrcKind::StatusReport),
            "+CBM:" => Some(PduUrcKind::Broadcast),
            _ => None,
        }
    }

    /// The URC's prefix (inverse of [`from_prefix`](Self::from_prefix)).
    pub fn prefix(self) -> &'static str {
        match self {
            PduUrcKind::Deliver => "+CMT:",
            PduUrcKind::StatusReport => "+CDS:",
            PduUrcKind::Broadcast => "+CBM:",
        }
    }
}

/// One unsolicited report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// `+CMTI: <mem>,<index>`: an SMS was stored.
    MessageStored(Location),
    /// `+CDSI: <mem>,<index>`: a status report was stored.
    StatusReportStored(Location),
    /// `+CMT`/`+CDS`/`+CBM` with the PDU.
    Pdu {
        /// Which URC.
        kind: PduUrcKind,
        /// The PDU line that followed it.
        pdu: RawPdu,
    },
    /// `+CIEV: <ind>,<value>`.
    Indicator {
        /// The indicator's position in `+CIND=?` (TS 27.007 §8.9).
        ind: u32,
        /// Its new value.
        value: i32,
    },
    /// An error result with no command in flight (e.g. `+CMS ERROR: 322`, storage full).
    Error(FinalResult),
    /// Anything else (`RDY`, `^BOOT:…`, `+CPIN: READY`, `+QIND: SMS DONE`, …).
    Line(String),
}

impl Urc {
    /// Classifies a one-line URC. Lines that look like a known URC but do not parse stay `Line`
    /// (and are logged by the caller).
    pub fn classify(line: &str) -> Urc {
        let stored = |prefix| parse_stored_indication(line, prefix);
        if line.starts_with("+CMTI:") {
            match stored("+CMTI:") {
                Ok(loc) => return Urc::MessageStored(loc),
                Err(e) => log::warn!("modem: {e}"),
            }
        } else if line.starts_with("+CDSI:") {
            match stored("+CDSI:") {
                Ok(loc) => return Urc::StatusReportStored(loc),
                Err(e) => log::warn!("modem: {e}"),
            }
        } else if line.starts_with("+CIEV:") {
            match parse_ciev(line) {
                Ok((ind, value)) => return Urc::Indicator { ind, value },
                Err(e) => log::warn!("modem: {e}"),
            }
        }
        Urc::Line(line.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(Urc::classify("+CMTI: \"ME\",4"), Urc::MessageStored(Location::new("ME", 4)));
        assert_eq!(Urc::classify("+CDSI: \"SR\",1"), Urc::StatusReportStored(Location::new("SR", 1)));
        assert_eq!(Urc::classify("+CIEV: 7,1"), Urc::Indicator { ind: 7, value: 1 });
        assert_eq!(Urc::classify("RDY"), Urc::Line("RDY".into()));
        assert_eq!(Urc::classify("+CMTI: junk"), Urc::Line("+CMTI: junk".into()));
    }
}
