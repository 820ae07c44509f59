//! A borrowed view of a received PDU (TS 23.040 §9.2.2), beside the owned [`SmsPdu`].
//!
//! [`view`] checks every length, the TP-MTI and the time stamps once, exactly as [`decode`]
//! does (same errors, same offsets), and keeps slices of the PDU: addresses stay semi-octets
//! until asked for, the user data header stays its octets, 8-bit user data is handed out as
//! the PDU's own octets and text is decoded into a buffer the caller reuses. Every view turns
//! into the owned value [`decode`] returns (`to_pdu`, `to_address`, ...).
//!
//! [`decode`]: super::decode

use super::address::{Address, TypeOfNumber, ADDRESS_CAPACITY, BCD_PAIRS};
use super::alphabet::Tables;
use super::dcs::{Charset, DataCoding};
use super::deliver::Deliver;
use super::reader::Reader;
use super::status_report::{StatusKind, StatusReport};
use super::timestamp::Timestamp;
use super::udh::{elements_of, Concat, HeaderInfo, InformationElement, Ports, UserDataHeader};
use super::user_data::{decode_ucs2_into, first_text_septet, UserData, MAX_UD_OCTETS};
use super::{gsm7, PduKind, SmsError, SmsPdu, Tpdu, TP_LP, TP_MMS, TP_RP, TP_SRI, TP_UDHI};
use std::fmt;

/// Checks an SMS PDU received by the mobile and returns a view of it: the same PDUs, errors
/// and offsets as [`decode`](super::decode) (TS 23.040 §9.2.2; `with_smsc` as there), without
/// copying or formatting anything.
pub fn view(pdu: &[u8], with_smsc: bool) -> Result<PduView<'_>, SmsError> {
    let mut r = Reader::new(pdu);
    let smsc = if with_smsc { AddressView::parse_smsc(&mut r)? } else { None };
    let offset = r.offset();
    let first = r.u8("first octet")?;
    let tpdu = match first & 0x03 {
        0b00 => TpduView::Deliver(DeliverView::parse(first, &mut r)?),
        0b10 => TpduView::StatusReport(StatusReportView::parse(first, &mut r)?),
        mti => return Err(SmsError::UnsupportedMessageType { mti, offset }),
    };
    Ok(PduView { smsc, tpdu })
}

/// A checked PDU: the service-centre address (if non-empty) and the TPDU, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct PduView<'a> {
    smsc: Option<AddressView<'a>>,
    tpdu: TpduView<'a>,
}

