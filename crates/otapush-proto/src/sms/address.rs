//! Addresses: TP-OA / TP-RA (TS 23.040 §9.1.2.5) and the service-centre address that modems
//! print before the TPDU (TS 24.011 §8.2.5.1, length in octets).

use super::alphabet::Tables;
use super::reader::Reader;
use super::view::AddressView;
use super::{gsm7, EncodeError, SmsError};
use std::fmt;

/// Longest address text: 20 digits plus '+', or 11 GSM characters of up to 3 UTF-8 octets.
pub const ADDRESS_CAPACITY: usize = 36;

/// Type of number, bits 6-4 of the type-of-address octet (TS 23.040 §9.1.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeOfNumber {
    /// Unknown (000): the network decides.
    Unknown,
    /// International number (001): shown with a leading `+`.
    International,
    /// National number (010).
    National,
    /// Network specific number (011).
    NetworkSpecific,
    /// Subscriber number (100).
    Subscriber,
    /// GSM 7-bit packed text (e.g. a sender name).
    Alphanumeric,
    /// Abbreviated number (110).
    Abbreviated,
    /// Reserved for extension (111).
    Reserved,
}

impl TypeOfNumber {
    /// The type of number of the low three bits of `bits`.
    pub fn from_bits(bits: u8) -> TypeOfNumber {
        match bits & 7 {
            0 => TypeOfNumber::Unknown,
            1 => TypeOfNumber::International,
            2 => TypeOfNumber::National,
            3 => TypeOfNumber::NetworkSpecific,
            4 => TypeOfNumber::Subscriber,
            5 => TypeOfNumber::Alphanumeric,
            6 => TypeOfNumber::Abbreviated,
            _ => TypeOfNumber::Reserved,
        }
    }

    /// The three bits (0-7).
    pub fn bits(self) -> u8 {
        self as u8
    }
}

/// An SMS address. The text is what a user sees: `+4912345` for an international number,
/// the digits (with `*`, `#`, `a`, `b`, `c`) otherwise, the decoded name for alphanumeric.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    ton: TypeOfNumber,
    npi: u8,
    text: heapless::String<ADDRESS_CAPACITY>,
}

const BCD_DIGITS: &[u8; 15] = b"0123456789*#abc";

/// The digits of one BCD octet (low semi-octet first) and how many there are: 0xF, the
/// filler, is no digit.
pub(crate) static BCD_PAIRS: [[u8; 3]; 256] = {
    const DIGIT: &[u8; 16] = b"0123456789*#abc?";
    let mut t = [[0u8; 3]; 256];
    let mut b = 0;
    while b < 256 {
        let (lo, hi) = (b & 0x0f, b >> 4);
        let mut e = [0u8; 3];
        if lo != 0x0f {
            e[0] = DIGIT[lo];
            e[2] = 1;
        }
        if hi != 0x0f {
            e[e[2] as usize] = DIGIT[hi];
            e[2] += 1;
        }
        t[b] = e;
        b += 1;
    }
    t
};

impl Address {
    /// Builds an address, checking that it can be encoded: an alphanumeric one must be GSM
    /// 7-bit text of at most 11 septets; any other type takes at most 20 digits of
    /// `0-9 * # a b c`, and an international number may start with `+`.
    pub fn new(ton: TypeOfNumber, npi: u8, value: &str) -> Result<Address, EncodeError> {
        let mut text = heapless::String::new();
        if ton == TypeOfNumber::Alphanumeric {
            let septets = gsm7::encode(value, &Tables::DEFAULT)
                .map_err(|_| EncodeError::InvalidAddress("not GSM 7-bit text"))?;
            if septets.len() > 11 {
                return Err(EncodeError::InvalidAddress("alphanumeric address longer than 11 septets"));
            }
            text.push_str(value).map_err(|_| EncodeError::InvalidAddress("too long"))?;
        } else {
            let digits = match value.strip_prefix('+') {
                Some(d) if ton == TypeOfNumber::International => d,
                Some(_) => return Err(EncodeError::InvalidAddress("'+' only on an international number")),
                None => value,
            };
            if digits.len() > 20 {
                return Err(EncodeError::InvalidAddress("more than 20 digits"));
            }
            if !digits.bytes().all(|b| BCD_DIGITS.contains(&b)) {
                return Err(EncodeError::InvalidAddress("digit outside 0-9 * # a b c"));
            }
            if ton == TypeOfNumber::International && !digits.is_empty() {
                let _ = text.push('+');
            }
            let _ = text.push_str(digits);
        }
        Ok(Address { ton, npi: npi & 0x0f, text })
    }

