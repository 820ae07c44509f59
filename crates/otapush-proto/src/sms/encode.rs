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
    /// TP-OA.
    pub originator: Address,
    /// TP-SCTS.
    pub scts: Timestamp,
    /// TP-PID.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::alphabet::NONE;
    use crate::sms::{decode, Charset, StatusReport, TypeOfNumber};
    use proptest::prelude::*;

    /// Every character `tables` can encode.
    fn pool(tables: &Tables) -> Vec<char> {
        let mut v: Vec<char> =
            tables.locking.iter().copied().filter(|&c| c != '\u{1B}' && c != NONE).collect();
        for &c in tables.single.iter() {
            if c != NONE && !v.contains(&c) {
                v.push(c);
            }
        }
        v
    }

    fn text_from(tables: Tables, max_septets: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(pool(&tables)), 0..=max_septets).prop_map(move |cs| {
            let mut used = 0;
            cs.into_iter()
                .take_while(|&c| {
                    used += gsm7::septets_of(c, &tables).unwrap_or(2);
                    used <= max_septets
                })
                .collect()
        })
    }

    fn digits() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(b"0123456789*#abc".to_vec()), 0..=20)
            .prop_map(|v| String::from_utf8(v).unwrap())
    }

    fn number() -> impl Strategy<Value = Address> {
        prop_oneof![
            digits().prop_map(|d| Address::international(&d).unwrap()),
            (digits(), 0u8..16).prop_map(|(d, npi)| Address::new(TypeOfNumber::National, npi, &d).unwrap()),
            (digits(), prop::sample::select(vec![0u8, 3, 4, 6, 7]), 0u8..16)
                .prop_map(|(d, ton, npi)| Address::new(TypeOfNumber::from_bits(ton), npi, &d).unwrap()),
        ]
    }

    fn address() -> impl Strategy<Value = Address> {
        prop_oneof![
            3 => number(),
            1 => text_from(Tables::DEFAULT, 11).prop_map(|t| Address::alphanumeric(&t).unwrap()),
        ]
    }

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        (1990u16..=2089, 1u8..=12, 1u8..=31, 0u8..24, 0u8..60, 0u8..60, -79i8..=79)
            .prop_filter_map("no such date", |(y, mo, d, h, mi, s, tz)| {
                Timestamp::new((y, mo, d), (h, mi, s), tz).ok()
            })
    }

    /// Headers of at most `3 * 8` octets: concatenation and ports (valid or not) and other
    /// elements, never the shift elements (those change the alphabet; tested separately).
    fn udh() -> impl Strategy<Value = Option<UserDataHeader>> {
        let element = prop_oneof![
            (any::<u8>(), 0u8..4, 0u8..4).prop_map(|(r, t, s)| (0x00, vec![r, t, s])),
            (any::<u16>(), 0u8..4, 0u8..4).prop_map(|(r, t, s)| {
                let [a, b] = r.to_be_bytes();
                (0x08, vec![a, b, t, s])
            }),
            any::<[u8; 2]>().prop_map(|p| (0x04, p.to_vec())),
            any::<[u8; 4]>().prop_map(|p| (0x05, p.to_vec())),
            (
                any::<u8>().prop_filter("shift", |i| *i != 0x24 && *i != 0x25),
                prop::collection::vec(any::<u8>(), 0..=6)
            ),
        ];
        prop::option::of(prop::collection::vec(element, 0..=3)).prop_map(|els| {
            els.map(|els| {
                let mut h = UserDataHeader::new();
                for (iei, data) in els {
                    h.push(iei, &data).unwrap();
                }
                h
            })
        })
    }

    fn dcs_where(f: fn(DataCoding) -> bool) -> impl Strategy<Value = DataCoding> {
        any::<u8>().prop_map(DataCoding::from_octet).prop_filter("charset", move |d| f(*d))
    }

    /// Header + data for each kind of user data, sized to fit 140 octets.
    fn content() -> impl Strategy<Value = (DataCoding, Option<UserDataHeader>, UserData)> {
        let langs = prop::sample::select(vec![
            None,
            Some(0u8),
            Some(1),
            Some(2),
            Some(3),
            Some(6),
            Some(9),
            Some(13),
            Some(14),
        ]);
        let gsm = (langs.clone(), langs, udh()).prop_flat_map(|(locking, single, udh)| {
            let mut h = udh.unwrap_or_default();
            if let Some(l) = locking {
                h.push(0x25, &[l]).unwrap();
            }
            if let Some(s) = single {
                h.push(0x24, &[s]).unwrap();
            }
            let h = if h.as_bytes().is_empty() && locking.is_none() { None } else { Some(h) };
            let tables = Tables::for_languages(locking, single);
            (dcs_where(|d| d.counts_septets()), Just(h), text_from(tables, 125).prop_map(UserData::Text))
        });
        let ucs2 = (
            dcs_where(|d| d.charset() == Charset::Ucs2 && !d.compressed()),
            udh(),
            prop::collection::vec(any::<char>(), 0..=25)
                .prop_map(|c| UserData::Text(c.into_iter().collect())),
        );
        let binary = (
            dcs_where(|d| d.charset() == Charset::EightBit || d.compressed()),
            udh(),
            prop::collection::vec(any::<u8>(), 0..=115).prop_map(UserData::Binary),
        );
        prop_oneof![gsm, ucs2, binary]
    }

    fn deliver() -> impl Strategy<Value = Deliver> {
        (address(), any::<u8>(), timestamp(), content(), any::<[bool; 4]>()).prop_map(
            |(originator, pid, scts, (dcs, udh, user_data), [mms, rp, sri, lp])| Deliver {
                originator,
                pid,
                dcs,
                scts,
                udh,
                user_data,
                more_messages: mms,
                reply_path: rp,
                status_report_indication: sri,
                loop_prevention: lp,
            },
        )
    }

    fn status_report() -> impl Strategy<Value = StatusReport> {
        let optional = prop_oneof![
            Just((None, None, None, None)),
            (prop::option::of(any::<u8>()), prop::option::of(Just(DataCoding::GSM7)))
                .prop_map(|(pid, dcs)| (pid, dcs, None, None)),
            (
                prop::option::of(any::<u8>()),
                prop::option::of(Just(DataCoding::GSM7)),
                udh(),
                text_from(Tables::DEFAULT, 100)
            )
                .prop_map(|(pid, dcs, udh, t)| (pid, dcs, udh, Some(UserData::Text(t)))),
            (prop::option::of(any::<u8>()), udh(), prop::collection::vec(any::<u8>(), 0..100))
                .prop_map(|(pid, udh, b)| (pid, Some(DataCoding::EIGHT_BIT), udh, Some(UserData::Binary(b)))),
        ];
        (any::<u8>(), number(), timestamp(), timestamp(), any::<u8>(), any::<[bool; 3]>(), optional).prop_map(
            |(mr, recipient, scts, dt, status, [mms, lp, srq], (pid, dcs, udh, user_data))| StatusReport {
                message_reference: mr,
                recipient,
                scts,
                discharge_time: dt,
                status,
                more_messages: mms,
                loop_prevention: lp,
                command_qualifier: srq,
                pid,
                dcs,
                udh,
                user_data,
            },
        )
    }

    fn template() -> impl Strategy<Value = DeliverTemplate> {
        (prop::option::of(number()), address(), timestamp(), any::<u8>())
            .prop_map(|(smsc, originator, scts, pid)| DeliverTemplate { smsc, originator, scts, pid })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn deliver_round_trips(d in deliver(), smsc in prop::option::of(number())) {
            let p = SmsPdu { smsc, tpdu: Tpdu::Deliver(d) };
            let bytes = encode(&p, true).unwrap();
            prop_assert_eq!(decode(&bytes, true).unwrap(), p.clone());
            let bare = encode(&p, false).unwrap();
            prop_assert_eq!(decode(&bare, false).unwrap(), SmsPdu { smsc: None, ..p });
        }

        #[test]
        fn status_report_round_trips(s in status_report(), smsc in prop::option::of(number())) {
            let p = SmsPdu { smsc, tpdu: Tpdu::StatusReport(s) };
            prop_assert_eq!(decode(&encode(&p, true).unwrap(), true).unwrap(), p);
        }

        #[test]
        fn arbitrary_octets_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes, true);
            let _ = decode(&bytes, false);
        }

        #[test]
        fn damaged_pdus_never_panic(d in deliver(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>()) {
            let mut bytes = encode(&SmsPdu { smsc: None, tpdu: Tpdu::Deliver(d) }, true).unwrap();
            for (i, v) in flips {
                let i = i.index(bytes.len());
                bytes[i] ^= v;
            }
            let _ = decode(&bytes, true);
            let n = cut.index(bytes.len());
            let _ = decode(&bytes[..n], true);
        }

        #[test]
        fn binary_segments_reassemble(
            t in template(),
            payload in prop::collection::vec(any::<u8>(), 0..3000),
            ports in prop::option::of(prop_oneof![
                (any::<u8>(), any::<u8>()).prop_map(|(s, d)| Ports { src: s.into(), dst: d.into(), bits: 8 }),
                (any::<u16>(), any::<u16>()).prop_map(|(src, dst)| Ports { src, dst, bits: 16 }),
            ]),
            (reference, ref_bits) in prop_oneof![(0u16..256, Just(8u8)), (any::<u16>(), Just(16u8))],
        ) {
            let pdus = segment_binary(&t, ports, &payload, reference, ref_bits).unwrap();
            let header = ports.map_or(0, |p| if p.bits == 8 { 5 } else { 7 });
            prop_assert_eq!(pdus.len() == 1, header + payload.len() <= 140);
            let mut joined = Vec::new();
            for (i, bytes) in pdus.iter().enumerate() {
                let p = decode(bytes, true).unwrap();
                let d = p.deliver().unwrap();
                prop_assert_eq!(&d.originator, &t.originator);
                prop_assert_eq!(p.smsc.as_ref(), t.smsc.as_ref());
                prop_assert_eq!(p.ports(), ports);
                prop_assert_eq!(d.dcs, DataCoding::EIGHT_BIT);
                let data = p.user_data().unwrap().binary().unwrap();
                prop_assert!(d.udh.as_ref().map_or(0, |h| h.encoded_len()) + data.len() <= 140);
                if pdus.len() > 1 {
                    let c = p.concat().unwrap();
                    prop_assert_eq!(c, Concat { reference, total: pdus.len() as u8, seq: i as u8 + 1, ref_bits });
                }
                prop_assert_eq!(d.more_messages, i + 1 < pdus.len());
                joined.extend_from_slice(data);
            }
            prop_assert_eq!(joined, payload);
        }

        #[test]
        fn gsm7_text_segments_reassemble(
            t in template(),
            text in prop::collection::vec(prop::sample::select(pool(&Tables::DEFAULT)), 0..1000)
                .prop_map(|c| c.into_iter().collect::<String>()),
            ref_bits in prop::sample::select(vec![8u8, 16]),
        ) {
            let pdus = segment_text(&t, &text, 200, ref_bits).unwrap();
            let cap = if pdus.len() == 1 { 160 } else if ref_bits == 8 { 153 } else { 152 };
            let mut joined = String::new();
            for bytes in &pdus {
                let p = decode(bytes, true).unwrap();
                let part = p.user_data().unwrap().text().unwrap();
                prop_assert_eq!(p.dcs().unwrap().charset(), Charset::Gsm7);
                prop_assert!(gsm7::encode(part, &Tables::DEFAULT).unwrap().len() <= cap);
                joined.push_str(part);
            }
            prop_assert_eq!(joined, text);
        }

        #[test]
        fn ucs2_text_segments_reassemble(
            t in template(),
            text in prop::collection::vec(any::<char>(), 0..400)
                .prop_map(|c| std::iter::once('Ж').chain(c).collect::<String>()),
            ref_bits in prop::sample::select(vec![8u8, 16]),
        ) {
            let pdus = segment_text(&t, &text, 7, ref_bits).unwrap();
            let cap = if pdus.len() == 1 { 70 } else if ref_bits == 8 { 67 } else { 66 };
            let mut joined = String::new();
            for bytes in &pdus {
                let p = decode(bytes, true).unwrap();
                let part = p.user_data().unwrap().text().unwrap();
                prop_assert_eq!(p.dcs().unwrap().charset(), Charset::Ucs2);
                prop_assert!(part.encode_utf16().count() <= cap);
                joined.push_str(part);
            }
            prop_assert_eq!(joined, text);
        }
    }

    fn fixed_template() -> DeliverTemplate {
        DeliverTemplate {
            smsc: Some(Address::international("+447785016005").unwrap()),
            originator: Address::international("+3530000000").unwrap(),
            scts: Timestamp::new((2024, 3, 9), (14, 5, 0), -14).unwrap(),
            pid: 0,
        }
    }

    /// Segment counts from python-messaging messaging/test/test_sms.py TestSubmitPduCounts
    /// (GSM 7-bit, extension characters and UCS2 at the part boundaries).
    #[test]
    fn segment_counts() {
        let t = fixed_template();
        let count = |s: String| segment_text(&t, &s, 1, 8).unwrap().len();
        let x = |n| "x".repeat(n);
        assert_eq!(count(x(160)), 1);
        assert_eq!(count(x(161)), 2);
        assert_eq!(count(x(153 * 2)), 2);
        assert_eq!(count(x(153 * 2 + 1)), 3);
        assert_eq!(count(x(153 * 3)), 3);
        assert_eq!(count(x(153 * 3 + 1)), 4);
        assert_eq!(count("€".repeat(80)), 1);
        assert_eq!(count("€".repeat(79) + "x"), 1);
        assert_eq!(count("€".repeat(153)), 3);
        assert_eq!(count("€".repeat(229) + "x"), 4);
        assert_eq!(count("ő".repeat(70)), 1);
        assert_eq!(count("ő".repeat(70) + "x"), 2);
        assert_eq!(count("ő".repeat(67 * 2)), 2);
        assert_eq!(count("ő".repeat(67 * 2) + "x"), 3);
        assert_eq!(count("ő".repeat(67 * 3)), 3);
        assert_eq!(count("ő".repeat(67 * 3) + "x"), 4);
    }

    /// The 255-segment limit (as in oFono unit/test-sms.c test_prepare_limits): 255 × 153 /
    /// 152 septets and 255 × 67 / 66 UCS2 characters fit, one more does not.
    #[test]
    fn segment_limits() {
        let t = fixed_template();
        for (c, per8, per16) in [('A', 153, 152), ('Ж', 67, 66)] {
            for (bits, per) in [(8, per8), (16, per16)] {
                let s: String = std::iter::repeat_n(c, 255 * per).collect();
                assert_eq!(segment_text(&t, &s, 5, bits).unwrap().len(), 255);
                let s = format!("{s}{c}");
                assert_eq!(
                    segment_text(&t, &s, 5, bits),
                    Err(EncodeError::TooManySegments { segments: 256 })
                );
            }
        }
        // Binary: 16-bit ports + 8-bit concatenation leave 140 - 12 = 128 octets per part.
        let ports = Some(Ports { src: 9200, dst: 2948, bits: 16 });
        assert_eq!(segment_binary(&t, ports, &[0; 255 * 128], 1, 8).unwrap().len(), 255);
        assert!(segment_binary(&t, ports, &[0; 255 * 128 + 1], 1, 8).is_err());
        assert_eq!(
            segment_binary(&t, None, &[], 300, 8),
            Err(EncodeError::InvalidReference { reference: 300, ref_bits: 8 })
        );
        assert_eq!(
            segment_binary(&t, None, &[], 3, 7),
            Err(EncodeError::InvalidReference { reference: 3, ref_bits: 7 })
        );
        assert_eq!(
            segment_binary(&t, Some(Ports { src: 9200, dst: 1, bits: 8 }), &[], 3, 8),
            Err(EncodeError::PortTooLarge { port: 9200 })
        );
    }

    /// An escape sequence straddling the boundary moves to the next part: 152 'x' then '€'
    /// (ESC 0x65) would need septets 153-154, so part 1 holds 152 septets (165 in all).
    #[test]
    fn escape_is_not_split() {
        let t = fixed_template();
        let pdus = segment_text(&t, &format!("{}€{}", "x".repeat(152), "y".repeat(11)), 1, 8).unwrap();
        let texts: Vec<String> = pdus
            .iter()
            .map(|b| decode(b, true).unwrap().user_data().unwrap().text().unwrap().to_owned())
            .collect();
        assert_eq!(texts, vec!["x".repeat(152), format!("€{}", "y".repeat(11))]);
    }

    /// A two-segment MMS-notification-shaped push: 16-bit ports 2948/9200 and a 16-bit
    /// reference, the layout of the python-messaging vector (concatenation before ports).
    #[test]
    fn wap_push_layout() {
        let t = fixed_template();
        let payload: Vec<u8> = (0..=181u8).collect();
        let pdus =
            segment_binary(&t, Some(Ports { src: 9200, dst: 2948, bits: 16 }), &payload, 40846, 16).unwrap();
        assert_eq!(pdus.len(), 2);
        let p = decode(&pdus[0], true).unwrap();
        let h = p.udh().unwrap();
        assert_eq!(h.as_bytes(), &[0x08, 0x04, 0x9F, 0x8E, 0x02, 0x01, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]);
        assert_eq!(p.user_data().unwrap().binary().unwrap().len(), 127);
    }
}
