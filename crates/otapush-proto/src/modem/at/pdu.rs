//! A PDU as the modem printed it in PDU mode (TS 27.005 §3.1 `<pdu>`: the SMSC address, then
//! the TPDU of `<length>` octets), decoded once by the engine together with what its header
//! line (`+CMGR`, `+CMGL`, `+CMT`, `+CDS`) said.

use super::response::{with_smsc_prefix, PduHeader};
use crate::hex::HexError;

/// One PDU with its header fields, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPdu {
    bytes: Vec<u8>,
    tpdu_len: usize,
    smsc_len: usize,
    index: Option<u32>,
    stat: Option<u32>,
}

impl RawPdu {
    /// Decodes the hex digits of a PDU line that followed (or ended) the header line `header`,
    /// which had `prefix` (`"+CMGL:"`, …). An SMSC part the modem left out becomes `00`.
    pub fn new(prefix: &str, header: &PduHeader, hex: &str) -> Result<RawPdu, HexError> {
        let bytes = with_smsc_prefix(crate::hex::decode(hex)?, header.length);
        // A first octet that disagrees with `<length>` was logged by `with_smsc_prefix`; the
        // SMSC part is then what the first octet says, within the PDU.
        let smsc_len = bytes.first().map_or(0, |&n| (usize::from(n) + 1).min(bytes.len()));
        let (index, stat) = match prefix {
            "+CMGL:" => (header.number(0), header.number(1)),
            "+CMGR:" => (None, header.number(0)),
            _ => (None, None),
        };
        Ok(RawPdu { bytes, tpdu_len: header.length, smsc_len, index, stat })
    }

    /// The SMSC address and the TPDU, as durable storage takes them.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// [`bytes`](Self::bytes), owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// `<length>`: the TPDU octets the header announced (TS 27.005 §3.1).
    pub fn tpdu_len(&self) -> usize {
        self.tpdu_len
    }

    /// Octets of the SMSC address, its length octet included (TS 24.011 §8.2.5.1).
    pub fn smsc_len(&self) -> usize {
        self.smsc_len
    }

    /// The TPDU: everything after the SMSC address.
    pub fn tpdu(&self) -> &[u8] {
        self.bytes.get(self.smsc_len..).unwrap_or_default()
    }

    /// TP-MTI, the message type (TS 23.040 §9.2.3.1): 0 SMS-DELIVER, 2 SMS-STATUS-REPORT.
    pub fn tp_mti(&self) -> Option<u8> {
        self.tpdu().first().map(|b| b & 0x03)
    }

    /// `<index>` of a `+CMGL` entry (TS 27.005 §3.4.2).
    pub fn index(&self) -> Option<u32> {
        self.index
    }

    /// `<stat>` of a `+CMGR`/`+CMGL` entry (TS 27.005 §3.1: 0 received unread, 1 read, …).
    pub fn stat(&self) -> Option<u32> {
        self.stat
    }

    /// A message the user stored to send (`<stat>` 2 "STO UNSENT" or 3 "STO SENT"), not a
    /// received one.
    pub fn is_outgoing(&self) -> bool {
        matches!(self.stat, Some(2 | 3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::at::response::parse_pdu_header;

    fn raw(line: &str, prefix: &str, hex: &str) -> RawPdu {
        RawPdu::new(prefix, &parse_pdu_header(line, prefix).unwrap(), hex).unwrap()
    }

    #[test]
    fn fields_of_each_header() {
        let p = raw("+CMGL: 4,1,,3", "+CMGL:", "01910601AB");
        assert_eq!((p.index(), p.stat(), p.tpdu_len(), p.smsc_len()), (Some(4), Some(1), 3, 2));
        assert_eq!((p.tpdu(), p.tp_mti()), (&[6, 1, 0xAB][..], Some(2)));
        let p = raw("+CMGR: 0,,3", "+CMGR:", "040102");
        assert_eq!((p.index(), p.stat(), p.bytes()), (None, Some(0), &[0, 4, 1, 2][..]));
        assert!(!p.is_outgoing());
        assert!(raw("+CMGL: 4,2,,3", "+CMGL:", "000100").is_outgoing());
        assert!(raw("+CMGR: 3,,3", "+CMGR:", "000100").is_outgoing());
        assert_eq!((p.smsc_len(), p.tp_mti()), (1, Some(0)));
        let p = raw("+CMT: ,2", "+CMT:", "000401");
        assert_eq!((p.index(), p.stat(), p.into_bytes()), (None, None, vec![0, 4, 1]));
    }

    #[test]
    fn untrusted_lengths_stay_within_the_pdu() {
        // The first octet claims a longer SMSC part than the PDU has.
        let p = raw("+CMGR: 0,,1", "+CMGR:", "0901");
        assert_eq!((p.smsc_len(), p.tpdu(), p.tp_mti()), (2, &[][..], None));
        let p = raw("+CMGR: 0,,4000000000", "+CMGR:", "00");
        assert_eq!(p.smsc_len(), 1);
        assert!(RawPdu::new("+CMT:", &parse_pdu_header("+CMT: 1", "+CMT:").unwrap(), "0g").is_err());
    }
}