    /// An address from its decoded parts (a view's, [`AddressView::to_address`](super::AddressView::to_address)).
    pub(crate) fn from_parts(
        ton: TypeOfNumber,
        npi: u8,
        text: heapless::String<ADDRESS_CAPACITY>,
    ) -> Address {
        Address { ton, npi: npi & 0x0f, text }
    }

    /// An international number (`+` optional), numbering plan E.164 (1).
    pub fn international(number: &str) -> Result<Address, EncodeError> {
        Address::new(TypeOfNumber::International, 1, number)
    }

    /// A national number, numbering plan E.164 (1).
    pub fn national(number: &str) -> Result<Address, EncodeError> {
        Address::new(TypeOfNumber::National, 1, number)
    }

    /// An alphanumeric sender name (numbering plan 0).
    pub fn alphanumeric(name: &str) -> Result<Address, EncodeError> {
        Address::new(TypeOfNumber::Alphanumeric, 0, name)
    }

    /// The address a user means by `text` (e.g. `otapushctl encode --from`): `+` and digits
    /// is international, digits (and `* # a b c`) alone a number of unknown type with the
    /// E.164 plan (TOA 0x81), anything else an alphanumeric name.
    pub fn from_text(text: &str) -> Result<Address, EncodeError> {
        let digits = text.strip_prefix('+').unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| BCD_DIGITS.contains(&b)) {
            if text.starts_with('+') {
                Address::international(text)
            } else {
                Address::new(TypeOfNumber::Unknown, 1, text)
            }
        } else {
            Address::alphanumeric(text)
        }
    }

    /// Type of number, bits 6-4 of the type of address.
    pub fn ton(&self) -> TypeOfNumber {
        self.ton
    }

    /// Numbering plan identification, bits 3-0 of the type of address.
    pub fn npi(&self) -> u8 {
        self.npi
    }

    /// The type-of-address octet (bit 7 set).
    pub fn toa(&self) -> u8 {
        0x80 | self.ton.bits() << 4 | self.npi
    }

    /// The address as shown to users (`+4912345` for an international number).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The `originator_type` (docs/cli.md): `international`, `national`, `alphanumeric`, or
    /// `unknown` for every other type of number.
    pub fn kind_str(&self) -> &'static str {
        match self.ton {
            TypeOfNumber::International => "international",
            TypeOfNumber::National => "national",
            TypeOfNumber::Alphanumeric => "alphanumeric",
            _ => "unknown",
        }
    }

    /// Parses TP-OA / TP-RA: a length in semi-octets (digits, or for alphanumeric the
    /// semi-octets used by the packed septets), the type of address and the value.
    pub(crate) fn parse_tp(r: &mut Reader<'_>, field: &'static str) -> Result<Address, SmsError> {
        let offset = r.offset();
        let view = AddressView::parse_tp(r, field)?;
        Address::from_view(&view, field, offset)
    }

    /// Parses the service-centre address: a length in octets (type of address included;
    /// 0 = absent).
    pub(crate) fn parse_smsc(r: &mut Reader<'_>) -> Result<Option<Address>, SmsError> {
        let offset = r.offset();
        let Some(view) = AddressView::parse_smsc(r)? else { return Ok(None) };
        Address::from_view(&view, "SMSC address", offset).map(Some)
    }

    /// The owned address of a view the framing checks passed (the digits checked here).
    fn from_view(view: &AddressView<'_>, field: &'static str, offset: usize) -> Result<Address, SmsError> {
        let (semi_octets, septets) = view.lengths();
        Address::from_value(view.ton(), view.toa(), view.value(), semi_octets, septets, field, offset)
    }

    fn from_value(
        ton: TypeOfNumber,
        toa: u8,
        value: &[u8],
        semi_octets: usize,
        septets: usize,
        field: &'static str,
        offset: usize,
    ) -> Result<Address, SmsError> {
        let mut text = heapless::String::<ADDRESS_CAPACITY>::new();
        // Capacity covers the longest value (module constant), so pushes cannot fail; a
        // failure would still be reported, not panic.
        let full = SmsError::InvalidAddressLength { field, length: semi_octets as u8, offset };
        if ton == TypeOfNumber::Alphanumeric {
            let mut overflow = false;
            gsm7::decode_with(value, 0, septets, &Tables::DEFAULT, |c| overflow |= text.push(c).is_err());
            if overflow {
                return Err(full);
            }
        } else {
            // At most '+' and 20 digits: the text has room. 0xF, the filler of an odd
            // count, is skipped wherever it appears. Two digits per octet from a table.
            if ton == TypeOfNumber::International && semi_octets > 0 {
                let _ = text.push('+');
            }
            let octets = value.get(..semi_octets.div_ceil(2)).unwrap_or(value);
            let (whole, last) = match octets.split_last() {
                // An odd count: only the low semi-octet of the last octet is a digit.
                Some((&last, whole)) if semi_octets % 2 == 1 => (whole, Some(last | 0xf0)),
                _ => (octets, None),
            };
            // The whole octets, then the last: a `Chain` iterator here cost ~40 instructions.
            let mut push_octet = |b: u8| {
                let [d0, d1, count] = BCD_PAIRS[usize::from(b)];
                if count > 0 {
                    let _ = text.push(char::from(d0));
                }
                if count > 1 {
                    let _ = text.push(char::from(d1));
                }
            };
            for &b in whole {
                push_octet(b);
            }
            if let Some(b) = last {
                push_octet(b);
            }
            // Fillers only: no digits, so no '+' either.
            if text.as_str() == "+" {
                text.clear();
            }
        }
        Ok(Address { ton, npi: toa & 0x0f, text })
    }

    /// Appends TP-OA / TP-RA.
    pub(crate) fn emit_tp(&self, out: &mut Vec<u8>) {
        if self.ton == TypeOfNumber::Alphanumeric {
            let septets = gsm7::encode(&self.text, &Tables::DEFAULT).unwrap_or_default();
            // Semi-octets actually used by the septets: ceil(7n / 4).
            out.push((septets.len() * 7).div_ceil(4) as u8);
            out.push(self.toa());
            let start = out.len();
            gsm7::pack(out, start, 0, &septets);
        } else {
            let digits = self.digits();
            out.push(digits.len() as u8);
            out.push(self.toa());
            push_bcd(out, digits);
        }
    }

    /// Appends the service-centre address field (length in octets).
    pub(crate) fn emit_smsc(this: Option<&Address>, out: &mut Vec<u8>) {
        let Some(a) = this else {
            out.push(0);
            return;
        };
        let len_at = out.len();
        out.push(0);
        out.push(a.toa());
        if a.ton == TypeOfNumber::Alphanumeric {
            let septets = gsm7::encode(&a.text, &Tables::DEFAULT).unwrap_or_default();
            let start = out.len();
            gsm7::pack(out, start, 0, &septets);
        } else {
            push_bcd(out, a.digits());
        }
        out[len_at] = (out.len() - len_at - 1) as u8;
    }

    fn digits(&self) -> &[u8] {
        let t = self.text.as_bytes();
        t.strip_prefix(b"+").unwrap_or(t)
    }
}