/// The TPDU of a [`PduView`].
#[derive(Debug, Clone, Copy)]
pub enum TpduView<'a> {
    /// SMS-DELIVER (TS 23.040 §9.2.2.1).
    Deliver(DeliverView<'a>),
    /// SMS-STATUS-REPORT (TS 23.040 §9.2.2.3).
    StatusReport(StatusReportView<'a>),
}

impl<'a> PduView<'a> {
    /// The service-centre address (TS 24.011 §8.2.5.1), when the PDU had a non-empty one.
    pub fn smsc(&self) -> Option<AddressView<'a>> {
        self.smsc
    }

    /// The TPDU.
    pub fn tpdu(&self) -> &TpduView<'a> {
        &self.tpdu
    }

    /// Which TPDU this is.
    pub fn kind(&self) -> PduKind {
        match self.tpdu {
            TpduView::Deliver(_) => PduKind::Deliver,
            TpduView::StatusReport(_) => PduKind::StatusReport,
        }
    }

    /// The SMS-DELIVER, if this is one.
    pub fn deliver(&self) -> Option<&DeliverView<'a>> {
        match &self.tpdu {
            TpduView::Deliver(d) => Some(d),
            TpduView::StatusReport(_) => None,
        }
    }

    /// The SMS-STATUS-REPORT, if this is one.
    pub fn status_report(&self) -> Option<&StatusReportView<'a>> {
        match &self.tpdu {
            TpduView::StatusReport(s) => Some(s),
            TpduView::Deliver(_) => None,
        }
    }

    /// TP-OA of a deliver; TP-RA of a status report.
    pub fn originator(&self) -> AddressView<'a> {
        match &self.tpdu {
            TpduView::Deliver(d) => d.originator,
            TpduView::StatusReport(s) => s.recipient,
        }
    }

    /// TP-SCTS (for a status report, the time stamp of the reported message).
    pub fn timestamp(&self) -> Timestamp {
        match &self.tpdu {
            TpduView::Deliver(d) => d.scts(),
            TpduView::StatusReport(s) => s.scts(),
        }
    }

    /// TP-DCS (a status report may have none).
    pub fn dcs(&self) -> Option<DataCoding> {
        match &self.tpdu {
            TpduView::Deliver(d) => Some(d.dcs),
            TpduView::StatusReport(s) => s.dcs,
        }
    }

    /// Message class 0-3 from TP-DCS.
    pub fn class(&self) -> Option<u8> {
        self.dcs().and_then(|d| d.class())
    }

    fn field(&self) -> Option<&UserDataField<'a>> {
        match &self.tpdu {
            TpduView::Deliver(d) => Some(&d.ud),
            TpduView::StatusReport(s) => s.ud.as_ref(),
        }
    }

    /// The user data header (TP-UDHI set), read from the PDU on each call.
    pub fn udh(&self) -> Option<UserDataHeaderView<'a>> {
        self.field().and_then(UserDataField::header)
    }

    /// The header's concatenation element, if valid.
    pub fn concat(&self) -> Option<Concat> {
        self.udh().and_then(|h| h.concat())
    }

    /// The header's application port addressing, if valid.
    pub fn ports(&self) -> Option<Ports> {
        self.udh().and_then(|h| h.ports())
    }

    /// TP-UD after the header (a status report may have none).
    pub fn user_data(&self) -> Option<UserDataView<'a>> {
        self.field().map(UserDataField::user_data)
    }

    /// The owned PDU, equal to what [`decode`](super::decode) returns for the same octets.
    pub fn to_pdu(&self) -> SmsPdu {
        let tpdu = match &self.tpdu {
            TpduView::Deliver(d) => Tpdu::Deliver(d.to_deliver()),
            TpduView::StatusReport(s) => Tpdu::StatusReport(s.to_status_report()),
        };
        SmsPdu { smsc: self.smsc.as_ref().map(AddressView::to_address), tpdu }
    }
}

/// An address as the PDU carries it (TS 23.040 §9.1.2.5; the service-centre address of
/// TS 24.011 §8.2.5.1): the type of address and the semi-octets or packed septets of the value,
/// turned into text only when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressView<'a> {
    toa: u8,
    /// Semi-octets of the value that are digits (fillers included).
    semi_octets: u8,
    /// Septets of an alphanumeric value.
    septets: u8,
    value: &'a [u8],
}

