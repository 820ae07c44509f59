//! TP-UDL and TP-UD (TS 23.040 §9.2.3.16, §9.2.3.24): the optional header, fill bits, and
//! the text or data after it.

use super::alphabet::Tables;
use super::dcs::{Charset, DataCoding};
use super::reader::Reader;
use super::udh::UserDataHeader;
use super::{gsm7, EncodeError, SmsError};

/// Most octets a user data field may hold.
pub const MAX_UD_OCTETS: usize = 140;

/// The user data after the header: text for GSM 7-bit and UCS2, octets for 8-bit data and for
/// compressed user data of any charset (reported, not decompressed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserData {
    /// GSM 7-bit or UCS2 text, decoded.
    Text(String),
    /// 8-bit data, or compressed user data.
    Binary(Vec<u8>),
}

impl UserData {
    /// The text, for text user data.
    pub fn text(&self) -> Option<&str> {
        match self {
            UserData::Text(t) => Some(t),
            UserData::Binary(_) => None,
        }
    }

    /// The octets, for binary user data.
    pub fn binary(&self) -> Option<&[u8]> {
        match self {
            UserData::Binary(b) => Some(b),
            UserData::Text(_) => None,
        }
    }

    /// The octets: the data itself, or the text as UTF-8.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            UserData::Text(t) => t.as_bytes(),
            UserData::Binary(b) => b,
        }
    }
}

/// First septet after a header of `header_octets` (UDHL included): the fill bits pad the
/// header to a septet boundary.
pub(crate) fn first_text_septet(header_octets: usize) -> usize {
    (header_octets * 8).div_ceil(7)
}

/// Parses TP-UDL and TP-UD. UCS2: big-endian UTF-16, a surrogate without its pair becomes
/// U+FFFD and an odd trailing octet is ignored. Trailing octets after the field are left.
///
/// A user data header that cannot be parsed (TP-UDHL past the user data, an element past
/// TP-UDHL) is ignored, as TS 23.040 §9.2.3.24 tells a receiver: it comes back as
/// [`UserDataHeader::malformed`], and the text or data still starts after TP-UDHL + 1 octets
/// (and the fill bits for GSM 7-bit), i.e. is empty when TP-UDHL runs past the field.
pub(crate) fn parse(
    r: &mut Reader<'_>,
    udhi: bool,
    dcs: DataCoding,
) -> Result<(Option<UserDataHeader>, UserData), SmsError> {
    let udl_offset = r.offset();
    let udl = r.u8("TP-UDL")?;
    let septets = dcs.counts_septets();
    let octets = if septets { (usize::from(udl) * 7).div_ceil(8) } else { usize::from(udl) };
    if octets > MAX_UD_OCTETS {
        return Err(SmsError::UserDataTooLong { udl, octets, offset: udl_offset });
    }
    let ud_offset = r.offset();
    let ud = r.take(octets, "TP-UD")?;
    let (udh, body_octet) = if udhi {
        let end = 1 + usize::from(ud.first().copied().unwrap_or(0));
        let after = ud.get(1..).unwrap_or_default();
        let header = if ud.is_empty() {
            Err(SmsError::InvalidUdh { reason: "TP-UDHI set but TP-UD is empty", offset: ud_offset })
        } else if end > ud.len() {
            Err(SmsError::InvalidUdh { reason: "TP-UDHL runs past TP-UD", offset: ud_offset })
        } else if septets && first_text_septet(end) > usize::from(udl) {
            Err(SmsError::InvalidUdh { reason: "TP-UDHL runs past TP-UDL", offset: ud_offset })
        } else {
            UserDataHeader::parse(&after[..end - 1], ud_offset + 1)
        };
        let header = header.unwrap_or_else(|why| UserDataHeader::ignored(after, why));
        (Some(header), end)
    } else {
        (None, 0)
    };
    let data = if septets {
        let tables = match &udh {
            Some(h) => Tables::for_languages(h.locking_shift(), h.single_shift()),
            None => Tables::DEFAULT,
        };
        let first = first_text_septet(body_octet);
        UserData::Text(gsm7::decode_string(ud, first, usize::from(udl).saturating_sub(first), &tables))
    } else {
        let body = ud.get(body_octet..).unwrap_or_default();
        if dcs.charset() == Charset::Ucs2 && !dcs.compressed() {
            UserData::Text(decode_ucs2(body))
        } else {
            UserData::Binary(body.to_vec())
        }
    };
    Ok((udh, data))
}

