//! Building SMS-DELIVER (and SMS-STATUS-REPORT) PDUs: the inverse of [`decode`](super::decode),
//! for tests, the simulated modem and `otapushctl encode`. Segmentation follows TS 23.040
//! §9.2.3.24.1: at most 140 octets of user data per PDU, header included.

use super::address::Address;
use super::alphabet::Tables;
use super::dcs::DataCoding;
use super::deliver::Deliver;
use super::timestamp::Timestamp;
use super::udh::{Concat, Ports, UserDataHeader};
use super::user_data::{first_text_septet, UserData, MAX_UD_OCTETS};
use super::{gsm7, EncodeError, SmsPdu, Tpdu};

/// Encodes a PDU. With `with_smsc` the service-centre address field comes first (length 0
/// when `pdu.smsc` is `None`), as modems print PDUs; without it `pdu.smsc` is not written.
pub fn encode(pdu: &SmsPdu, with_smsc: bool) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(176);
    if with_smsc {
        Address::emit_smsc(pdu.smsc.as_ref(), &mut out);
    }
    match &pdu.tpdu {
        Tpdu::Deliver(d) => d.emit(&mut out)?,
        Tpdu::StatusReport(s) => s.emit(&mut out)?,
    }
    Ok(out)
}

/// Whether every character of `text` is in the GSM 7-bit default alphabet or its extension.
pub fn gsm7_encodable(text: &str) -> bool {
    text.chars().all(|c| Tables::DEFAULT.encode_char(c).is_some())
}

/// The fields every segment of a segmented message shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverTemplate {
    /// Written as the PDU's service-centre field (length 0 when `None`).
    pub smsc: Option<Address>,
    pub originator: Address,
    pub scts: Timestamp,
    pub pid: u8,
}

impl DeliverTemplate {
    fn pdu(
        &self,
        total: usize,
        seq: usize,
        dcs: DataCoding,
        udh: Option<UserDataHeader>,
        data: UserData,
    ) -> Result<Vec<u8>, EncodeError> {
        let d = Deliver {
            originator: self.originator.clone(),
            pid: self.pid,
            dcs,
            scts: self.scts,
            udh,
            user_data: data,
            // TP-MMS: more segments follow in the service centre, as networks send them.
            more_messages: seq < total,
            reply_path: false,
            status_report_indication: false,
            loop_prevention: false,
        };
        encode(&SmsPdu { smsc: self.smsc.clone(), tpdu: Tpdu::Deliver(d) }, true)
    }
}

fn check_reference(reference: u16, ref_bits: u8) -> Result<usize, EncodeError> {
    match ref_bits {
        // Concatenation element octets, IEI and length included.
        8 if reference <= 0xff => Ok(5),
        16 => Ok(6),
        _ => Err(EncodeError::InvalidReference { reference, ref_bits }),
    }
}

fn header(concat: Option<Concat>, ports: Option<Ports>) -> Result<Option<UserDataHeader>, EncodeError> {
    if concat.is_none() && ports.is_none() {
        return Ok(None);
    }
    let mut h = UserDataHeader::new();
    if let Some(c) = concat {
        h.push_concat(c)?;
    }
    if let Some(p) = ports {
        h.push_ports(p)?;
    }
    Ok(Some(h))
}

fn total_u8(segments: usize) -> Result<u8, EncodeError> {
    u8::try_from(segments).map_err(|_| EncodeError::TooManySegments { segments })
}

/// Splits `payload` into 8-bit SMS-DELIVER PDUs (service-centre field included) with the
/// given port addressing. A payload that fits one PDU gets no concatenation element;
/// otherwise every segment carries one (`reference` of `ref_bits` 8 or 16) before the ports.
pub fn segment_binary(
    template: &DeliverTemplate,
    ports: Option<Ports>,
    payload: &[u8],
    reference: u16,
    ref_bits: u8,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let concat_len = check_reference(reference, ref_bits)?;
    let single = header(None, ports)?;
    let single_len = single.as_ref().map_or(0, UserDataHeader::encoded_len);
    if single_len + payload.len() <= MAX_UD_OCTETS {
        return Ok(vec![template.pdu(
            1,
            1,
            DataCoding::EIGHT_BIT,
            single,
            UserData::Binary(payload.to_vec()),
        )?]);
    }
    let cap = MAX_UD_OCTETS - single_len.max(1) - concat_len;
    let chunks: Vec<&[u8]> = payload.chunks(cap).collect();
    let total = total_u8(chunks.len())?;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let concat = Concat { reference, total, seq: (i + 1) as u8, ref_bits };
            let udh = header(Some(concat), ports)?;
            template.pdu(chunks.len(), i + 1, DataCoding::EIGHT_BIT, udh, UserData::Binary(chunk.to_vec()))
        })
        .collect()
}

/// Splits `text` into SMS-DELIVER PDUs: GSM 7-bit when every character is in the default
/// alphabet or its extension table, UCS2 otherwise. One PDU holds 160 septets / 70 UTF-16
/// units; segments hold 153 / 67 (8-bit reference) or 152 / 66 (16-bit reference). A
/// segment never ends inside an escape sequence or a surrogate pair.
pub fn segment_text(
    template: &DeliverTemplate,
    text: &str,
    reference: u16,
    ref_bits: u8,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let concat_len = check_reference(reference, ref_bits)?;
    let (dcs, single_cap, cap, cost): (_, _, _, fn(char) -> usize) = if gsm7_encodable(text) {
        let cap = 160 - first_text_septet(1 + concat_len);
        (DataCoding::GSM7, 160, cap, |c| gsm7::septets_of(c, &Tables::DEFAULT).unwrap_or(2))
    } else {
        (DataCoding::UCS2, MAX_UD_OCTETS / 2, (MAX_UD_OCTETS - 1 - concat_len) / 2, char::len_utf16)
    };
    if text.chars().map(cost).sum::<usize>() <= single_cap {
        return Ok(vec![template.pdu(1, 1, dcs, None, UserData::Text(text.to_owned()))?]);
    }
    let mut parts = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, c) in text.char_indices() {
        if used + cost(c) > cap {
            parts.push(&text[start..i]);
            (start, used) = (i, 0);
        }
        used += cost(c);
    }
    parts.push(&text[start..]);
    let total = total_u8(parts.len())?;
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let udh = header(Some(Concat { reference, total, seq: (i + 1) as u8, ref_bits }), None)?;
            template.pdu(parts.len(), i + 1, dcs, udh, UserData::Text((*part).to_owned()))
        })
        .collect()
}