impl<'a> AddressView<'a> {
    /// TP-OA / TP-RA: a length in semi-octets, the type of address and the value; the same
    /// checks as the owned decoder.
    pub(super) fn parse_tp(r: &mut Reader<'a>, field: &'static str) -> Result<AddressView<'a>, SmsError> {
        let offset = r.offset();
        let length = r.u8(field)?;
        if length > 20 {
            return Err(SmsError::InvalidAddressLength { field, length, offset });
        }
        let toa = r.u8(field)?;
        let value = r.take(usize::from(length).div_ceil(2), field)?;
        // At most 20 * 4 / 7 = 11 septets.
        Ok(AddressView { toa, semi_octets: length, septets: length * 4 / 7, value })
    }

    /// The service-centre address: a length in octets, type of address included (0 = absent).
    pub(super) fn parse_smsc(r: &mut Reader<'a>) -> Result<Option<AddressView<'a>>, SmsError> {
        const FIELD: &str = "SMSC address";
        let offset = r.offset();
        let length = r.u8(FIELD)?;
        if length == 0 {
            return Ok(None);
        }
        if length > 11 {
            return Err(SmsError::InvalidAddressLength { field: FIELD, length, offset });
        }
        let toa = r.u8(FIELD)?;
        let value = r.take(usize::from(length) - 1, FIELD)?;
        // At most 10 octets: 20 semi-octets, 11 septets.
        let n = length - 1;
        Ok(Some(AddressView { toa, semi_octets: n * 2, septets: n * 8 / 7, value }))
    }

    /// Semi-octets of the value (digits and fillers) and septets of an alphanumeric one.
    pub(super) fn lengths(&self) -> (usize, usize) {
        (usize::from(self.semi_octets), usize::from(self.septets))
    }

    /// Type of number, bits 6-4 of the type of address.
    pub fn ton(&self) -> TypeOfNumber {
        TypeOfNumber::from_bits(self.toa >> 4)
    }

    /// Numbering plan identification, bits 3-0 of the type of address.
    pub fn npi(&self) -> u8 {
        self.toa & 0x0f
    }

    /// The type-of-address octet as received.
    pub fn toa(&self) -> u8 {
        self.toa
    }

    /// The value octets: semi-octets (TS 23.040 §9.1.2.3) or packed GSM 7-bit septets.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// Hands the text of [`Address::as_str`] to `emit`, character by character: the decoded
    /// name of an alphanumeric address; otherwise `+` for an international number, then every
    /// semi-octet but the 0xF fillers, wherever they are (nothing at all for fillers only).
    #[inline(always)]
    fn write_text(&self, mut emit: impl FnMut(char)) {
        if self.ton() == TypeOfNumber::Alphanumeric {
            gsm7::decode_with(self.value, 0, usize::from(self.septets), &Tables::DEFAULT, emit);
            return;
        }
        let semi = usize::from(self.semi_octets);
        let octets = self.value.get(..semi.div_ceil(2)).unwrap_or(self.value);
        let (whole, last) = match octets.split_last() {
            // An odd count: only the low semi-octet of the last octet is a digit.
            Some((&last, whole)) if semi % 2 == 1 => (whole, Some(last | 0xf0)),
            _ => (octets, None),
        };
        let has_digit = || whole.iter().chain(&last).any(|&b| BCD_PAIRS[usize::from(b)][2] > 0);
        if self.ton() == TypeOfNumber::International && has_digit() {
            emit('+');
        }
        // Two digits per octet from a table; ASCII, which the mask lets the compiler see.
        let mut octet = |b: u8| {
            let [d0, d1, count] = BCD_PAIRS[usize::from(b)];
            if count > 0 {
                emit(char::from(d0 & 0x7f));
            }
            if count > 1 {
                emit(char::from(d1 & 0x7f));
            }
        };
        whole.iter().for_each(|&b| octet(b));
        last.into_iter().for_each(octet);
    }

    /// Appends the address as shown to users ([`Address::as_str`]) to `out`.
    pub fn push_to(&self, out: &mut String) {
        // Built on the stack, then copied once: pushed straight into `out`, every character
        // reloaded the string's length and capacity.
        out.push_str(&self.text());
    }

    /// The text on the stack: 21 ASCII octets, or 11 septets of at most 3 UTF-8 octets each
    /// (the default alphabet and its extension table): it has room.
    fn text(&self) -> heapless::String<ADDRESS_CAPACITY> {
        let mut text = heapless::String::new();
        self.write_text(|c| {
            let _ = text.push(c);
        });
        text
    }

    /// The owned address, as [`decode`](super::decode) returns it.
    pub fn to_address(&self) -> Address {
        Address::from_parts(self.ton(), self.npi(), self.text())
    }
}

impl fmt::Display for AddressView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut result = Ok(());
        self.write_text(|c| result = result.and_then(|()| fmt::Write::write_char(f, c)));
        result
    }
}

/// TP-UDL and TP-UD as checked (TS 23.040 §9.2.3.16): the header and the text or data are
/// read from the octets on demand, as the owned decoder reads them.
#[derive(Debug, Clone, Copy)]
struct UserDataField<'a> {
    /// TP-UD, header included.
    octets: &'a [u8],
    udl: u8,
    udhi: bool,
    dcs: DataCoding,
    /// The offset of TP-UD in the PDU, for the header's errors.
    offset: usize,
}