fn decode_ucs2(body: &[u8]) -> String {
    let mut buf = [0u8; UCS2_BUF];
    String::from(ucs2_str(body, &mut buf))
}

/// Appends UCS2 text (big-endian UTF-16, as [`parse`] reads it) to `out`.
pub(crate) fn decode_ucs2_into(body: &[u8], out: &mut String) {
    let mut buf = [0u8; UCS2_BUF];
    let s = ucs2_str(body, &mut buf);
    out.reserve_exact(s.len());
    out.push_str(s);
}

// UTF-8 written into a stack buffer (at most 3 octets per UCS2 unit, 4 per surrogate pair:
// 210 for 140 octets), checked once by `from_utf8` instead of encoded `push` by `push`.
// `n` stays below 211; the mask only lets the compiler see each write fits.
const MASK: usize = 255;
const _: () = assert!(MAX_UD_OCTETS / 2 * 3 < MASK);
const UCS2_BUF: usize = MASK + 1 + 4;

#[inline(always)]
fn ucs2_str<'b>(body: &[u8], buf: &'b mut [u8; UCS2_BUF]) -> &'b str {
    let mut n = 0;
    let body = body.get(..MAX_UD_OCTETS).unwrap_or(body);
    let mut units = body.chunks_exact(2).map(|p| u32::from(u16::from_be_bytes([p[0], p[1]])));
    while let Some(u) = units.next() {
        let at = n & MASK;
        let c = match u {
            0..=0x7f => {
                buf[at] = u as u8;
                n = at + 1;
                continue;
            }
            0x80..=0x7ff => {
                buf[at] = 0xc0 | (u >> 6) as u8;
                buf[at + 1] = 0x80 | (u & 0x3f) as u8;
                n = at + 2;
                continue;
            }
            0xD800..=0xDBFF => {
                // A high surrogate takes the next unit only when it is a low one.
                let mut rest = units.clone();
                match rest.next() {
                    Some(lo @ 0xDC00..=0xDFFF) => {
                        units = rest;
                        char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00))
                    }
                    _ => None,
                }
            }
            _ => char::from_u32(u),
        };
        n = at + c.unwrap_or(char::REPLACEMENT_CHARACTER).encode_utf8(&mut buf[at..at + 4]).len();
    }
    // Whole UTF-8 sequences only, so this cannot fail.
    std::str::from_utf8(&buf[..n & MASK]).unwrap_or_default()
}

