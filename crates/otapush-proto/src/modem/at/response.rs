//! Grammars of the information responses and URCs the intake reads (TS 27.005 §3, §4; TS
//! 27.007 §8.9), tolerant of the reply shapes real modems print (docs/modem.md, Reply shapes).

use crate::modem::Location;
use at_commands::parser::CommandParser;
use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{digit1, space0};
use nom::combinator::{map, map_res, opt};
use nom::multi::separated_list1;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};
use std::ops::RangeInclusive;
use thiserror::Error;

/// A response line that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot parse {what} at offset {offset} of {line:?}")]
pub struct AtParseError {
    /// What was being parsed.
    pub what: &'static str,
    /// The line.
    pub line: String,
    /// The octet offset in `line` where it went wrong.
    pub offset: usize,
}

fn err(what: &'static str, line: &str, offset: usize) -> AtParseError {
    AtParseError { what, line: line.to_string(), offset }
}

/// Splits a parameter list at top-level commas (outside quotes and parentheses). Fields are
/// trimmed; an empty field stays an empty string.
pub fn split_fields(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth <= 0 => {
                out.push(s.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or("").trim());
    out
}

/// Removes one level of surrounding parentheses and quotes.
fn unwrap(s: &str) -> &str {
    let s = s.trim();
    let s = s.strip_prefix('(').and_then(|x| x.strip_suffix(')')).unwrap_or(s);
    s.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(s)
}

/// Whether `line` holds a run of more than 9 digits. `at-commands`' integer parser overflows on
/// those (a panic with overflow checks, a wrapped number without), so such lines are refused
/// before they reach it (found by the `at` fuzz target).
fn has_long_number(line: &str) -> bool {
    line.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() > 9)
}

/// `+CMTI: <mem>,<index>` / `+CDSI: <mem>,<index>` (TS 27.005 §3.4.1): the storage and index.
pub fn parse_stored_indication(line: &str, prefix: &str) -> Result<Location, AtParseError> {
    if has_long_number(line) {
        return Err(err("storage index", line, prefix.len()));
    }
    let (mem, index) = CommandParser::parse(line.as_bytes())
        .expect_identifier(prefix.as_bytes())
        .expect_string_parameter()
        .expect_int_parameter()
        .finish()
        .map_err(|_| err("storage indication", line, prefix.len()))?;
    let index = u32::try_from(index).map_err(|_| err("storage index", line, prefix.len()))?;
    Ok(Location::new(mem, index))
}

/// `+CIEV: <ind>,<value>` (TS 27.007 §8.10).
pub fn parse_ciev(line: &str) -> Result<(u32, i32), AtParseError> {
    if has_long_number(line) {
        return Err(err("+CIEV", line, 6));
    }
    let (ind, value) = CommandParser::parse(line.as_bytes())
        .expect_identifier(b"+CIEV:")
        .expect_int_parameter()
        .expect_int_parameter()
        .finish()
        .map_err(|_| err("+CIEV", line, 6))?;
    Ok((u32::try_from(ind).map_err(|_| err("+CIEV indicator", line, 6))?, value))
}

/// The header of a PDU-mode listing or indication: `+CMGR: <stat>,[<alpha>],<length>`,
/// `+CMGL: <index>,<stat>,[<alpha>],<length>`, `+CMT: [<alpha>],<length>`, `+CDS: <length>`.
/// Alpha may be empty (`""`) or missing; a PDU may follow on the same line after a space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduHeader {
    /// Fields before the length (index/stat/alpha as printed).
    pub fields: Vec<String>,
    /// TPDU length in octets, not counting the SMSC address (TS 27.005 §3.1 `<length>`).
    pub length: usize,
    /// A PDU printed on the header line itself.
    pub inline_pdu: Option<String>,
}

/// The header line of a PDU-mode `+CMGR`/`+CMGL`/`+CMT`/`+CDS` (TS 27.005 §3.4.1, §4.1),
/// after `prefix`.
pub fn parse_pdu_header(line: &str, prefix: &str) -> Result<PduHeader, AtParseError> {
    let rest = line.strip_prefix(prefix).ok_or_else(|| err("PDU header prefix", line, 0))?;
    let mut fields: Vec<String> = split_fields(rest).into_iter().map(str::to_string).collect();
    let last = fields.pop().unwrap_or_default();
    let (len_text, inline) = match last.split_once(' ') {
        Some((l, p)) => (l.to_string(), Some(p.trim().to_string()).filter(|p| !p.is_empty())),
        None => (last, None),
    };
    let length =
        len_text.trim().parse::<usize>().map_err(|_| err("PDU length", line, line.len() - rest.len()))?;
    Ok(PduHeader { fields, length, inline_pdu: inline })
}