impl<'a> UserDataField<'a> {
    fn parse(r: &mut Reader<'a>, udhi: bool, dcs: DataCoding) -> Result<UserDataField<'a>, SmsError> {
        let udl_offset = r.offset();
        let udl = r.u8("TP-UDL")?;
        let octets = if dcs.counts_septets() { (usize::from(udl) * 7).div_ceil(8) } else { usize::from(udl) };
        if octets > MAX_UD_OCTETS {
            return Err(SmsError::UserDataTooLong { udl, octets, offset: udl_offset });
        }
        let offset = r.offset();
        let octets = r.take(octets, "TP-UD")?;
        Ok(UserDataField { octets, udl, udhi, dcs, offset })
    }

    /// The octet after TP-UDHL (0 without a header), wherever the header says it ends.
    fn body_octet(&self) -> usize {
        if self.udhi {
            1 + usize::from(self.octets.first().copied().unwrap_or(0))
        } else {
            0
        }
    }

    /// The header, or why it is ignored (TS 23.040 §9.2.3.24).
    fn header(&self) -> Option<UserDataHeaderView<'a>> {
        if !self.udhi {
            return None;
        }
        let ud = self.octets;
        let end = self.body_octet();
        let after = ud.get(1..).unwrap_or_default();
        let checked = if ud.is_empty() {
            Err(SmsError::InvalidUdh { reason: "TP-UDHI set but TP-UD is empty", offset: self.offset })
        } else if end > ud.len() {
            Err(SmsError::InvalidUdh { reason: "TP-UDHL runs past TP-UD", offset: self.offset })
        } else if self.dcs.counts_septets() && first_text_septet(end) > usize::from(self.udl) {
            Err(SmsError::InvalidUdh { reason: "TP-UDHL runs past TP-UDL", offset: self.offset })
        } else {
            let raw = after.get(..end - 1).unwrap_or_default();
            HeaderInfo::scan(raw, self.offset + 1).map(|info| (raw, info))
        };
        Some(match checked {
            Ok((raw, info)) => UserDataHeaderView { raw, info, malformed: None },
            // TP-UD minus TP-UDHL is at most 139 octets.
            Err(why) => UserDataHeaderView { raw: after, info: HeaderInfo::default(), malformed: Some(why) },
        })
    }

    fn user_data(&self) -> UserDataView<'a> {
        let body_octet = self.body_octet();
        if self.dcs.counts_septets() {
            let tables = match self.header() {
                Some(h) => Tables::for_languages(h.locking_shift(), h.single_shift()),
                None => Tables::DEFAULT,
            };
            let first = first_text_septet(body_octet);
            let count = usize::from(self.udl).saturating_sub(first);
            UserDataView::Gsm7(PackedSeptets { packed: self.octets, first, count, tables })
        } else {
            let body = self.octets.get(body_octet..).unwrap_or_default();
            if self.dcs.charset() == Charset::Ucs2 && !self.dcs.compressed() {
                UserDataView::Ucs2(body)
            } else {
                UserDataView::Binary(body)
            }
        }
    }
}

/// TP-UD after the header, borrowed from the PDU: text still in its alphabet, or the octets.
#[derive(Debug, Clone, Copy)]
pub enum UserDataView<'a> {
    /// GSM 7-bit text (TS 23.038 §6.1.2.1.1), still packed.
    Gsm7(PackedSeptets<'a>),
    /// UCS2 text (TS 23.038 §6.2.3), big-endian octets.
    Ucs2(&'a [u8]),
    /// 8-bit data, or compressed user data of any charset (TS 23.038 §4): the PDU's octets.
    Binary(&'a [u8]),
}

/// The septets of GSM 7-bit user data after the header and its fill bits (TS 23.040
/// §9.2.3.24), with the tables the header selects (TS 23.038 §6.2.1, Annex A).
#[derive(Debug, Clone, Copy)]
pub struct PackedSeptets<'a> {
    packed: &'a [u8],
    first: usize,
    count: usize,
    tables: Tables,
}

impl PackedSeptets<'_> {
    /// Septets of text (escapes included).
    pub fn len(&self) -> usize {
        self.count
    }

    /// No text septets.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl<'a> UserDataView<'a> {
    /// The octets of binary user data, borrowed from the PDU.
    pub fn binary(&self) -> Option<&'a [u8]> {
        match self {
            UserDataView::Binary(b) => Some(b),
            UserDataView::Gsm7(_) | UserDataView::Ucs2(_) => None,
        }
    }

    /// Whether this is text (GSM 7-bit or UCS2).
    pub fn is_text(&self) -> bool {
        !matches!(self, UserDataView::Binary(_))
    }

    /// Appends the text, decoded as the owned decoder decodes it, to `out` (a buffer the
    /// caller clears and reuses); `false`, and `out` untouched, for binary user data.
    pub fn text_into(&self, out: &mut String) -> bool {
        match self {
            UserDataView::Gsm7(s) => gsm7::decode_into(s.packed, s.first, s.count, &s.tables, out),
            UserDataView::Ucs2(b) => decode_ucs2_into(b, out),
            UserDataView::Binary(_) => return false,
        }
        true
    }

    /// The owned user data, as [`decode`](super::decode) returns it.
    pub fn to_user_data(&self) -> UserData {
        match self {
            UserDataView::Binary(b) => UserData::Binary(b.to_vec()),
            _ => {
                let mut text = String::new();
                self.text_into(&mut text);
                UserData::Text(text)
            }
        }
    }
}

