//! The user data header (TS 23.040 §9.2.3.24): a list of information elements. Concatenation
//! (IEI 0x00 / 0x08), application port addressing (0x04 / 0x05) and the national language
//! shifts (0x24 / 0x25) are interpreted; every element, those included, stays available raw.
//! A header that cannot be parsed (an element running past TP-UDHL, TP-UDHL running past the
//! user data) is kept as [`UserDataHeader::malformed`]: none of its elements count, as
//! §9.2.3.24 tells a receiver to ignore what it cannot interpret.

use super::{EncodeError, SmsError};

/// Longest header (UDHL excluded): the whole user data field minus the UDHL octet.
pub(crate) const UDH_CAPACITY: usize = 139;

/// IEI 0x00: concatenated short messages, 8-bit reference.
pub const IEI_CONCAT_8: u8 = 0x00;
/// IEI 0x08: concatenated short messages, 16-bit reference.
pub const IEI_CONCAT_16: u8 = 0x08;
/// IEI 0x04: application port addressing, 8-bit ports.
pub const IEI_PORTS_8: u8 = 0x04;
/// IEI 0x05: application port addressing, 16-bit ports.
pub const IEI_PORTS_16: u8 = 0x05;
/// IEI 0x24: national language single shift.
pub const IEI_SINGLE_SHIFT: u8 = 0x24;
/// IEI 0x25: national language locking shift.
pub const IEI_LOCKING_SHIFT: u8 = 0x25;

/// One segment's place in a concatenated message (TS 23.040 §9.2.3.24.1 / .8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    /// The reference number shared by the segments of one message.
    pub reference: u16,
    /// Number of segments, 1-255 (1, with sequence 1: a message of one segment, complete).
    pub total: u8,
    /// This segment, 1-based.
    pub seq: u8,
    /// 8 (IEI 0x00) or 16 (IEI 0x08): the same number is a different reference in each width.
    pub ref_bits: u8,
}

/// Application port addressing (TS 23.040 §9.2.3.24.3 / .4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ports {
    /// Originator port.
    pub src: u16,
    /// Destination port.
    pub dst: u16,
    /// 8 (IEI 0x04) or 16 (IEI 0x05).
    pub bits: u8,
}

/// One information element, borrowed from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InformationElement<'a> {
    /// Information element identifier (TS 23.040 §9.2.3.24).
    pub iei: u8,
    /// The element's data, without IEI and length.
    pub data: &'a [u8],
}

/// What the interpreted elements of a header say (the last valid one of each kind counts,
/// §9.2.3.24). Shared by [`UserDataHeader`] and the borrowed
/// [`UserDataHeaderView`](super::UserDataHeaderView).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct HeaderInfo {
    pub(crate) concat: Option<Concat>,
    pub(crate) ports: Option<Ports>,
    pub(crate) single_shift: Option<u8>,
    pub(crate) locking_shift: Option<u8>,
}

impl HeaderInfo {
    /// Reads the elements of the octets after UDHL. `base` is the absolute offset of `raw[0]`,
    /// for errors. An element whose length runs past the header is an error; an element with a
    /// length or value its IEI does not allow (e.g. concatenation with sequence 0) is skipped.
    pub(crate) fn scan(raw: &[u8], base: usize) -> Result<HeaderInfo, SmsError> {
        let mut h = HeaderInfo::default();
        let mut i = 0;
        while i < raw.len() {
            let Some(&len) = raw.get(i + 1) else {
                return Err(SmsError::InvalidUdh {
                    reason: "element cut off after its IEI",
                    offset: base + i,
                });
            };
            let end = i + 2 + usize::from(len);
            let Some(data) = raw.get(i + 2..end) else {
                return Err(SmsError::InvalidUdh {
                    reason: "element length runs past the header",
                    offset: base + i + 1,
                });
            };
            h.interpret(raw[i], data);
            i = end;
        }
        Ok(h)
    }