fn push_bcd(out: &mut Vec<u8>, digits: &[u8]) {
    let nib = |d: u8| BCD_DIGITS.iter().position(|&x| x == d).map_or(0x0f, |p| p as u8);
    for pair in digits.chunks(2) {
        let lo = nib(pair[0]);
        let hi = pair.get(1).map_or(0x0f, |&d| nib(d));
        out.push(hi << 4 | lo);
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(bytes: &[u8]) -> Result<Address, SmsError> {
        Address::parse_tp(&mut Reader::new(bytes), "TP-OA")
    }

    #[test]
    fn international_odd_digits_with_filler() {
        // 0B = 11 digits, 91 = international/E.164, 13 46 61 00 89 F6 = "31641600986" + filler
        // (oFono unit/test-sms.c "simple_deliver" originator).
        let a = tp(&[0x0B, 0x91, 0x13, 0x46, 0x61, 0x00, 0x89, 0xF6]).unwrap();
        assert_eq!(a.as_str(), "+31641600986");
        assert_eq!(a.kind_str(), "international");
        assert_eq!(a.npi(), 1);
        let mut out = Vec::new();
        a.emit_tp(&mut out);
        assert_eq!(out, [0x0B, 0x91, 0x13, 0x46, 0x61, 0x00, 0x89, 0xF6]);
    }

    #[test]
    fn alphanumeric_odd_and_even_lengths() {
        // 09 semi-octets, D0 = alphanumeric, 5 octets = 5 septets "FONIC" (python-messaging
        // test_decoding_number_alphanumeric, odd length).
        let a = tp(&[0x09, 0xD0, 0xC6, 0xA7, 0x33, 0x39, 0x04]).unwrap();
        assert_eq!(a.as_str(), "FONIC");
        assert_eq!(a.kind_str(), "alphanumeric");
        // 12 (18) semi-octets = 9 octets = 10 septets "www.tim.it" (same test, even length).
        let a = tp(&[0x12, 0xD0, 0xF7, 0xFB, 0xDD, 0x45, 0x4F, 0xB7, 0x5D, 0x69, 0x3A]).unwrap();
        assert_eq!(a.as_str(), "www.tim.it");
        let mut out = Vec::new();
        a.emit_tp(&mut out);
        // ceil(7*10/4) = 18 semi-octets: the same field.
        assert_eq!(out, [0x12, 0xD0, 0xF7, 0xFB, 0xDD, 0x45, 0x4F, 0xB7, 0x5D, 0x69, 0x3A]);
    }

    #[test]
    fn special_digits_empty_and_unknown_types() {
        // 6 digits, TOA 0x81 (unknown type, E.164): A B C D E 1 → "*#abc1".
        let a = tp(&[0x06, 0x81, 0xBA, 0xDC, 0x1E]).unwrap();
        assert_eq!(a.as_str(), "*#abc1");
        assert_eq!(a.kind_str(), "unknown");
        // Length 0: an empty address (accepted, unlike ModemManager).
        let a = tp(&[0x00, 0x91]).unwrap();
        assert_eq!(a.as_str(), "");
        // TOA 0xC8: subscriber number, national plan → "unknown" kind.
        let a = tp(&[0x02, 0xC8, 0x21]).unwrap();
        assert_eq!((a.as_str(), a.kind_str(), a.ton()), ("12", "unknown", TypeOfNumber::Subscriber));
        // National.
        let a = tp(&[0x03, 0xA1, 0x21, 0xF3]).unwrap();
        assert_eq!((a.as_str(), a.kind_str()), ("123", "national"));
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(
            tp(&[21, 0x91]),
            Err(SmsError::InvalidAddressLength { field: "TP-OA", length: 21, offset: 0 })
        );
        assert_eq!(tp(&[4, 0x91, 0x21]), Err(SmsError::Truncated { field: "TP-OA", offset: 2 }));
        assert_eq!(tp(&[4]), Err(SmsError::Truncated { field: "TP-OA", offset: 1 }));
        let smsc = |b: &[u8]| Address::parse_smsc(&mut Reader::new(b));
        assert_eq!(smsc(&[0]), Ok(None));
        assert!(matches!(smsc(&[12]), Err(SmsError::InvalidAddressLength { length: 12, .. })));
        assert!(matches!(smsc(&[7, 0x91, 1]), Err(SmsError::Truncated { offset: 2, .. })));
        // 07 91 13 26 04 00 00 F0 = +31624000000 (oFono simple_deliver SMSC).
        let a = smsc(&[0x07, 0x91, 0x13, 0x26, 0x04, 0x00, 0x00, 0xF0]).unwrap().unwrap();
        assert_eq!(a.as_str(), "+31624000000");
        let mut out = Vec::new();
        Address::emit_smsc(Some(&a), &mut out);
        assert_eq!(out, [0x07, 0x91, 0x13, 0x26, 0x04, 0x00, 0x00, 0xF0]);
    }

    #[test]
    fn constructor_validation() {
        assert_eq!(Address::international("+4912345").unwrap().as_str(), "+4912345");
        assert_eq!(Address::international("4912345").unwrap().as_str(), "+4912345");
        assert!(Address::national("+49").is_err());
        assert!(Address::national("12x").is_err());
        assert!(Address::national("123456789012345678901").is_err());
        assert!(Address::alphanumeric("123456789012").is_err());
        assert!(Address::alphanumeric("Ωmega").is_ok());
        assert!(Address::alphanumeric("日本").is_err());
        assert_eq!(Address::alphanumeric("€€€€€").unwrap().as_str(), "€€€€€");
        let a = Address::from_text("+4912345").unwrap();
        assert_eq!((a.as_str(), a.toa()), ("+4912345", 0x91));
        let a = Address::from_text("0800*1#").unwrap();
        assert_eq!((a.as_str(), a.toa()), ("0800*1#", 0x81));
        let a = Address::from_text("Operator").unwrap();
        assert_eq!((a.as_str(), a.kind_str(), a.toa()), ("Operator", "alphanumeric", 0xD0));
        assert!(Address::from_text("+").unwrap().kind_str() == "alphanumeric");
        assert!(Address::from_text("far too long a name").is_err());
    }
}