/// A user data header (TS 23.040 §9.2.3.24) borrowed from the PDU, with what its elements say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDataHeaderView<'a> {
    raw: &'a [u8],
    info: HeaderInfo,
    malformed: Option<SmsError>,
}

impl<'a> UserDataHeaderView<'a> {
    /// Why the header is ignored (§9.2.3.24), if it is: then it has no elements.
    pub fn malformed(&self) -> Option<&SmsError> {
        self.malformed.as_ref()
    }

    /// The valid concatenation element (`total` 1 for a message of one segment).
    pub fn concat(&self) -> Option<Concat> {
        self.info.concat
    }

    /// The valid application port addressing element.
    pub fn ports(&self) -> Option<Ports> {
        self.info.ports
    }

    /// National language identifier of the single shift element (IEI 0x24).
    pub fn single_shift(&self) -> Option<u8> {
        self.info.single_shift
    }

    /// National language identifier of the locking shift element (IEI 0x25).
    pub fn locking_shift(&self) -> Option<u8> {
        self.info.locking_shift
    }

    /// Every element in order, interpreted or not (none for a malformed header).
    pub fn elements(&self) -> impl Iterator<Item = InformationElement<'a>> + 'a {
        elements_of(if self.malformed.is_some() { &[][..] } else { self.raw })
    }

    /// The header octets after TP-UDHL (for a malformed header, as far as TP-UD holds them).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The owned header, as [`decode`](super::decode) returns it.
    pub fn to_header(&self) -> UserDataHeader {
        UserDataHeader::from_parts(self.raw, self.info, self.malformed.clone())
    }
}

/// An SMS-DELIVER (TS 23.040 §9.2.2.1), borrowed.
#[derive(Debug, Clone, Copy)]
pub struct DeliverView<'a> {
    first: u8,
    originator: AddressView<'a>,
    pid: u8,
    dcs: DataCoding,
    /// TP-SCTS as checked, read by [`DeliverView::scts`].
    scts: u64,
    ud: UserDataField<'a>,
}

impl<'a> DeliverView<'a> {
    fn parse(first: u8, r: &mut Reader<'a>) -> Result<DeliverView<'a>, SmsError> {
        let originator = AddressView::parse_tp(r, "TP-OA")?;
        let pid = r.u8("TP-PID")?;
        let dcs = DataCoding::from_octet(r.u8("TP-DCS")?);
        let scts = Timestamp::check(r, "TP-SCTS")?;
        let ud = UserDataField::parse(r, first & TP_UDHI != 0, dcs)?;
        Ok(DeliverView { first, originator, pid, dcs, scts, ud })
    }

    /// TP-OA.
    pub fn originator(&self) -> AddressView<'a> {
        self.originator
    }

    /// TP-PID.
    pub fn pid(&self) -> u8 {
        self.pid
    }

    /// TP-DCS.
    pub fn dcs(&self) -> DataCoding {
        self.dcs
    }

    /// TP-SCTS.
    pub fn scts(&self) -> Timestamp {
        Timestamp::from_checked(self.scts)
    }

    /// The user data header, when TP-UDHI is set.
    pub fn udh(&self) -> Option<UserDataHeaderView<'a>> {
        self.ud.header()
    }

    /// TP-UD after the header.
    pub fn user_data(&self) -> UserDataView<'a> {
        self.ud.user_data()
    }

    /// TP-MMS clear: more messages are waiting in the service centre.
    pub fn more_messages(&self) -> bool {
        self.first & TP_MMS == 0
    }

    /// TP-RP.
    pub fn reply_path(&self) -> bool {
        self.first & TP_RP != 0
    }

    /// TP-SRI: the sender asked for a status report.
    pub fn status_report_indication(&self) -> bool {
        self.first & TP_SRI != 0
    }

    /// TP-LP.
    pub fn loop_prevention(&self) -> bool {
        self.first & TP_LP != 0
    }

    /// The owned deliver, as [`decode`](super::decode) returns it.
    pub fn to_deliver(&self) -> Deliver {
        Deliver {
            originator: self.originator.to_address(),
            pid: self.pid,
            dcs: self.dcs,
            scts: self.scts(),
            udh: self.udh().map(|h| h.to_header()),
            user_data: self.user_data().to_user_data(),
            more_messages: self.more_messages(),
            reply_path: self.reply_path(),
            status_report_indication: self.status_report_indication(),
            loop_prevention: self.loop_prevention(),
        }
    }
}