    fn interpret(&mut self, iei: u8, data: &[u8]) {
        match (iei, data) {
            (IEI_CONCAT_8, &[r, total, seq]) => self.set_concat(u16::from(r), total, seq, 8),
            (IEI_CONCAT_16, &[r1, r2, total, seq]) => {
                self.set_concat(u16::from_be_bytes([r1, r2]), total, seq, 16)
            }
            (IEI_PORTS_8, &[dst, src]) => {
                self.ports = Some(Ports { src: src.into(), dst: dst.into(), bits: 8 })
            }
            (IEI_PORTS_16, &[d1, d2, s1, s2]) => {
                self.ports = Some(Ports {
                    src: u16::from_be_bytes([s1, s2]),
                    dst: u16::from_be_bytes([d1, d2]),
                    bits: 16,
                })
            }
            (IEI_SINGLE_SHIFT, &[nli]) => self.single_shift = Some(nli),
            (IEI_LOCKING_SHIFT, &[nli]) => self.locking_shift = Some(nli),
            _ => {}
        }
    }

    fn set_concat(&mut self, reference: u16, total: u8, seq: u8, ref_bits: u8) {
        // Invalid values (total 0, seq 0, seq > total) leave the element ignored (§9.2.3.24.1);
        // total 1 with seq 1 is reported, and the receive path delivers it as complete.
        if seq >= 1 && seq <= total {
            self.concat = Some(Concat { reference, total, seq, ref_bits });
        }
    }
}

/// The elements of well-formed header octets, in order.
pub(crate) fn elements_of(raw: &[u8]) -> impl Iterator<Item = InformationElement<'_>> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let iei = *raw.get(i)?;
        let len = usize::from(*raw.get(i + 1)?);
        let data = raw.get(i + 2..i + 2 + len)?;
        i += 2 + len;
        Some(InformationElement { iei, data })
    })
}

/// A parsed user data header. Holds the raw elements (no allocation) and what they mean.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserDataHeader {
    raw: heapless::Vec<u8, UDH_CAPACITY>,
    info: HeaderInfo,
    /// Why the header was ignored, when it was.
    malformed: Option<SmsError>,
}

impl UserDataHeader {
    /// An empty header (UDHI set, UDHL 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the header octets after UDHL (e.g. for a fuzz target); error offsets count
    /// from `raw[0]`.
    pub fn from_bytes(raw: &[u8]) -> Result<UserDataHeader, SmsError> {
        UserDataHeader::parse(raw, 0)
    }

    /// Parses the octets after UDHL. `base` is the absolute offset of `raw[0]`, for errors.
    /// An element whose length runs past the header is an error; an element with a length
    /// or value its IEI does not allow (e.g. concatenation with sequence 0) is kept raw and
    /// not interpreted. When an element repeats, the last valid one counts (§9.2.3.24).
    pub(crate) fn parse(raw: &[u8], base: usize) -> Result<UserDataHeader, SmsError> {
        let raw_vec = heapless::Vec::from_slice(raw)
            .map_err(|_| SmsError::InvalidUdh { reason: "header longer than 139 octets", offset: base })?;
        let info = HeaderInfo::scan(raw, base)?;
        Ok(UserDataHeader { raw: raw_vec, info, malformed: None })
    }

    /// A header from a view's parts: its octets (at most [`UDH_CAPACITY`]), what they say, and
    /// why it was ignored, if it was.
    pub(crate) fn from_parts(raw: &[u8], info: HeaderInfo, malformed: Option<SmsError>) -> UserDataHeader {
        let n = raw.len().min(UDH_CAPACITY);
        let raw = heapless::Vec::from_slice(raw.get(..n).unwrap_or_default()).unwrap_or_default();
        UserDataHeader { raw, info, malformed }
    }

