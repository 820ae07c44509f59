//! TP-SCTS and TP-DT: the service-centre time stamp (TS 23.040 §9.2.3.11).
//!
//! Seven octets of swapped BCD (the first digit in the low nibble): year, month, day, hour,
//! minute, second, time zone. The zone counts quarter hours from UTC; bit 3 of the zone
//! octet is the sign (set = west of UTC). The spec carries two year digits: `yy < 90` is read
//! as 20yy and `yy >= 90` as 19yy, so every date from 1990 to 2089 round-trips.
//!
//! Non-BCD semi-octets (0xA-0xF) are read as oFono reads them: each octet is
//! `low * 10 + high` whatever the nibbles hold (the zone: `(low & 7) * 10 + high`), and the
//! time stamp is flagged [`Timestamp::nonbcd`]. A value out of range after that (month 13,
//! hour 24, a zone beyond ±79 quarter hours, a year above 99) is a typed error, as in oFono.

use super::reader::Reader;
use super::{EncodeError, SmsError};

/// A service-centre time stamp: the local time of the service centre and its UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Full year, 1990-2089.
    pub year: u16,
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
    /// 0-23.
    pub hour: u8,
    /// 0-59.
    pub minute: u8,
    /// 0-59.
    pub second: u8,
    /// Offset from UTC in quarter hours (-79..=79).
    pub tz_quarters: i8,
    /// A semi-octet of the received field was not a BCD digit (read as oFono does).
    pub nonbcd: bool,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Whether a semi-octet of the seven is above 9, the zone's low one (tens and sign) aside. One
/// above 9 has bit 3 and bit 2 or 1 set: all thirteen are tested at once.
fn has_nonbcd(x: u64) -> bool {
    (x >> 3) & ((x >> 2) | (x >> 1)) & 0x0010_1111_1111_1111 != 0
}

/// The six date and time octets of a time stamp read as one word, `low * 10 + high` per octet
/// (tens in the low nibble, units in the high one: at most 165, so no carry into the next
/// octet), and the zone's quarter hours, `(low & 7) * 10 + high` (at most 85).
#[inline(always)]
fn fields(x: u64) -> (u64, u8) {
    let lo = x & 0x0000_0F0F_0F0F_0F0F;
    let v = (lo << 3) + (lo << 1) + ((x >> 4) & 0x0000_0F0F_0F0F_0F0F);
    let zone = (x >> 48) as u8;
    (v, (zone & 0x07) * 10 + (zone >> 4))
}

/// The year of two digits (0-99): 1990-2089.
fn year_of(yy: u8) -> u16 {
    if yy < 90 {
        2000 + u16::from(yy)
    } else {
        1900 + u16::from(yy)
    }
}

