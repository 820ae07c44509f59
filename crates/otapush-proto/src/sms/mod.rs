//! SMS transfer layer: SMS-DELIVER and SMS-STATUS-REPORT (3GPP TS 23.040) and the alphabets
//! and data coding scheme (3GPP TS 23.038).
//!
//! [`decode`] turns the PDU a modem prints (with or without the service-centre address in
//! front) into an owned [`SmsPdu`]; [`view`] checks the same PDU the same way and borrows from
//! it instead ([`PduView`]: no copies, text decoded into the caller's buffer); [`encode`] builds the same bytes back, and
//! [`segment_binary`] / [`segment_text`] split long payloads into concatenated SMS-DELIVERs.
//! Decoding is pure and bounded: every length comes from the PDU, every error says what
//! and at which octet.

mod address;
mod alphabet;
mod dcs;
mod deliver;
mod encode;
mod error;
mod gsm7;
mod national;
mod reader;
mod status_report;
mod timestamp;
mod udh;
mod user_data;
pub(crate) mod view;

#[cfg(any(test, feature = "test-vectors"))]
pub mod test_vectors;
#[cfg(test)]
mod tests;

pub use address::{Address, TypeOfNumber, ADDRESS_CAPACITY};
pub use alphabet::Tables;
pub use dcs::{Charset, DataCoding, MessageWaiting};
pub use deliver::Deliver;
pub use encode::{encode, gsm7_encodable, segment_binary, segment_text, DeliverTemplate};
pub use error::{EncodeError, SmsError};
pub use status_report::{StatusKind, StatusReport};
pub use timestamp::Timestamp;
pub use udh::{
    Concat, InformationElement, Ports, UserDataHeader, IEI_CONCAT_16, IEI_CONCAT_8, IEI_LOCKING_SHIFT,
    IEI_PORTS_16, IEI_PORTS_8, IEI_SINGLE_SHIFT,
};
pub use user_data::{UserData, MAX_UD_OCTETS};
pub use view::{
    view, AddressView, DeliverView, PackedSeptets, PduView, StatusReportView, TpduView, UserDataHeaderView,
    UserDataView,
};

use reader::Reader;

// Bits of the first TPDU octet (TS 23.040 §9.2.3): TP-MMS, TP-LP, TP-SRI / TP-SRQ, TP-UDHI,
// TP-RP. TP-MTI is bits 1-0.
const TP_MMS: u8 = 0x04;
const TP_LP: u8 = 0x08;
const TP_SRI: u8 = 0x20;
const TP_UDHI: u8 = 0x40;
const TP_RP: u8 = 0x80;

/// The first octet: TP-MTI with the bits whose flag is set.
fn first_octet(mti: u8, bits: &[(bool, u8)]) -> u8 {
    bits.iter().filter(|(on, _)| *on).fold(mti, |acc, (_, bit)| acc | bit)
}

/// One decoded PDU: the service-centre address (if the PDU carried a non-empty one) and the TPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsPdu {
    /// The service-centre address (TS 24.011 §8.2.5.1), when the PDU had a non-empty one.
    pub smsc: Option<Address>,
    /// The TPDU.
    pub tpdu: Tpdu,
}

/// The TPDUs a mobile receives that otapush handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tpdu {
    /// SMS-DELIVER (TS 23.040 §9.2.2.1).
    Deliver(Deliver),
    /// SMS-STATUS-REPORT (TS 23.040 §9.2.2.3).
    StatusReport(StatusReport),
}

/// Which TPDU a PDU holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PduKind {
    /// SMS-DELIVER.
    Deliver,
    /// SMS-STATUS-REPORT.
    StatusReport,
}

impl PduKind {
    /// The `type` of `otapushctl decode sms` (docs/cli.md): `deliver` or `status_report`.
    pub fn as_str(self) -> &'static str {
        match self {
            PduKind::Deliver => "deliver",
            PduKind::StatusReport => "status_report",
        }
    }
}