    /// A header that could not be parsed: its octets (as far as the user data holds them)
    /// and the reason, nothing interpreted.
    pub(crate) fn ignored(raw: &[u8], reason: SmsError) -> UserDataHeader {
        let n = raw.len().min(UDH_CAPACITY);
        let raw = heapless::Vec::from_slice(raw.get(..n).unwrap_or_default()).unwrap_or_default();
        UserDataHeader { raw, malformed: Some(reason), ..UserDataHeader::default() }
    }

    /// Why the header was ignored (TS 23.040 §9.2.3.24), if it was: then it has no elements.
    pub fn malformed(&self) -> Option<&SmsError> {
        self.malformed.as_ref()
    }

    /// Appends an element. Fails if the header would exceed what a user data field holds.
    pub fn push(&mut self, iei: u8, data: &[u8]) -> Result<(), EncodeError> {
        let err = EncodeError::UdhTooLong { iei, len: data.len() };
        let len = u8::try_from(data.len()).map_err(|_| err.clone())?;
        if self.raw.len() + 2 + data.len() > UDH_CAPACITY {
            return Err(err);
        }
        // Capacity was checked above.
        let _ = self.raw.push(iei);
        let _ = self.raw.push(len);
        let _ = self.raw.extend_from_slice(data);
        self.info.interpret(iei, data);
        Ok(())
    }

    /// Appends a concatenation element (IEI 0x00 for `ref_bits` 8, 0x08 for 16).
    pub fn push_concat(&mut self, c: Concat) -> Result<(), EncodeError> {
        match c.ref_bits {
            8 => {
                let r = u8::try_from(c.reference)
                    .map_err(|_| EncodeError::InvalidReference { reference: c.reference, ref_bits: 8 })?;
                self.push(IEI_CONCAT_8, &[r, c.total, c.seq])
            }
            16 => {
                let [a, b] = c.reference.to_be_bytes();
                self.push(IEI_CONCAT_16, &[a, b, c.total, c.seq])
            }
            n => Err(EncodeError::InvalidReference { reference: c.reference, ref_bits: n }),
        }
    }

