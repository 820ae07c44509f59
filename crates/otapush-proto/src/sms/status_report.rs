//! SMS-STATUS-REPORT (TS 23.040 §9.2.2.3).

use super::address::Address;
use super::dcs::DataCoding;
use super::reader::Reader;
use super::timestamp::Timestamp;
use super::udh::UserDataHeader;
use super::user_data::{self, UserData};
use super::{first_octet, EncodeError, SmsError, TP_LP, TP_MMS, TP_SRI, TP_UDHI};

/// What TP-ST says about the short message (TS 23.040 §9.2.3.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// 0x00-0x1F: the transaction is complete (delivered, forwarded, or replaced).
    Completed,
    /// 0x20-0x3F: temporary error, the service centre is still trying.
    Pending,
    /// 0x40-0x7F, and reserved values: permanent error, or temporary error with no more
    /// attempts.
    Failed,
}

impl StatusKind {
    /// `completed`, `pending` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Completed => "completed",
            StatusKind::Pending => "pending",
            StatusKind::Failed => "failed",
        }
    }
}

/// An SMS-STATUS-REPORT TPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// TP-MR of the submitted message this reports on.
    pub message_reference: u8,
    /// TP-RA.
    pub recipient: Address,
    /// TP-SCTS of the submitted message.
    pub scts: Timestamp,
    /// TP-DT.
    pub discharge_time: Timestamp,
    /// TP-ST.
    pub status: u8,
    /// TP-MMS clear: more messages are waiting.
    pub more_messages: bool,
    /// TP-LP.
    pub loop_prevention: bool,
    /// TP-SRQ: the report answers an SMS-COMMAND (set) or an SMS-SUBMIT (clear).
    pub command_qualifier: bool,
    /// Optional TP-PID (present per TP-PI).
    pub pid: Option<u8>,
    /// Optional TP-DCS (present per TP-PI).
    pub dcs: Option<DataCoding>,
    /// Present when TP-UDHI is set.
    pub udh: Option<UserDataHeader>,
    /// Optional TP-UD (present per TP-PI).
    pub user_data: Option<UserData>,
}

impl StatusReport {
    /// What TP-ST says (TS 23.040 §9.2.3.15).
    pub fn status_kind(&self) -> StatusKind {
        match self.status {
            0x00..=0x1F => StatusKind::Completed,
            0x20..=0x3F => StatusKind::Pending,
            _ => StatusKind::Failed,
        }
    }

    /// Parses the TPDU after its first octet. The mandatory fields are strict; TP-PI and the
    /// fields it announces are read leniently: if they are cut short or malformed they are
    /// left out, and the report still decodes.
    pub(crate) fn parse(first: u8, r: &mut Reader<'_>) -> Result<StatusReport, SmsError> {
        let message_reference = r.u8("TP-MR")?;
        let recipient = Address::parse_tp(r, "TP-RA")?;
        let scts = Timestamp::parse(r, "TP-SCTS")?;
        let discharge_time = Timestamp::parse(r, "TP-DT")?;
        let status = r.u8("TP-ST")?;
        let mut sr = StatusReport {
            message_reference,
            recipient,
            scts,
            discharge_time,
            status,
            more_messages: first & TP_MMS == 0,
            loop_prevention: first & TP_LP != 0,
            // Bit 5 is TP-SRQ in a status report.
            command_qualifier: first & TP_SRI != 0,
            pid: None,
            dcs: None,
            udh: None,
            user_data: None,
        };
        if let Ok(Some((pid, dcs, ud))) = parse_optional(first, r) {
            sr.pid = pid;
            sr.dcs = dcs;
            if let Some((udh, data)) = ud {
                sr.udh = udh;
                sr.user_data = Some(data);
            }
        }
        Ok(sr)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        // TP-MTI 10.
        let first = first_octet(
            0x02,
            &[
                (!self.more_messages, TP_MMS),
                (self.loop_prevention, TP_LP),
                (self.command_qualifier, TP_SRI),
                (self.udh.is_some() && self.user_data.is_some(), TP_UDHI),
            ],
        );
        out.push(first);
        out.push(self.message_reference);
        self.recipient.emit_tp(out);
        self.scts.emit(out);
        self.discharge_time.emit(out);
        out.push(self.status);
        let pi = u8::from(self.pid.is_some())
            | u8::from(self.dcs.is_some()) << 1
            | u8::from(self.user_data.is_some()) << 2;
        if pi != 0 {
            out.push(pi);
        }
        if let Some(pid) = self.pid {
            out.push(pid);
        }
        if let Some(dcs) = self.dcs {
            out.push(dcs.octet());
        }
        if let Some(data) = &self.user_data {
            let dcs = self.dcs.unwrap_or(DataCoding::GSM7);
            user_data::emit(out, dcs, self.udh.as_ref(), data)?;
        }
        Ok(())
    }
}

type UserDataParts = (Option<UserDataHeader>, UserData);
type Optional = (Option<u8>, Option<DataCoding>, Option<UserDataParts>);

/// TP-PI and the TP-PID and TP-DCS it announces (§9.2.3.27), for a report that has them; the
/// flag says whether TP-UDL and TP-UD follow.
pub(super) fn parse_indicated(
    r: &mut Reader<'_>,
) -> Result<(Option<u8>, Option<DataCoding>, bool), SmsError> {
    let mut pi = r.u8("TP-PI")?;
    let announced = pi;
    // Bit 7 extends TP-PI into further octets, none defined yet: skip them.
    while pi & 0x80 != 0 {
        pi = r.u8("TP-PI")?;
    }
    let pid = if announced & 0x01 != 0 { Some(r.u8("TP-PID")?) } else { None };
    let dcs = if announced & 0x02 != 0 { Some(DataCoding::from_octet(r.u8("TP-DCS")?)) } else { None };
    Ok((pid, dcs, announced & 0x04 != 0))
}

fn parse_optional(first: u8, r: &mut Reader<'_>) -> Result<Option<Optional>, SmsError> {
    if r.is_empty() {
        return Ok(None);
    }
    let (pid, dcs, has_ud) = parse_indicated(r)?;
    let ud = if has_ud {
        Some(user_data::parse(r, first & TP_UDHI != 0, dcs.unwrap_or(DataCoding::GSM7))?)
    } else {
        None
    };
    Ok(Some((pid, dcs, ud)))
}