impl PduHeader {
    /// The first field as a number (the index of a `+CMGL` entry, the stat of a `+CMGR`).
    pub fn number(&self, i: usize) -> Option<u32> {
        self.fields.get(i).and_then(|f| f.trim().parse().ok())
    }
}

/// The hex digits of a PDU line, without surrounding quotes or trailing junk (gammu has seen a
/// trailing `"`). Returns the digits and whether anything was cut off.
pub fn pdu_hex(line: &str) -> Option<(&str, bool)> {
    let t = line.trim().trim_start_matches('"');
    let end = t.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(t.len());
    let hex = t.get(..end)?;
    if hex.is_empty() {
        return None;
    }
    let hex = if hex.len() % 2 == 1 { hex.get(..hex.len() - 1)? } else { hex };
    // A lone digit (e.g. the `E` of `ERROR`) is no PDU either.
    if hex.is_empty() {
        return None;
    }
    Some((hex, end < t.len() || hex.len() != end))
}

/// Whether a whole line looks like a PDU (hex digits, maybe with a trailing quote).
pub fn looks_like_pdu(line: &str) -> bool {
    matches!(pdu_hex(line), Some((h, _)) if h.len() >= 4)
        && line.trim().trim_matches('"').chars().all(|c| c.is_ascii_hexdigit())
}

/// Makes sure a PDU starts with the SMSC address (TS 27.005 §3.1 `<pdu>`: SC address followed
/// by the TPDU). `<length>` counts the TPDU only, so a PDU exactly `tpdu_len` long has no SMSC
/// part (some modems print `+CDS` that way): prepend `00` ("no SMSC address").
pub fn with_smsc_prefix(bytes: Vec<u8>, tpdu_len: usize) -> Vec<u8> {
    if bytes.len() == tpdu_len {
        let mut v = Vec::with_capacity(bytes.len() + 1);
        v.push(0);
        v.extend_from_slice(&bytes);
        return v;
    }
    if let Some(&sca) = bytes.first() {
        if (sca as usize + 1).checked_add(tpdu_len) != Some(bytes.len()) {
            log::warn!(
                "modem: PDU of {} octets does not match <length> {} + SMSC {}; passing it on as is",
                bytes.len(),
                tpdu_len,
                sca
            );
        }
    }
    bytes
}

/// One `=?` range list `(0-2)` or `(0,1,3)` or `0-2` (TS 27.007 §4.1 test command syntax).
fn int(i: &str) -> IResult<&str, i32> {
    map_res(digit1, str::parse::<i32>).parse(i)
}

fn range_item(i: &str) -> IResult<&str, RangeInclusive<i32>> {
    alt((
        map((int, preceded(space0, tag("-")), preceded(space0, int)), |(a, _, b)| a..=b),
        map(int, |a| a..=a),
    ))
    .parse(i)
}

fn range_list(i: &str) -> IResult<&str, Vec<RangeInclusive<i32>>> {
    separated_list1(delimited(space0, tag(","), space0), range_item).parse(i)
}

/// The values a parameter of a test command accepts, one entry per parameter.
pub type ParamRanges = Vec<Vec<RangeInclusive<i32>>>;

/// `+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)` (TS 27.005 §3.4.1); parameters that print no list
/// become empty (accept anything is not assumed: an empty list matches nothing).
pub fn parse_int_ranges(line: &str, prefix: &str) -> Result<ParamRanges, AtParseError> {
    let rest = line.strip_prefix(prefix).ok_or_else(|| err("test response prefix", line, 0))?;
    let mut out = Vec::new();
    for f in split_fields(rest) {
        let inner = unwrap(f);
        if inner.is_empty() {
            out.push(Vec::new());
            continue;
        }
        let parsed: IResult<&str, _> = (opt(tag("(")), range_list, opt(tag(")"))).parse(inner);
        match parsed {
            Ok((_, (_, list, _))) => out.push(list),
            Err(_) => return Err(err("range list", line, line.len() - rest.len())),
        }
    }
    Ok(out)
}

/// `+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")` (TS 27.005 §3.2.2): the storages each of mem1,
/// mem2, mem3 accepts. Nested parentheses (Wavecom) are flattened; a list without parentheses
/// (Huawei MU609) applies to all three; an empty list (Samsung) yields three empty lists.
pub fn parse_cpms_test(line: &str) -> Vec<Vec<String>> {
    let rest = line.strip_prefix("+CPMS:").unwrap_or(line).trim();
    let mut rest = rest;
    // `((…),(…))`: one outer level around everything.
    while rest.starts_with("((") && rest.ends_with("))") {
        rest = rest.get(1..rest.len() - 1).unwrap_or("");
    }
    let names = |g: &str| -> Vec<String> {
        let g = g.trim();
        let g = g.strip_prefix('(').and_then(|x| x.strip_suffix(')')).unwrap_or(g);
        split_fields(g).into_iter().map(|n| unwrap(n).to_string()).filter(|n| !n.is_empty()).collect()
    };
    if !rest.contains('(') {
        let all = names(rest);
        return vec![all.clone(), all.clone(), all];
    }
    let mut groups: Vec<Vec<String>> = split_fields(rest).into_iter().map(names).collect();
    while groups.len() < 3 {
        let last = groups.last().cloned().unwrap_or_default();
        groups.push(last);
    }
    groups
}

