//! WSP Date-value (WAP-230 §8.4.2.3: seconds since 1970-01-01 UTC) ↔ HTTP-date in the
//! IMF-fixdate form of RFC 9110 §5.6.7 (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP
//! header values take, so a client can hand a header straight to an HTTP library.

use crate::time::{civil_from_days, days_from_civil};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Formats seconds since the epoch as an IMF-fixdate.
pub(crate) fn format(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let wd = DAYS.get((days % 7) as usize).copied().unwrap_or("Thu");
    let mon = MONTHS.get((m as usize).wrapping_sub(1)).copied().unwrap_or("Jan");
    format!("{wd}, {d:02} {mon} {y:04} {:02}:{:02}:{:02} GMT", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Parses an IMF-fixdate back to seconds; only the exact form [`format`] produces.
pub(crate) fn parse(s: &str) -> Option<u64> {
    let mut it = s.split(' ');
    let wd = it.next()?.strip_suffix(',')?;
    let d: u32 = it.next()?.parse().ok()?;
    let mon = it.next()?;
    let y: i64 = it.next()?.parse().ok()?;
    let hms = it.next()?;
    if it.next()? != "GMT" || it.next().is_some() {
        return None;
    }
    let m = MONTHS.iter().position(|x| *x == mon)? as u32 + 1;
    let mut t = hms.split(':').map(|p| p.parse::<u64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if t.next().is_some() || hh > 23 || mm > 59 || ss > 59 || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    let secs = u64::try_from(days).ok()?.checked_mul(86400)?.checked_add(hh * 3600 + mm * 60 + ss)?;
    // Reject impossible dates and wrong weekdays by formatting back.
    (format(secs) == s && DAYS.contains(&wd)).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // RFC 9110's own example.
        assert_eq!(format(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(format(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse("Mon, 06 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(parse("Sun, 31 Feb 1994 08:49:37 GMT"), None);
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37"), None);
        for s in [0u64, 1, 86399, 86400, 1_700_000_000, 4_102_444_800, u32::MAX as u64] {
            assert_eq!(parse(&format(s)), Some(s));
        }
    }
}
