//! SMS-DELIVER (TS 23.040 §9.2.2.1).

use super::address::Address;
use super::dcs::DataCoding;
use super::reader::Reader;
use super::timestamp::Timestamp;
use super::udh::UserDataHeader;
use super::user_data::{self, UserData};
use super::{first_octet, EncodeError, SmsError, TP_LP, TP_MMS, TP_RP, TP_SRI, TP_UDHI};

/// An SMS-DELIVER TPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliver {
    /// TP-OA.
    pub originator: Address,
    /// TP-PID.
    pub pid: u8,
    /// TP-DCS.
    pub dcs: DataCoding,
    /// TP-SCTS.
    pub scts: Timestamp,
    /// Present when TP-UDHI is set.
    pub udh: Option<UserDataHeader>,
    /// TP-UD after the header.
    pub user_data: UserData,
    /// TP-MMS clear: more messages are waiting in the service centre.
    pub more_messages: bool,
    /// TP-RP.
    pub reply_path: bool,
    /// TP-SRI: the sender asked for a status report.
    pub status_report_indication: bool,
    /// TP-LP.
    pub loop_prevention: bool,
}

impl Deliver {
    /// Parses the TPDU after its first octet.
    pub(crate) fn parse(first: u8, r: &mut Reader<'_>) -> Result<Deliver, SmsError> {
        let originator = Address::parse_tp(r, "TP-OA")?;
        let pid = r.u8("TP-PID")?;
        let dcs = DataCoding::from_octet(r.u8("TP-DCS")?);
        let scts = Timestamp::parse(r, "TP-SCTS")?;
        let (udh, user_data) = user_data::parse(r, first & TP_UDHI != 0, dcs)?;
        Ok(Deliver {
            originator,
            pid,
            dcs,
            scts,
            udh,
            user_data,
            more_messages: first & TP_MMS == 0,
            reply_path: first & TP_RP != 0,
            status_report_indication: first & TP_SRI != 0,
            loop_prevention: first & TP_LP != 0,
        })
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        // TP-MTI 00.
        let first = first_octet(
            0x00,
            &[
                (!self.more_messages, TP_MMS),
                (self.loop_prevention, TP_LP),
                (self.status_report_indication, TP_SRI),
                (self.udh.is_some(), TP_UDHI),
                (self.reply_path, TP_RP),
            ],
        );
        out.push(first);
        self.originator.emit_tp(out);
        out.push(self.pid);
        out.push(self.dcs.octet());
        self.scts.emit(out);
        user_data::emit(out, self.dcs, self.udh.as_ref(), &self.user_data)
    }
}