impl Timestamp {
    /// A checked time stamp (fields in range, year 1990-2089, zone within ±79 quarters).
    pub fn new(
        (year, month, day): (u16, u8, u8),
        (hour, minute, second): (u8, u8, u8),
        tz_quarters: i8,
    ) -> Result<Timestamp, EncodeError> {
        if !(1990..=2089).contains(&year) {
            return Err(EncodeError::InvalidTimestamp("year outside 1990-2089"));
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(EncodeError::InvalidTimestamp("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(EncodeError::InvalidTimestamp("no such time"));
        }
        if !(-79..=79).contains(&tz_quarters) {
            return Err(EncodeError::InvalidTimestamp("time zone beyond ±79 quarter hours"));
        }
        Ok(Timestamp { year, month, day, hour, minute, second, tz_quarters, nonbcd: false })
    }

    /// The time stamp of an instant (seconds since the Unix epoch) as seen in a zone
    /// `tz_quarters` quarter hours east of UTC (e.g. for an encoder's "now").
    pub fn from_unix_seconds(secs: i64, tz_quarters: i8) -> Result<Timestamp, EncodeError> {
        let local = secs + i64::from(tz_quarters) * 15 * 60;
        let (year, month, day) = crate::time::civil_from_days(local.div_euclid(86400));
        let rem = local.rem_euclid(86400);
        let year =
            u16::try_from(year).map_err(|_| EncodeError::InvalidTimestamp("year outside 1990-2089"))?;
        let (h, m, s) = ((rem / 3600) as u8, (rem / 60 % 60) as u8, (rem % 60) as u8);
        Timestamp::new((year, month as u8, day as u8), (h, m, s), tz_quarters)
    }

    /// Offset from UTC in minutes.
    pub fn offset_minutes(&self) -> i32 {
        i32::from(self.tz_quarters) * 15
    }

    /// RFC 3339 with the service centre's offset, e.g. `2024-03-09T14:05:00-03:30`.
    pub fn to_rfc3339(&self) -> String {
        String::from_utf8_lossy(&self.rfc3339_bytes()).into_owned()
    }

    /// [`Timestamp::to_rfc3339`] as ASCII bytes on the stack.
    pub fn rfc3339_bytes(&self) -> [u8; 25] {
        crate::time::rfc3339_bytes(
            (i64::from(self.year), u32::from(self.month), u32::from(self.day)),
            (u32::from(self.hour), u32::from(self.minute), u32::from(self.second)),
            self.offset_minutes(),
        )
    }

    /// Seconds since the Unix epoch of this instant.
    pub fn unix_seconds(&self) -> i64 {
        let days = crate::time::days_from_civil(i64::from(self.year), self.month.into(), self.day.into());
        days * 86400 + i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second)
            - i64::from(self.offset_minutes()) * 60
    }

    pub(crate) fn parse(r: &mut Reader<'_>, field: &'static str) -> Result<Timestamp, SmsError> {
        Timestamp::check(r, field).map(Timestamp::from_checked)
    }

    /// Reads and checks the seven octets as [`Timestamp::parse`] does (the same errors) and
    /// returns them as one word, for [`Timestamp::from_checked`].
    #[inline(always)]
    pub(crate) fn check(r: &mut Reader<'_>, field: &'static str) -> Result<u64, SmsError> {
        let start = r.offset();
        let raw = r.take(7, field)?;
        let mut b = [0u8; 8];
        if let (Some(dst), Some(src)) = (b.get_mut(..7), raw.get(..7)) {
            dst.copy_from_slice(src);
        }
        let x = u64::from_le_bytes(b);
        let (v, quarters) = fields(x);
        let [yy, month, day, hour, minute, second, _, _] = v.to_le_bytes();
        // An octet above its limit (year 99, month 12, day 31, hour 23, minute 59, second 59):
        // below 128, adding 127 - limit sets bit 7 exactly when it is above; at 128 or more
        // bit 7 is set already. Without a carry between octets, as the low 7 bits are added.
        const ROOM: u64 =
            u64::from_le_bytes([127 - 99, 127 - 12, 127 - 31, 127 - 23, 127 - 59, 127 - 59, 0, 0]);
        let over = (((v & 0x0000_7F7F_7F7F_7F7F) + ROOM) | v) & 0x0000_8080_8080_8080;
        // Day 1-28 exists in every month: only then is the field valid without the checks below.
        if over != 0 || quarters > 79 || month == 0 || day == 0 || day > 28 {
            let bad = |part, i| Err(SmsError::InvalidTimestamp { field, part, offset: start + i });
            if quarters > 79 {
                return bad("time zone", 6);
            }
            if yy > 99 {
                return bad("year", 0);
            }
            if !(1..=12).contains(&month) {
                return bad("month", 1);
            }
            if day == 0 || day > days_in_month(year_of(yy), month) {
                return bad("day", 2);
            }
            if hour > 23 {
                return bad("hour", 3);
            }
            if minute > 59 {
                return bad("minute", 4);
            }
            if second > 59 {
                return bad("second", 5);
            }
        }
        Ok(x)
    }

    /// The time stamp of seven octets that passed [`Timestamp::check`].
    #[inline(always)]
    pub(crate) fn from_checked(x: u64) -> Timestamp {
        let (v, quarters) = fields(x);
        let [yy, month, day, hour, minute, second, _, _] = v.to_le_bytes();
        // The zone's low semi-octet is 3 bits of tens and the sign: always a digit.
        let nonbcd = has_nonbcd(x);
        // Bit 3 of the zone octet is the sign.
        let tz_quarters = if x >> 48 & 0x08 != 0 { -(quarters as i8) } else { quarters as i8 };
        Timestamp { year: year_of(yy), month, day, hour, minute, second, tz_quarters, nonbcd }
    }

    /// Appends the seven octets (always BCD: a [`Timestamp::nonbcd`] field is written back as
    /// the values it was read as).
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        let swapped = |v: u8| (v % 10) << 4 | (v / 10 % 10);
        out.push(swapped((self.year % 100) as u8));
        for v in [self.month, self.day, self.hour, self.minute, self.second] {
            out.push(swapped(v));
        }
        let q = self.tz_quarters.unsigned_abs();
        out.push(swapped(q) | if self.tz_quarters < 0 { 0x08 } else { 0 });
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn nonbcd_test_agrees_with_the_per_semi_octet_definition() {
        let slow = |raw: &[u8; 7]| raw[..6].iter().any(|&b| b & 0x0f > 9 || b >> 4 > 9) || raw[6] >> 4 > 9;
        let word = |raw: &[u8; 7]| {
            let mut b = [0u8; 8];
            b[..7].copy_from_slice(raw);
            has_nonbcd(u64::from_le_bytes(b))
        };
        for pos in 0..7 {
            for b in 0..=255u8 {
                let mut raw = [0x99u8; 7];
                raw[pos] = b;
                assert_eq!(word(&raw), slow(&raw), "octet {pos} = {b:02x}");
                raw = [0; 7];
                raw[pos] = b;
                assert_eq!(word(&raw), slow(&raw), "octet {pos} = {b:02x}");
            }
        }
    }

    use super::*;

    fn parse(b: &[u8]) -> Result<Timestamp, SmsError> {
        Timestamp::parse(&mut Reader::new(b), "TP-SCTS")
    }

    impl Timestamp {
        /// The field by field reading the word-at-a-time [`Timestamp::parse`] must agree with.
        fn parse_reference(r: &mut Reader<'_>, field: &'static str) -> Result<Timestamp, SmsError> {
            let start = r.offset();
            let raw = r.take(7, field)?;
            // The zone's low semi-octet is 3 bits of tens and the sign: always a digit.
            let nonbcd = raw[..6].iter().any(|&b| b & 0x0f > 9 || b >> 4 > 9) || raw[6] >> 4 > 9;
            let mut v = [0u8; 6];
            for (&b, out) in raw.iter().zip(v.iter_mut()) {
                // Tens in the low nibble, units in the high one; at most 15 * 10 + 15 = 165.
                *out = (b & 0x0f) * 10 + (b >> 4);
            }
            let zone = raw[6];
            // Bit 3 is the sign; at most 7 * 10 + 15 = 85 quarters.
            let quarters = (zone & 0x07) * 10 + (zone >> 4);
            let bad = |part, i| Err(SmsError::InvalidTimestamp { field, part, offset: start + i });
            if quarters > 79 {
                return bad("time zone", 6);
            }
            let tz_quarters = if zone & 0x08 != 0 { -(quarters as i8) } else { quarters as i8 };
            let [yy, month, day, hour, minute, second] = v;
            if yy > 99 {
                return bad("year", 0);
            }
            let year = if yy < 90 { 2000 + u16::from(yy) } else { 1900 + u16::from(yy) };
            if !(1..=12).contains(&month) {
                return bad("month", 1);
            }
            if day == 0 || day > days_in_month(year, month) {
                return bad("day", 2);
            }
            if hour > 23 {
                return bad("hour", 3);
            }
            if minute > 59 {
                return bad("minute", 4);
            }
            if second > 59 {
                return bad("second", 5);
            }
            Ok(Timestamp { year, month, day, hour, minute, second, tz_quarters, nonbcd })
        }
    }

    proptest::proptest! {
        /// Any seven octets (and octets near the limits of every field): the same time stamp
        /// or the same error as the field by field reading.
        #[test]
        fn word_reading_agrees_with_field_by_field(
            raw in proptest::array::uniform7(proptest::num::u8::ANY),
            near in proptest::array::uniform7(proptest::sample::select(vec![
                0x00u8, 0x01, 0x10, 0x20, 0x21, 0x30, 0x31, 0x32, 0x82, 0x92, 0x99, 0x13, 0x03, 0x95,
                0x05, 0x06, 0x0A, 0xA0, 0xF9, 0x97, 0x9F, 0x08, 0x88, 0xFF,
            ])),
        ) {
            for raw in [raw, near] {
                let fast = Timestamp::parse(&mut Reader::new(&raw), "TP-DT");
                let slow = Timestamp::parse_reference(&mut Reader::new(&raw), "TP-DT");
                proptest::prop_assert_eq!(fast, slow, "{:02x?}", raw);
            }
        }
    }

    #[test]
    fn negative_zone_and_quarter_hours() {
        // 42 30 90 41 50 00 = 2024-03-09 14:05:00; zone "14" quarters with the sign bit:
        // tens 1 | 0x8 = 0x9 in the low nibble, units 4 in the high nibble → 0x49 = -03:30.
        let t = parse(&[0x42, 0x30, 0x90, 0x41, 0x50, 0x00, 0x49]).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-09T14:05:00-03:30");
        let mut out = Vec::new();
        t.emit(&mut out);
        assert_eq!(out, [0x42, 0x30, 0x90, 0x41, 0x50, 0x00, 0x49]);
        // oFono simple_deliver: 20 80 62 91 73 14 48 → 2002-08-26 19:37:41, zone 0x48 =
        // sign set, "04" quarters → -01:00.
        let t = parse(&[0x20, 0x80, 0x62, 0x91, 0x73, 0x14, 0x48]).unwrap();
        assert_eq!(t.to_rfc3339(), "2002-08-26T19:37:41-01:00");
        // Zone +5:45 (Nepal) = 23 quarters: 0x32.
        let t = parse(&[0x99, 0x30, 0x92, 0x51, 0x61, 0x95, 0x32]).unwrap();
        assert_eq!(t.to_rfc3339(), "1999-03-29T15:16:59+05:45");
        // 1999-03-29T15:16:59Z is 922720619 (Python datetime); 5:45 east is earlier in UTC.
        assert_eq!(t.unix_seconds(), 922_720_619 - (5 * 3600 + 45 * 60));
    }

    #[test]
    fn year_window() {
        let y = |yy: u8| parse(&[yy, 0x10, 0x10, 0, 0, 0, 0]).unwrap().year;
        assert_eq!(y(0x00), 2000);
        assert_eq!(y(0x98), 2089);
        assert_eq!(y(0x09), 1990);
        assert_eq!(y(0x99), 1999);
    }

    #[test]
    fn non_bcd_digits_read_as_ofono_does() {
        // oFono test-sms.c sr_pdu3's TP-SCTS: 01 90 12 41 30 64 = 2010-09-21 14:03:46, zone
        // A0: (0 & 7) * 10 + 0xA = 10 quarters, sign clear → +02:30.
        let t = parse(&[0x01, 0x90, 0x12, 0x41, 0x30, 0x64, 0xA0]).unwrap();
        assert_eq!(t.to_rfc3339(), "2010-09-21T14:03:46+02:30");
        assert!(t.nonbcd);
        // Zone F9: sign set, (9 & 7) * 10 + 0xF = 25 quarters → -06:15.
        let t = parse(&[0x42, 0x30, 0x90, 0x41, 0x50, 0x00, 0xF9]).unwrap();
        assert_eq!((t.tz_quarters, t.nonbcd), (-25, true));
        // Minute A1: 1 * 10 + 0xA = 20; second 0B: 0xB * 10 + 0 = 110 is out of range.
        let t = parse(&[0x42, 0x30, 0x90, 0x41, 0xA1, 0x00, 0x00]).unwrap();
        assert_eq!((t.minute, t.nonbcd), (20, true));
        assert_eq!(
            parse(&[0x42, 0x30, 0x90, 0x41, 0x50, 0x0B, 0x00]),
            Err(SmsError::InvalidTimestamp { field: "TP-SCTS", part: "second", offset: 5 })
        );
        // Month 3A: 0xA * 10 + 3 = 103.
        assert_eq!(
            parse(&[0x42, 0x3A, 0x90, 0x41, 0x50, 0x00, 0x49]),
            Err(SmsError::InvalidTimestamp { field: "TP-SCTS", part: "month", offset: 1 })
        );
        // Year 0A: 100; zone F7: 7 * 10 + 15 = 85 quarters, beyond ±79.
        assert_eq!(
            parse(&[0x0A, 0x10, 0x10, 0, 0, 0, 0]),
            Err(SmsError::InvalidTimestamp { field: "TP-SCTS", part: "year", offset: 0 })
        );
        assert_eq!(
            parse(&[0x42, 0x10, 0x10, 0, 0, 0, 0xF7]),
            Err(SmsError::InvalidTimestamp { field: "TP-SCTS", part: "time zone", offset: 6 })
        );
        // A BCD field is not flagged; 0x97 = 79 quarters east is the largest BCD zone, 0x9F
        // (sign set) the largest west.
        let t = parse(&[0x42, 0x10, 0x10, 0, 0, 0, 0x97]).unwrap();
        assert_eq!((t.tz_quarters, t.nonbcd), (79, false));
        let t = parse(&[0x42, 0x10, 0x10, 0, 0, 0, 0x9F]).unwrap();
        assert_eq!((t.tz_quarters, t.nonbcd), (-79, false));
    }

    #[test]
    fn rejects_out_of_range() {
        assert!(matches!(
            parse(&[0x42, 0x00, 0x10, 0, 0, 0, 0]),
            Err(SmsError::InvalidTimestamp { part: "month", .. })
        ));
        // 2023-02-29 does not exist; 2024-02-29 does.
        assert!(matches!(
            parse(&[0x32, 0x20, 0x92, 0, 0, 0, 0]),
            Err(SmsError::InvalidTimestamp { part: "day", .. })
        ));
        assert!(parse(&[0x42, 0x20, 0x92, 0, 0, 0, 0]).is_ok());
        assert!(matches!(
            parse(&[0x42, 0x10, 0x10, 0x42, 0, 0, 0]),
            Err(SmsError::InvalidTimestamp { part: "hour", offset: 3, .. })
        ));
        assert!(matches!(
            parse(&[0x42, 0x10, 0x10, 0, 0, 0x06, 0]),
            Err(SmsError::InvalidTimestamp { part: "second", .. })
        ));
        assert_eq!(parse(&[0x42, 0x10]), Err(SmsError::Truncated { field: "TP-SCTS", offset: 0 }));
    }

    #[test]
    fn from_unix_seconds_round_trips() {
        // 2024-03-09T17:35:00Z seen at -03:30 is 14:05 local (Python datetime: 1710005700).
        let t = Timestamp::from_unix_seconds(1_710_005_700, -14).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-09T14:05:00-03:30");
        assert_eq!(t.unix_seconds(), 1_710_005_700);
        for secs in [631_152_000, 951_782_400, 1_709_251_199, 3_786_911_999] {
            for tz in [-79, -1, 0, 1, 79] {
                if let Ok(t) = Timestamp::from_unix_seconds(secs, tz) {
                    assert_eq!(t.unix_seconds(), secs);
                }
            }
        }
        assert!(Timestamp::from_unix_seconds(0, 0).is_err());
    }

    #[test]
    fn constructor_limits() {
        assert!(Timestamp::new((2089, 12, 31), (23, 59, 59), -79).is_ok());
        assert!(Timestamp::new((2090, 1, 1), (0, 0, 0), 0).is_err());
        assert!(Timestamp::new((2024, 4, 31), (0, 0, 0), 0).is_err());
        assert!(Timestamp::new((2024, 4, 30), (0, 0, 0), 80).is_err());
    }
}