/// An SMS-STATUS-REPORT (TS 23.040 §9.2.2.3), borrowed.
#[derive(Debug, Clone, Copy)]
pub struct StatusReportView<'a> {
    first: u8,
    message_reference: u8,
    recipient: AddressView<'a>,
    /// TP-SCTS and TP-DT as checked, read by their accessors.
    scts: u64,
    discharge_time: u64,
    status: u8,
    pid: Option<u8>,
    dcs: Option<DataCoding>,
    ud: Option<UserDataField<'a>>,
}

impl<'a> StatusReportView<'a> {
    /// The mandatory fields are strict; TP-PI and what it announces are lenient (left out when
    /// cut short or malformed), as in the owned decoder.
    fn parse(first: u8, r: &mut Reader<'a>) -> Result<StatusReportView<'a>, SmsError> {
        let message_reference = r.u8("TP-MR")?;
        let recipient = AddressView::parse_tp(r, "TP-RA")?;
        let scts = Timestamp::check(r, "TP-SCTS")?;
        let discharge_time = Timestamp::check(r, "TP-DT")?;
        let status = r.u8("TP-ST")?;
        let (pid, dcs, ud) = match Self::parse_optional(first, r) {
            Ok(Some(fields)) => fields,
            _ => (None, None, None),
        };
        Ok(StatusReportView {
            first,
            message_reference,
            recipient,
            scts,
            discharge_time,
            status,
            pid,
            dcs,
            ud,
        })
    }

    #[allow(clippy::type_complexity)]
    fn parse_optional(
        first: u8,
        r: &mut Reader<'a>,
    ) -> Result<Option<(Option<u8>, Option<DataCoding>, Option<UserDataField<'a>>)>, SmsError> {
        if r.is_empty() {
            return Ok(None);
        }
        let (pid, dcs, has_ud) = super::status_report::parse_indicated(r)?;
        let ud = if has_ud {
            Some(UserDataField::parse(r, first & TP_UDHI != 0, dcs.unwrap_or(DataCoding::GSM7))?)
        } else {
            None
        };
        Ok(Some((pid, dcs, ud)))
    }

    /// TP-MR of the submitted message this reports on.
    pub fn message_reference(&self) -> u8 {
        self.message_reference
    }

    /// TP-RA.
    pub fn recipient(&self) -> AddressView<'a> {
        self.recipient
    }

    /// TP-SCTS of the submitted message.
    pub fn scts(&self) -> Timestamp {
        Timestamp::from_checked(self.scts)
    }

    /// TP-DT.
    pub fn discharge_time(&self) -> Timestamp {
        Timestamp::from_checked(self.discharge_time)
    }

    /// TP-ST.
    pub fn status(&self) -> u8 {
        self.status
    }

    /// What TP-ST says (TS 23.040 §9.2.3.15).
    pub fn status_kind(&self) -> StatusKind {
        match self.status {
            0x00..=0x1F => StatusKind::Completed,
            0x20..=0x3F => StatusKind::Pending,
            _ => StatusKind::Failed,
        }
    }

    /// TP-MMS clear: more messages are waiting.
    pub fn more_messages(&self) -> bool {
        self.first & TP_MMS == 0
    }

    /// TP-LP.
    pub fn loop_prevention(&self) -> bool {
        self.first & TP_LP != 0
    }

    /// TP-SRQ: the report answers an SMS-COMMAND (set) or an SMS-SUBMIT (clear).
    pub fn command_qualifier(&self) -> bool {
        self.first & TP_SRI != 0
    }

    /// Optional TP-PID (present per TP-PI).
    pub fn pid(&self) -> Option<u8> {
        self.pid
    }

    /// Optional TP-DCS (present per TP-PI).
    pub fn dcs(&self) -> Option<DataCoding> {
        self.dcs
    }