/// One storage's usage from `+CPMS?` or a `+CPMS=` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageUsage {
    /// The storage name (`+CPMS?`), or empty for the unnamed `+CPMS=` reply.
    pub mem: String,
    /// Messages stored.
    pub used: u32,
    /// Messages it can hold.
    pub total: u32,
}

impl StorageUsage {
    /// No free slot.
    pub fn is_full(&self) -> bool {
        self.total > 0 && self.used >= self.total
    }
}

/// `+CPMS: "SM",1,10,"ME",0,20,…` (query) or `+CPMS: 1,10,0,20,…` (set reply).
pub fn parse_cpms_usage(line: &str) -> Result<Vec<StorageUsage>, AtParseError> {
    let rest = line.strip_prefix("+CPMS:").ok_or_else(|| err("+CPMS", line, 0))?;
    let fields = split_fields(rest);
    let named = fields.first().is_some_and(|f| f.starts_with('"'));
    let step = if named { 3 } else { 2 };
    let num = |f: &str, off: usize| f.parse::<u32>().map_err(|_| err("+CPMS usage", line, off));
    let mut out = Vec::new();
    for (i, ch) in fields.chunks(step).enumerate() {
        if ch.len() < step {
            if ch.iter().all(|f| f.is_empty()) {
                break;
            }
            return Err(err("+CPMS usage", line, i));
        }
        let (mem, u, t) = if named { (unwrap(ch[0]), ch[1], ch[2]) } else { ("", ch[0], ch[1]) };
        out.push(StorageUsage { mem: mem.to_string(), used: num(u, i)?, total: num(t, i)? });
    }
    Ok(out)
}