/// Decodes an SMS PDU received by the mobile (TS 23.040 §9.2.2: TP-MTI 00 SMS-DELIVER,
/// 10 SMS-STATUS-REPORT; anything else is [`SmsError::UnsupportedMessageType`]). With
/// `with_smsc` the PDU starts with the service-centre address as modems print it in PDU mode
/// (TS 27.005 §3.3.1). Octets after the TPDU are ignored.
pub fn decode(pdu: &[u8], with_smsc: bool) -> Result<SmsPdu, SmsError> {
    let mut r = Reader::new(pdu);
    let smsc = if with_smsc { Address::parse_smsc(&mut r)? } else { None };
    let offset = r.offset();
    let first = r.u8("first octet")?;
    let tpdu = match first & 0x03 {
        0b00 => Tpdu::Deliver(Deliver::parse(first, &mut r)?),
        0b10 => Tpdu::StatusReport(StatusReport::parse(first, &mut r)?),
        mti => return Err(SmsError::UnsupportedMessageType { mti, offset }),
    };
    Ok(SmsPdu { smsc, tpdu })
}

/// Cheap accessors for the receive path: every value one PDU contributes to a message.
impl SmsPdu {
    /// Which TPDU this is.
    pub fn kind(&self) -> PduKind {
        match self.tpdu {
            Tpdu::Deliver(_) => PduKind::Deliver,
            Tpdu::StatusReport(_) => PduKind::StatusReport,
        }
    }

    /// The SMS-DELIVER, if this is one.
    pub fn deliver(&self) -> Option<&Deliver> {
        match &self.tpdu {
            Tpdu::Deliver(d) => Some(d),
            Tpdu::StatusReport(_) => None,
        }
    }

    /// The SMS-STATUS-REPORT, if this is one.
    pub fn status_report(&self) -> Option<&StatusReport> {
        match &self.tpdu {
            Tpdu::StatusReport(s) => Some(s),
            Tpdu::Deliver(_) => None,
        }
    }

    /// The originator (TP-OA) of a deliver; the recipient (TP-RA) a status report is about.
    pub fn originator(&self) -> &Address {
        match &self.tpdu {
            Tpdu::Deliver(d) => &d.originator,
            Tpdu::StatusReport(s) => &s.recipient,
        }
    }

    /// TP-SCTS (for a status report, the time stamp of the reported message).
    pub fn timestamp(&self) -> &Timestamp {
        match &self.tpdu {
            Tpdu::Deliver(d) => &d.scts,
            Tpdu::StatusReport(s) => &s.scts,
        }
    }

    /// The user data header (TP-UDHI set).
    pub fn udh(&self) -> Option<&UserDataHeader> {
        match &self.tpdu {
            Tpdu::Deliver(d) => d.udh.as_ref(),
            Tpdu::StatusReport(s) => s.udh.as_ref(),
        }
    }

    /// The header's concatenation element, if valid.
    pub fn concat(&self) -> Option<Concat> {
        self.udh().and_then(UserDataHeader::concat)
    }

    /// The header's application port addressing, if valid.
    pub fn ports(&self) -> Option<Ports> {
        self.udh().and_then(UserDataHeader::ports)
    }

    /// TP-UD after the header (a status report may have none).
    pub fn user_data(&self) -> Option<&UserData> {
        match &self.tpdu {
            Tpdu::Deliver(d) => Some(&d.user_data),
            Tpdu::StatusReport(s) => s.user_data.as_ref(),
        }
    }

    /// TP-DCS (a status report may have none).
    pub fn dcs(&self) -> Option<DataCoding> {
        match &self.tpdu {
            Tpdu::Deliver(d) => Some(d.dcs),
            Tpdu::StatusReport(s) => s.dcs,
        }
    }

    /// Message class 0-3 from TP-DCS.
    pub fn class(&self) -> Option<u8> {
        self.dcs().and_then(|d| d.class())
    }
}
