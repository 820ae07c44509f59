//! TP-SCTS and TP-DT: the service-centre time stamp (TS 23.040 §9.2.3.11).
//!
//! Seven octets of swapped BCD (the first digit in the low nibble): year, month, day, hour,
//! minute, second, time zone. The zone counts quarter hours from UTC; bit 3 of the zone
//! octet is the sign (set = west of UTC). The spec carries two year digits: `yy < 90` is read
//! as 20yy and `yy >= 90` as 19yy, so every date from 1990 to 2089 round-trips.

use super::reader::Reader;
use super::{EncodeError, SmsError};

/// A service-centre time stamp: the local time of the service centre and its UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Full year, 1990-2089.
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Offset from UTC in quarter hours (-79..=79).
    pub tz_quarters: i8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
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
        Ok(Timestamp { year, month, day, hour, minute, second, tz_quarters })
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
        let start = r.offset();
        let raw = r.take(7, field)?;
        let mut v = [0u8; 6];
        for (i, (&b, out)) in raw.iter().zip(v.iter_mut()).enumerate() {
            let (tens, units) = (b & 0x0f, b >> 4);
            if tens > 9 || units > 9 {
                return Err(SmsError::InvalidBcd { field, offset: start + i });
            }
            *out = tens * 10 + units;
        }
        let zone = raw[6];
        let (tens, units) = (zone & 0x07, zone >> 4);
        if units > 9 {
            return Err(SmsError::InvalidBcd { field, offset: start + 6 });
        }
        let quarters = (tens * 10 + units) as i8;
        let tz_quarters = if zone & 0x08 != 0 { -quarters } else { quarters };
        let [yy, month, day, hour, minute, second] = v;
        let year = if yy < 90 { 2000 + u16::from(yy) } else { 1900 + u16::from(yy) };
        let bad = |part, i| Err(SmsError::InvalidTimestamp { field, part, offset: start + i });
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
        Ok(Timestamp { year, month, day, hour, minute, second, tz_quarters })
    }

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
    use super::*;

    fn parse(b: &[u8]) -> Result<Timestamp, SmsError> {
        Timestamp::parse(&mut Reader::new(b), "TP-SCTS")
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
    fn rejects_non_bcd_and_out_of_range() {
        assert_eq!(
            parse(&[0x42, 0x3A, 0x90, 0x41, 0x50, 0x00, 0x49]),
            Err(SmsError::InvalidBcd { field: "TP-SCTS", offset: 1 })
        );
        // Zone units digit 0xA (oFono test-sms.c sr_pdu3 has this zone octet A0).
        assert_eq!(
            parse(&[0x01, 0x90, 0x12, 0x41, 0x30, 0x64, 0xA0]),
            Err(SmsError::InvalidBcd { field: "TP-SCTS", offset: 6 })
        );
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