/// The 1-based position of the `smsfull` indicator in `+CIND: ("battchg",(0-5)),…`
/// (TS 27.007 §8.9), if listed.
pub fn parse_cind_smsfull(line: &str) -> Option<u32> {
    let rest = line.strip_prefix("+CIND:")?;
    split_fields(rest)
        .iter()
        .position(|g| {
            let name = split_fields(unwrap(g)).first().map(|n| unwrap(n).to_ascii_lowercase());
            name.as_deref() == Some("smsfull")
        })
        .and_then(|p| u32::try_from(p + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_too_long_for_i32_are_errors_not_overflows() {
        // Found by the `at` fuzz target: at-commands' parser overflowed on these.
        assert!(parse_ciev("+CIEV: 99999999999,1").is_err());
        assert!(parse_ciev("+CIEV: 1,-2147483648").is_err());
        assert!(parse_stored_indication("+CMTI: \"SM\",4294967299", "+CMTI:").is_err());
        assert_eq!(parse_stored_indication("+CMTI: \"SM\",999999999", "+CMTI:").unwrap().index, 999_999_999);
        assert_eq!(parse_ciev("+CIEV: 7,-999999999").unwrap(), (7, -999_999_999));
    }

    #[test]
    fn stored_indications() {
        assert_eq!(parse_stored_indication("+CMTI: \"SM\",3", "+CMTI:").unwrap(), Location::new("SM", 3));
        assert_eq!(parse_stored_indication("+CMTI:\"ME\",12", "+CMTI:").unwrap(), Location::new("ME", 12));
        assert!(parse_stored_indication("+CMTI: \"SM\"", "+CMTI:").is_err());
        assert!(parse_stored_indication("+CMTI: \"SM\",-1", "+CMTI:").is_err());
        assert_eq!(parse_ciev("+CIEV: 7,1").unwrap(), (7, 1));
    }

    #[test]
    fn pdu_headers() {
        let h = parse_pdu_header("+CMGR: 0,,23", "+CMGR:").unwrap();
        assert_eq!((h.number(0), h.length, h.inline_pdu), (Some(0), 23, None));
        let h = parse_pdu_header("+CMGR: 1,\"\",23", "+CMGR:").unwrap();
        assert_eq!((h.fields.len(), h.length), (2, 23));
        let h = parse_pdu_header("+CMGR: 0,23", "+CMGR:").unwrap();
        assert_eq!((h.fields.len(), h.length), (1, 23));
        let h = parse_pdu_header("+CMGR: 0,,5 0011AABBCCDD", "+CMGR:").unwrap();
        assert_eq!((h.length, h.inline_pdu.as_deref()), (5, Some("0011AABBCCDD")));
        let h = parse_pdu_header("+CMGL: 4,1,,23", "+CMGL:").unwrap();
        assert_eq!((h.number(0), h.number(1), h.length), (Some(4), Some(1), 23));
        assert_eq!(parse_pdu_header("+CMT: ,23", "+CMT:").unwrap().length, 23);
        assert_eq!(parse_pdu_header("+CMT: 23", "+CMT:").unwrap().length, 23);
        assert_eq!(parse_pdu_header("+CDS: ,25", "+CDS:").unwrap().length, 25);
        assert!(parse_pdu_header("+CMGR: 0,,x", "+CMGR:").is_err());
    }

    #[test]
    fn pdu_lines() {
        assert_eq!(pdu_hex("07911326\""), Some(("07911326", true)));
        assert_eq!(pdu_hex("0791132"), Some(("079113", true)));
        assert_eq!(pdu_hex("0791"), Some(("0791", false)));
        assert_eq!(pdu_hex("OK"), None);
        // One hex digit before the junk: nothing is left once the odd digit is dropped
        // (found by the `at` fuzz target).
        assert_eq!(pdu_hex("ERROR"), None);
        assert_eq!(pdu_hex("A"), None);
        assert!(looks_like_pdu("0791AB\""));
        assert!(!looks_like_pdu("RDY"));
        assert!(!looks_like_pdu("+CMTI: \"SM\",1"));
    }

    #[test]
    fn smsc_prefix() {
        // TPDU of 3 octets, printed without the SMSC part: gains `00`.
        assert_eq!(with_smsc_prefix(vec![6, 1, 2], 3), vec![0, 6, 1, 2]);
        // SMSC length 1 (`01 91`?): 1 + 1 + 3 = 5 octets: left alone.
        assert_eq!(with_smsc_prefix(vec![1, 0x91, 6, 1, 2], 3), vec![1, 0x91, 6, 1, 2]);
        // A `<length>` near usize::MAX (any number the modem prints parses): no overflow.
        assert_eq!(with_smsc_prefix(vec![1, 0x91, 6], usize::MAX), vec![1, 0x91, 6]);
    }

    #[test]
    fn int_ranges() {
        let r = parse_int_ranges("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)", "+CNMI:").unwrap();
        assert_eq!(r.len(), 5);
        assert_eq!(r[2], vec![0..=0, 2..=2]);
        assert_eq!(r[0], vec![0..=2]);
        let r = parse_int_ranges("+CNMI: (0,1,2),(0-3),(0,2),(0,1),(0,1)", "+CNMI:").unwrap();
        assert!(r[0].iter().any(|x| x.contains(&1)));
        assert!(parse_int_ranges("+CNMI: (a-b)", "+CNMI:").is_err());
    }

    #[test]
    fn cpms_test_shapes() {
        let all = vec!["SM".to_string(), "ME".to_string()];
        assert_eq!(parse_cpms_test("+CPMS: (\"SM\",\"ME\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")")[2], all);
        let w = parse_cpms_test("+CPMS: ((\"SM\",\"BM\",\"SR\"),(\"SM\"))");
        assert_eq!(w[0], vec!["SM", "BM", "SR"]);
        assert_eq!(w[1], vec!["SM"]);
        assert_eq!(w[2], vec!["SM"]);
        assert_eq!(parse_cpms_test("+CPMS: \"SM\",\"ME\"")[1], all);
        assert!(parse_cpms_test("+CPMS: ").iter().all(|g| g.is_empty()));
    }

    #[test]
    fn cpms_usage() {
        let u = parse_cpms_usage("+CPMS: \"SM\",10,10,\"ME\",0,20,\"SM\",10,10").unwrap();
        assert_eq!(u.len(), 3);
        assert!(u[0].is_full() && !u[1].is_full());
        assert_eq!(u[1].mem, "ME");
        let u = parse_cpms_usage("+CPMS: 1,10,1,10,1,10").unwrap();
        assert_eq!(u[0], StorageUsage { mem: String::new(), used: 1, total: 10 });
        assert!(parse_cpms_usage("+CPMS: \"SM\",x,10").is_err());
    }

    #[test]
    fn cind() {
        let l = "+CIND: (\"battchg\",(0-5)),(\"signal\",(0-5)),(\"smsfull\",(0,1))";
        assert_eq!(parse_cind_smsfull(l), Some(3));
        assert_eq!(parse_cind_smsfull("+CIND: (\"battchg\",(0-5))"), None);
    }
}