    /// Appends a port addressing element (IEI 0x04 for `bits` 8, otherwise 0x05).
    pub fn push_ports(&mut self, p: Ports) -> Result<(), EncodeError> {
        match (p.bits, u8::try_from(p.dst), u8::try_from(p.src)) {
            (8, Ok(d), Ok(s)) => self.push(IEI_PORTS_8, &[d, s]),
            (8, _, _) => Err(EncodeError::PortTooLarge { port: p.dst.max(p.src) }),
            _ => {
                let ([d1, d2], [s1, s2]) = (p.dst.to_be_bytes(), p.src.to_be_bytes());
                self.push(IEI_PORTS_16, &[d1, d2, s1, s2])
            }
        }
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

    /// Every element in order, interpreted or not (none for a [`malformed`](Self::malformed)
    /// header).
    pub fn elements(&self) -> impl Iterator<Item = InformationElement<'_>> + '_ {
        let raw = if self.malformed.is_some() { &[][..] } else { self.raw.as_slice() };
        elements_of(raw)
    }

    /// The header octets after UDHL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Octets the header takes in the user data, UDHL included.
    pub fn encoded_len(&self) -> usize {
        1 + self.raw.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mms_notification_header() {
        // 08 04 9F8E 02 01: 16-bit concat ref 40846, 2 parts, part 1; 05 04 0B84 23F0: ports
        // dst 2948, src 9200 (python-messaging test_wap.py, first MMS notification).
        let raw = [0x08, 0x04, 0x9F, 0x8E, 0x02, 0x01, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0];
        let h = UserDataHeader::parse(&raw, 0).unwrap();
        assert_eq!(h.concat(), Some(Concat { reference: 40846, total: 2, seq: 1, ref_bits: 16 }));
        assert_eq!(h.ports(), Some(Ports { src: 9200, dst: 2948, bits: 16 }));
        let e: Vec<_> = h.elements().collect();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].iei, e[0].data), (8, &raw[2..6]));
        assert_eq!((e[1].iei, e[1].data), (5, &raw[8..12]));
    }

    #[test]
    fn invalid_concat_is_kept_raw_but_not_used() {
        for bad in [[7, 0, 1], [7, 2, 0], [7, 2, 3], [7, 1, 2], [7, 1, 0], [7, 0, 0]] {
            let raw = [0x00, 0x03, bad[0], bad[1], bad[2]];
            let h = UserDataHeader::parse(&raw, 0).unwrap();
            assert_eq!(h.concat(), None, "{bad:?}");
            assert_eq!(h.elements().count(), 1);
        }
        // Wrong length for its IEI: kept raw, not interpreted.
        let h = UserDataHeader::parse(&[0x00, 0x02, 1, 2, 0x04, 0x01, 9], 0).unwrap();
        assert_eq!((h.concat(), h.ports()), (None, None));
        assert_eq!(h.elements().count(), 2);
        // The last valid element wins; an invalid later one does not erase it.
        let h = UserDataHeader::parse(&[0, 3, 1, 2, 1, 0, 3, 9, 3, 2, 0, 3, 5, 0, 1], 0).unwrap();
        assert_eq!(h.concat(), Some(Concat { reference: 9, total: 3, seq: 2, ref_bits: 8 }));
    }

    #[test]
    fn concat_of_one_segment_is_reported() {
        // 00 03 2A 01 01: 8-bit reference 42, total 1, seq 1.
        let h = UserDataHeader::parse(&[0x00, 0x03, 0x2A, 0x01, 0x01], 0).unwrap();
        assert_eq!(h.concat(), Some(Concat { reference: 42, total: 1, seq: 1, ref_bits: 8 }));
        // 08 04 BEEF 01 01: 16-bit.
        let h = UserDataHeader::parse(&[0x08, 0x04, 0xBE, 0xEF, 0x01, 0x01], 0).unwrap();
        assert_eq!(h.concat(), Some(Concat { reference: 0xBEEF, total: 1, seq: 1, ref_bits: 16 }));
    }

    #[test]
    fn ignored_header_has_no_elements() {
        let why = SmsError::InvalidUdh { reason: "element length runs past the header", offset: 1 };
        let h = UserDataHeader::ignored(&[0x00, 0x03, 1, 2], why.clone());
        assert_eq!(h.malformed(), Some(&why));
        assert_eq!((h.elements().count(), h.concat(), h.as_bytes()), (0, None, &[0x00, 0x03, 1, 2][..]));
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert_eq!(
            UserDataHeader::parse(&[0x00, 0x03, 1, 2], 10),
            Err(SmsError::InvalidUdh { reason: "element length runs past the header", offset: 11 })
        );
        assert_eq!(
            UserDataHeader::parse(&[0x00, 0x00, 0x70], 10),
            Err(SmsError::InvalidUdh { reason: "element cut off after its IEI", offset: 12 })
        );
        assert_eq!(UserDataHeader::parse(&[], 0).unwrap().elements().count(), 0);
    }

    #[test]
    fn builder_matches_parser() {
        let mut h = UserDataHeader::new();
        h.push_concat(Concat { reference: 0x1234, total: 3, seq: 2, ref_bits: 16 }).unwrap();
        h.push_ports(Ports { src: 9200, dst: 2948, bits: 16 }).unwrap();
        h.push(IEI_SINGLE_SHIFT, &[1]).unwrap();
        h.push(0x70, &[]).unwrap();
        let p = UserDataHeader::parse(h.as_bytes(), 0).unwrap();
        assert_eq!(p, h);
        assert_eq!(p.single_shift(), Some(1));
        assert!(h.push_concat(Concat { reference: 256, total: 2, seq: 1, ref_bits: 8 }).is_err());
        assert!(h.push(0x70, &[0; 200]).is_err());
        assert!(h.push_ports(Ports { src: 300, dst: 1, bits: 8 }).is_err());
    }
}
