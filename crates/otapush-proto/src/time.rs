//! Calendar arithmetic and RFC 3339 formatting. Pure: the clock is read in the daemon crate
//! (`otapush::time::now_ms`).

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The date (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats a local date-time with its offset from UTC, e.g. `2024-03-09T14:05:00-03:30`.
pub fn format_rfc3339(date: (i64, u32, u32), time: (u32, u32, u32), offset_minutes: i32) -> String {
    let b = rfc3339_bytes(date, time, offset_minutes);
    // Every byte of `b` is ASCII, so this is one copy into a fitting allocation.
    String::from_utf8_lossy(&b).into_owned()
}

/// [`format_rfc3339`] into a stack buffer, for writers that need no `String`. Hand-written (no
/// `format!`): it runs once per received segment and once per decoded PDU.
pub fn rfc3339_bytes(
    (year, month, day): (i64, u32, u32),
    (hour, minute, second): (u32, u32, u32),
    offset_minutes: i32,
) -> [u8; 25] {
    fn two(out: &mut [u8], at: usize, v: u32) {
        out[at] = b'0' + (v / 10 % 10) as u8;
        out[at + 1] = b'0' + (v % 10) as u8;
    }
    let mut b = *b"0000-00-00T00:00:00+00:00";
    let y = year.clamp(0, 9999) as u32;
    two(&mut b, 0, y / 100);
    two(&mut b, 2, y % 100);
    two(&mut b, 5, month);
    two(&mut b, 8, day);
    two(&mut b, 11, hour);
    two(&mut b, 14, minute);
    two(&mut b, 17, second);
    if offset_minutes < 0 {
        b[19] = b'-';
    }
    let off = offset_minutes.unsigned_abs();
    two(&mut b, 20, off / 60);
    two(&mut b, 23, off % 60);
    b
}

/// Formats Unix milliseconds as RFC 3339 in UTC (`+00:00`), second precision.
pub fn format_unix_ms(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400) as u32;
    format_rfc3339(civil_from_days(days), (rem / 3600, rem / 60 % 60, rem % 60), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        for d in [-1000, -1, 0, 59, 11016, 11017, 20000, 50000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_unix_ms(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(format_unix_ms(951_782_400_000), "2000-02-29T00:00:00+00:00");
        assert_eq!(format_rfc3339((2024, 3, 9), (14, 5, 0), -210), "2024-03-09T14:05:00-03:30");
    }
}