    /// The user data header, when TP-UD is present and TP-UDHI set.
    pub fn udh(&self) -> Option<UserDataHeaderView<'a>> {
        self.ud.as_ref().and_then(UserDataField::header)
    }

    /// Optional TP-UD after the header (present per TP-PI).
    pub fn user_data(&self) -> Option<UserDataView<'a>> {
        self.ud.as_ref().map(UserDataField::user_data)
    }

    /// The owned status report, as [`decode`](super::decode) returns it.
    pub fn to_status_report(&self) -> StatusReport {
        StatusReport {
            message_reference: self.message_reference,
            recipient: self.recipient.to_address(),
            scts: self.scts(),
            discharge_time: self.discharge_time(),
            status: self.status,
            more_messages: self.more_messages(),
            loop_prevention: self.loop_prevention(),
            command_qualifier: self.command_qualifier(),
            pid: self.pid,
            dcs: self.dcs,
            udh: self.udh().map(|h| h.to_header()),
            user_data: self.user_data().map(|u| u.to_user_data()),
        }
    }
}

/// Panics unless [`view`] and [`decode`](super::decode) agree on `pdu`: the same error, or a
/// view whose owned form is the decoded PDU and whose borrowed accessors (addresses, header,
/// text and data) say what the owned values say. For the tests and the fuzz harness.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn assert_agrees(pdu: &[u8], with_smsc: bool) {
    let owned = super::decode(pdu, with_smsc);
    let v = match (view(pdu, with_smsc), &owned) {
        (Err(e), Err(want)) => return assert_eq!(&e, want, "view and decode fail differently on {pdu:02x?}"),
        (Ok(v), Ok(_)) => v,
        (got, want) => panic!("view {got:?} but decode {want:?} on {pdu:02x?}"),
    };
    let Ok(p) = owned else { unreachable!("matched above") };
    assert_eq!(v.to_pdu(), p, "view's owned form differs from decode on {pdu:02x?}");
    assert_eq!(v.kind(), p.kind());
    assert_eq!(v.smsc().map(|a| a.to_string()), p.smsc.as_ref().map(|a| a.as_str().to_string()));
    let mut text = String::from("kept: ");
    v.originator().push_to(&mut text);
    assert_eq!(text.strip_prefix("kept: "), Some(p.originator().as_str()));
    assert_eq!(v.originator().to_string(), p.originator().as_str());
    assert_eq!((v.originator().ton(), v.originator().npi()), (p.originator().ton(), p.originator().npi()));
    assert_eq!((&v.timestamp(), v.dcs(), v.class()), (p.timestamp(), p.dcs(), p.class()));
    assert_eq!((v.concat(), v.ports()), (p.concat(), p.ports()));
    match (v.udh(), p.udh()) {
        (None, None) => {}
        (Some(h), Some(o)) => {
            assert_eq!((h.as_bytes(), h.malformed()), (o.as_bytes(), o.malformed()));
            assert_eq!((h.single_shift(), h.locking_shift()), (o.single_shift(), o.locking_shift()));
            assert!(h.elements().eq(o.elements()), "header elements differ on {pdu:02x?}");
        }
        (h, o) => panic!("view header {h:?} but decode {o:?} on {pdu:02x?}"),
    }
    match (v.user_data(), p.user_data()) {
        (None, None) => {}
        (Some(u), Some(o)) => {
            assert_eq!(u.binary(), o.binary());
            let mut text = String::from("kept: ");
            assert_eq!(u.text_into(&mut text), o.text().is_some());
            assert_eq!(text.strip_prefix("kept: ").filter(|_| u.is_text()), o.text());
        }
        (u, o) => panic!("view user data {u:?} but decode {o:?} on {pdu:02x?}"),
    }
    if let (Some(d), Some(o)) = (v.deliver(), p.deliver()) {
        assert_eq!((d.pid(), d.dcs(), d.scts()), (o.pid, o.dcs, o.scts));
        let flags = (d.more_messages(), d.reply_path(), d.status_report_indication(), d.loop_prevention());
        assert_eq!(flags, (o.more_messages, o.reply_path, o.status_report_indication, o.loop_prevention));
    }
    if let (Some(s), Some(o)) = (v.status_report(), p.status_report()) {
        assert_eq!(
            (s.message_reference(), s.status(), s.status_kind()),
            (o.message_reference, o.status, o.status_kind())
        );
        assert_eq!(
            (s.scts(), s.discharge_time(), s.pid(), s.dcs()),
            (o.scts, o.discharge_time, o.pid, o.dcs)
        );
        assert_eq!(s.recipient().to_address(), o.recipient);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    /// The peer benchmark's PDUs, one of each kind.
    const PEER_SET: &str = include_str!("../../../../benches/vectors/codec_peer.hex");

    fn peer_set() -> Vec<Vec<u8>> {
        PEER_SET.lines().filter(|l| !l.trim().is_empty()).map(|l| hex::decode(l.trim()).unwrap()).collect()
    }

    #[test]
    fn peer_set_views_agree_with_decode() {
        let mut text = String::new();
        for p in peer_set() {
            assert_agrees(&p, true);
            assert_agrees(&p, false);
            let v = view(&p, true).unwrap();
            // 8-bit data is the PDU's own octets, not a copy.
            if let Some(data) = v.user_data().and_then(|u| u.binary()) {
                let range = p.as_ptr_range();
                assert!(range.contains(&data.as_ptr()) || data.is_empty());
            }
            // The caller's buffer is reused: cleared by the caller, appended to by the view.
            text.clear();
            if let Some(u) = v.user_data() {
                u.text_into(&mut text);
            }
        }
    }

    #[test]
    fn every_prefix_and_one_octet_change_agrees() {
        for p in peer_set() {
            for n in 0..=p.len() {
                assert_agrees(&p[..n], true);
                assert_agrees(&p[..n], false);
            }
            for i in 0..p.len().min(48) {
                for b in [0x00, 0x01, 0x0b, 0x40, 0x44, 0x7f, 0x80, 0x91, 0xd0, 0xf0, 0xff] {
                    let mut q = p.clone();
                    q[i] = b;
                    assert_agrees(&q, true);
                    assert_agrees(&q, false);
                }
            }
        }
    }

    #[test]
    fn errors_carry_the_same_offsets() {
        assert_eq!(view(&[], false).unwrap_err(), SmsError::Truncated { field: "first octet", offset: 0 });
        assert_eq!(view(&[0x03], false).unwrap_err(), SmsError::UnsupportedMessageType { mti: 3, offset: 0 });
        assert_eq!(
            view(&[0x0c], true).unwrap_err(),
            SmsError::InvalidAddressLength { field: "SMSC address", length: 12, offset: 0 }
        );
        assert_eq!(
            view(&[0x00, 0x15, 0x91], false).unwrap_err(),
            SmsError::InvalidAddressLength { field: "TP-OA", length: 21, offset: 1 }
        );
    }

    #[test]
    fn addresses_format_lazily() {
        // +31641600986 (11 digits and a filler), fillers only (no '+'), "sipgate".
        let a = AddressView {
            toa: 0x91,
            semi_octets: 11,
            septets: 6,
            value: &[0x13, 0x46, 0x61, 0x00, 0x89, 0xF6],
        };
        assert_eq!(a.to_string(), "+31641600986");
        let a = AddressView { toa: 0x91, semi_octets: 2, septets: 1, value: &[0xFF] };
        assert_eq!((a.to_string(), a.to_address().as_str()), (String::new(), ""));
        let a = AddressView {
            toa: 0xD0,
            semi_octets: 13,
            septets: 7,
            value: &[0xF3, 0x34, 0xFC, 0x1C, 0xA6, 0x97, 0x01],
        };
        assert_eq!(a.to_string(), "sipgate");
        assert_eq!(a.ton(), TypeOfNumber::Alphanumeric);
    }

    proptest::proptest! {
        /// Arbitrary octets: the same error, or the same PDU.
        #[test]
        fn arbitrary_octets_agree(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            assert_agrees(&bytes, true);
            assert_agrees(&bytes, false);
        }

        /// A valid PDU of the peer set with octets overwritten: deeper into the TPDU than
        /// arbitrary octets get.
        #[test]
        fn mutated_pdus_agree(
            which in 0usize..7,
            changes in proptest::collection::vec((0usize..176, proptest::num::u8::ANY), 1..6),
            cut in 0usize..200,
        ) {
            let mut p = peer_set().swap_remove(which);
            for (i, b) in changes {
                let n = p.len();
                p[i % n] = b;
            }
            p.truncate(cut.max(1));
            assert_agrees(&p, true);
            assert_agrees(&p, false);
        }
    }
}