pub(crate) fn emit(
    out: &mut Vec<u8>,
    dcs: DataCoding,
    udh: Option<&UserDataHeader>,
    data: &UserData,
) -> Result<(), EncodeError> {
    let udl_at = out.len();
    out.push(0);
    let ud_start = out.len();
    let header_octets = match udh {
        Some(h) if h.malformed().is_some() => return Err(EncodeError::MalformedUdh),
        Some(h) => {
            out.push(h.as_bytes().len() as u8);
            out.extend_from_slice(h.as_bytes());
            h.encoded_len()
        }
        None => 0,
    };
    let udl =
        match (dcs.counts_septets(), dcs.charset(), data) {
            (true, _, UserData::Text(text)) => {
                let tables = match udh {
                    Some(h) => Tables::for_languages(h.locking_shift(), h.single_shift()),
                    None => Tables::DEFAULT,
                };
                let septets = gsm7::encode(text, &tables).map_err(|(position, ch)| {
                    EncodeError::Unencodable { ch, position, alphabet: "the GSM 7-bit tables" }
                })?;
                let first = first_text_septet(header_octets);
                gsm7::pack(out, ud_start, first, &septets);
                first + septets.len()
            }
            (false, Charset::Ucs2, UserData::Text(text)) if !dcs.compressed() => {
                for u in text.encode_utf16() {
                    out.extend_from_slice(&u.to_be_bytes());
                }
                out.len() - ud_start
            }
            (false, _, UserData::Binary(b)) if dcs.compressed() || dcs.charset() == Charset::EightBit => {
                out.extend_from_slice(b);
                out.len() - ud_start
            }
            _ => {
                return Err(EncodeError::UserDataMismatch(
                    "text needs GSM 7-bit or UCS2, octets 8-bit or compressed",
                ))
            }
        };
    let octets = out.len() - ud_start;
    if octets > MAX_UD_OCTETS || udl > 255 {
        return Err(EncodeError::UserDataTooLong { octets });
    }
    out[udl_at] = udl as u8;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ud(bytes: &[u8], udhi: bool, dcs: u8) -> Result<(Option<UserDataHeader>, UserData), SmsError> {
        parse(&mut Reader::new(bytes), udhi, DataCoding::from_octet(dcs))
    }

    #[test]
    fn seven_bit_after_header_uses_fill_bits() {
        // Header 05 00 03 19 02 01 (6 octets = 48 bits → 7 septets, 1 fill bit), then text.
        let mut h = UserDataHeader::new();
        h.push(0x00, &[0x19, 2, 1]).unwrap();
        let mut out = Vec::new();
        emit(&mut out, DataCoding::GSM7, Some(&h), &UserData::Text("Hi €".into())).unwrap();
        // UDL = 7 header septets + 5 text septets (the euro sign is ESC 0x65).
        assert_eq!(out[0], 12);
        assert_eq!(&out[1..7], &[5, 0, 3, 0x19, 2, 1]);
        // 'H' = 0x48 shifted past 1 fill bit: 0x90 in the octet after the header.
        assert_eq!(out[7], 0x90);
        let (udh, data) = parse_ud(&out, true, 0).unwrap();
        assert_eq!(udh.unwrap().concat().unwrap().reference, 0x19);
        assert_eq!(data, UserData::Text("Hi €".into()));
    }

    #[test]
    fn header_only_user_data_is_accepted() {
        // UDL 6 octets, 8-bit: UDHL 5 + a concat element, no data (ModemManager rejects this).
        let (udh, data) = parse_ud(&[6, 5, 0, 3, 1, 2, 1], true, 0x04).unwrap();
        assert!(udh.is_some());
        assert_eq!(data, UserData::Binary(vec![]));
        // 7-bit: UDL 7 septets = the 6-octet header exactly.
        let (_, data) = parse_ud(&[7, 5, 0, 3, 1, 2, 1, 0], true, 0x00).unwrap();
        assert_eq!(data, UserData::Text(String::new()));
    }

    #[test]
    fn ucs2_surrogates_and_odd_octet() {
        // U+1F600 = D83D DE00, then 'A', then an unpaired high surrogate D800, then one octet.
        let bytes = [9, 0xD8, 0x3D, 0xDE, 0x00, 0x00, 0x41, 0xD8, 0x00, 0x42];
        let (_, data) = parse_ud(&bytes, false, 0x08).unwrap();
        assert_eq!(data, UserData::Text("😀A\u{FFFD}".into()));
        // A lone low surrogate, a high surrogate followed by a non-surrogate, U+FFFF, é.
        let bytes = [10, 0xDC, 0x00, 0xD8, 0x00, 0x00, 0x41, 0xFF, 0xFF, 0x00, 0xE9];
        let (_, data) = parse_ud(&bytes, false, 0x08).unwrap();
        assert_eq!(data, UserData::Text("\u{FFFD}\u{FFFD}A\u{FFFF}é".into()));
        // Agrees with the standard library's UTF-16 decoder on every pair of units around
        // the surrogate ranges.
        let edges = [
            0x0000u16, 0x007F, 0x0080, 0x07FF, 0x0800, 0xD7FF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xE000, 0xFFFF,
        ];
        for a in edges {
            for b in edges {
                let units = [a, b];
                let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
                let want: String = char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')).collect();
                assert_eq!(decode_ucs2(&bytes), want, "{a:04x} {b:04x}");
            }
        }
    }

    #[test]
    fn errors() {
        // UDL 161 septets need 141 octets.
        assert!(matches!(parse_ud(&[161], false, 0), Err(SmsError::UserDataTooLong { octets: 141, .. })));
        assert_eq!(parse_ud(&[5, 1, 2], false, 4), Err(SmsError::Truncated { field: "TP-UD", offset: 1 }));
    }

    fn ignored(parsed: &(Option<UserDataHeader>, UserData)) -> Option<&SmsError> {
        parsed.0.as_ref().and_then(UserDataHeader::malformed)
    }

    #[test]
    fn malformed_header_is_ignored() {
        // UDHI with UDL 0 (8-bit): no UDHL at all.
        let p = parse_ud(&[0], true, 4).unwrap();
        assert_eq!(
            ignored(&p),
            Some(&SmsError::InvalidUdh { reason: "TP-UDHI set but TP-UD is empty", offset: 1 })
        );
        assert_eq!(p.1, UserData::Binary(vec![]));
        // UDL 2: UDHL 5 runs past the two octets; nothing is left after UDHL + 1.
        let p = parse_ud(&[2, 5, 0], true, 4).unwrap();
        assert_eq!(ignored(&p), Some(&SmsError::InvalidUdh { reason: "TP-UDHL runs past TP-UD", offset: 1 }));
        assert_eq!((p.0.as_ref().unwrap().as_bytes(), &p.1), (&[0][..], &UserData::Binary(vec![])));
        // 7-bit: UDL 4 septets = 4 octets; UDHL 3 fits those octets, but a 4-octet header
        // takes ceil(32 / 7) = 5 septets, more than TP-UDL: empty text.
        let p = parse_ud(&[4, 3, 0x70, 0, 0], true, 0).unwrap();
        assert_eq!(
            ignored(&p),
            Some(&SmsError::InvalidUdh { reason: "TP-UDHL runs past TP-UDL", offset: 1 })
        );
        assert_eq!(p.1, UserData::Text(String::new()));
        // 8-bit: UDL 5, UDHL 2, element 00 length 05 runs past UDHL; the payload is the two
        // octets after UDHL + 1 = 3.
        let p = parse_ud(&[5, 2, 0x00, 0x05, 0xAB, 0xCD], true, 4).unwrap();
        assert!(matches!(ignored(&p), Some(SmsError::InvalidUdh { offset: 3, .. })));
        assert_eq!(p.1, UserData::Binary(vec![0xAB, 0xCD]));
        let h = p.0.unwrap();
        assert_eq!((h.concat(), h.ports(), h.elements().count()), (None, None, 0));
        // The encoder refuses to write an ignored header back.
        let mut out = Vec::new();
        assert_eq!(emit(&mut out, DataCoding::EIGHT_BIT, Some(&h), &p.1), Err(EncodeError::MalformedUdh));
    }

    #[test]
    fn malformed_header_before_text_is_skipped_with_fill_bits() {
        // GSM 7-bit, UDL 10 septets: UDHL 03, element 00 (concat) with length 05, which runs
        // past the 3 header octets. Header = 4 octets = 32 bits → text from septet 5 (3 fill
        // bits). Text "Hi" (0x48 0x69) packed from septet 5: bit 35 = octet 4 bit 3.
        let mut ud = vec![0x03, 0x00, 0x05, 0x01];
        gsm7::pack(&mut ud, 0, 5, &[0x48, 0x69, 0x21, 0x20, 0x3A]);
        let mut bytes = vec![10];
        bytes.extend_from_slice(&ud);
        let p = parse_ud(&bytes, true, 0).unwrap();
        assert!(matches!(
            ignored(&p),
            Some(SmsError::InvalidUdh { reason: "element length runs past the header", offset: 3 })
        ));
        assert_eq!(p.1, UserData::Text("Hi! :".into()));
        // UCS2: UDHL 02, element 05 (ports) with length 04 past UDHL; text after octet 3.
        let p = parse_ud(&[7, 0x02, 0x05, 0x04, 0x00, 0x41, 0x00, 0xE9], true, 8).unwrap();
        assert!(ignored(&p).is_some());
        assert_eq!(p.1, UserData::Text("Aé".into()));
        assert_eq!(p.0.unwrap().ports(), None);
    }

    #[test]
    fn emit_checks_scheme_and_size() {
        let mut out = Vec::new();
        assert!(emit(&mut out, DataCoding::EIGHT_BIT, None, &UserData::Text("x".into())).is_err());
        assert!(emit(&mut out, DataCoding::UCS2, None, &UserData::Binary(vec![1])).is_err());
        out.clear();
        assert_eq!(
            emit(&mut out, DataCoding::EIGHT_BIT, None, &UserData::Binary(vec![0; 141])),
            Err(EncodeError::UserDataTooLong { octets: 141 })
        );
        out.clear();
        assert!(emit(&mut out, DataCoding::GSM7, None, &UserData::Text("a".repeat(160))).is_ok());
        out.clear();
        assert!(emit(&mut out, DataCoding::GSM7, None, &UserData::Text("a".repeat(161))).is_err());
        out.clear();
        // Compressed GSM 7-bit (0x20) carries octets.
        emit(&mut out, DataCoding::from_octet(0x20), None, &UserData::Binary(vec![1, 2])).unwrap();
        assert_eq!(out, [2, 1, 2]);
    }
}
