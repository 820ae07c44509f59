//! Packing of GSM 7-bit septets into octets (TS 23.038 §6.1.2.1.1) and text conversion
//! through an [`alphabet::Tables`](super::alphabet::Tables) pair.
//!
//! Septet `n` of a packed field starts at bit `7 * n` (bit 0 = least significant bit of the
//! first octet). A user data header occupies the first septets of the field, so the text
//! after a header starts at septet `ceil(8 * header_octets / 7)`: the fill bits of
//! TS 23.040 §9.2.3.24 fall out of that arithmetic.

use super::alphabet::{Tables, ESC};

/// Calls `f` with septets `first..first + count` of a packed field. Septets past the end of
/// `packed` read as zero bits, so a caller that checked the field length never sees them.
#[inline]
pub(crate) fn unpack(packed: &[u8], first: usize, count: usize, mut f: impl FnMut(u8)) {
    let bit = first * 7;
    let mut idx = bit / 8;
    let mut acc: u32 = 0;
    let mut have: u32 = 0;
    // Prime the accumulator with the octet holding the first septet, minus the bits before it.
    if count > 0 {
        acc = u32::from(packed.get(idx).copied().unwrap_or(0)) >> (bit % 8);
        have = 8 - (bit % 8) as u32;
        idx += 1;
    }
    for _ in 0..count {
        if have < 7 {
            acc |= u32::from(packed.get(idx).copied().unwrap_or(0)) << have;
            have += 8;
            idx += 1;
        }
        f((acc & 0x7f) as u8);
        acc >>= 7;
        have -= 7;
    }
}

/// Packs `septets` into `out`, the first one at septet position `first` of a field whose
/// earlier octets are already in `out` (a user data header). Grows `out` as needed.
pub(crate) fn pack(out: &mut Vec<u8>, field_start: usize, first: usize, septets: &[u8]) {
    let need = field_start + ((first + septets.len()) * 7).div_ceil(8);
    if out.len() < need {
        out.resize(need, 0);
    }
    for (i, &s) in septets.iter().enumerate() {
        let bit = (first + i) * 7;
        let (idx, shift) = (field_start + bit / 8, bit % 8);
        let v = u16::from(s & 0x7f) << shift;
        if let Some(b) = out.get_mut(idx) {
            *b |= v as u8;
        }
        if shift > 1 {
            if let Some(b) = out.get_mut(idx + 1) {
                *b |= (v >> 8) as u8;
            }
        }
    }
}

/// Decodes `count` septets from septet `first` of `packed`, handing each character to `emit`.
/// An escape at the very end (cut off from its code) shows as a space (TS 23.038 §6.2.1, note 1).
#[inline]
pub(crate) fn decode_with(
    packed: &[u8],
    first: usize,
    count: usize,
    tables: &Tables,
    mut emit: impl FnMut(char),
) {
    let mut escaped = false;
    unpack(packed, first, count, |s| {
        if escaped {
            escaped = false;
            emit(tables.escaped(s));
        } else if s == ESC {
            escaped = true;
        } else {
            emit(tables.plain(s));
        }
    });
    if escaped {
        emit(' ');
    }
}

/// Most octets and septets of a user data field.
const MAX_OCTETS: usize = 140;
const MAX_SEPTETS: usize = 160;

/// Room for the UTF-8 of a user data field: 3 octets per septet, plus the 4-octet width of
/// the last write.
type TextBuf = [u8; TEXT_MASK + 1 + 4];
const TEXT_MASK: usize = 511;
const _: () = assert!(3 * MAX_SEPTETS < TEXT_MASK);

/// [`decode_with`] for a user data field (at most 140 octets / 160 septets; `None` for more):
/// unpacked 7 octets to 8 septets at a time and converted through the UTF-8 tables into `buf`
/// in the same pass.
#[inline(always)]
fn decode_str<'b>(
    packed: &[u8],
    first: usize,
    count: usize,
    tables: &Tables,
    buf: &'b mut TextBuf,
) -> Option<&'b str> {
    let end = first + count;
    if packed.len() > MAX_OCTETS || end > MAX_SEPTETS {
        return None;
    }
    let mut padded = [0u8; MAX_OCTETS];
    if let (Some(dst), Some(src)) = (padded.get_mut(..packed.len()), packed.get(..)) {
        dst.copy_from_slice(src);
    }
    let mut n = 0;
    let mut escaped = false;
    // `n` stays below 3 * 160 + 1; the mask only lets the compiler see the write fits.
    let mut put = |e: &[u8; 4]| {
        let at = n & (TEXT_MASK);
        buf[at..at + 4].copy_from_slice(e);
        n = at + usize::from(e[3]);
    };
    let mut i = first;
    while i < end {
        let at = i / 8 * 7;
        let c = padded.get(at..at + 7)?;
        let mut v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], 0]) >> (7 * (i % 8));
        let stop = end.min(i / 8 * 8 + 8);
        while i < stop {
            let s = (v & 0x7f) as u8;
            v >>= 7;
            i += 1;
            if escaped {
                escaped = false;
                put(tables.escaped_utf8(s));
            } else if s == ESC {
                escaped = true;
            } else {
                put(tables.plain_utf8(s));
            }
        }
    }
    // An escape cut off at the end shows as a space, like a second escape.
    if escaped {
        put(tables.escaped_utf8(ESC));
    }
    // The buffer holds whole UTF-8 sequences from the tables, so this cannot fail.
    std::str::from_utf8(buf.get(..n).unwrap_or_default()).ok()
}

/// [`decode_with`] into a new string of the text's length, through [`decode_str`] when the
/// field allows.
pub(crate) fn decode_string(packed: &[u8], first: usize, count: usize, tables: &Tables) -> String {
    let mut buf: TextBuf = [0; TEXT_MASK + 1 + 4];
    match decode_str(packed, first, count, tables, &mut buf) {
        Some(s) => String::from(s),
        None => {
            let mut out = String::with_capacity(count);
            decode_with(packed, first, count, tables, |c| out.push(c));
            out
        }
    }
}

/// [`decode_with`] appending to a string, through [`decode_str`] when the field allows.
pub(crate) fn decode_into(packed: &[u8], first: usize, count: usize, tables: &Tables, out: &mut String) {
    let mut buf: TextBuf = [0; TEXT_MASK + 1 + 4];
    match decode_str(packed, first, count, tables, &mut buf) {
        Some(s) => {
            out.reserve_exact(s.len());
            out.push_str(s);
        }
        None => {
            out.reserve(count);
            decode_with(packed, first, count, tables, |c| out.push(c));
        }
    }
}

/// The septets of `text` (escapes included), or the first character neither table has.
pub(crate) fn encode(text: &str, tables: &Tables) -> Result<Vec<u8>, (usize, char)> {
    let mut out = Vec::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        let (s, n) = tables.encode_char(c).ok_or((i, c))?;
        out.extend_from_slice(&s[..n]);
    }
    Ok(out)
}

/// How many septets `c` takes with `tables` (1 or 2), or `None` if it cannot be encoded.
pub(crate) fn septets_of(c: char, tables: &Tables) -> Option<usize> {
    tables.encode_char(c).map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack_vec(packed: &[u8], first: usize, count: usize) -> Vec<u8> {
        let mut v = Vec::new();
        unpack(packed, first, count, |s| v.push(s));
        v
    }

    #[test]
    fn spec_packing_example() {
        // "hellohello" packed (TS 23.038 §6.1.2.1.1 scheme; the classic PDU example's user
        // data E8329BFD4697D9EC37): 'h'=0x68, 'e'=0x65, 'l'=0x6C, 'o'=0x6F.
        let packed = [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37];
        let mut s = String::new();
        decode_into(&packed, 0, 10, &Tables::DEFAULT, &mut s);
        assert_eq!(s, "hellohello");
        let mut out = Vec::new();
        pack(&mut out, 0, 0, &encode("hellohello", &Tables::DEFAULT).unwrap());
        assert_eq!(out, packed);
    }

    #[test]
    fn pack_unpack_with_offset() {
        for first in 0..10 {
            let septets: Vec<u8> = (0..23).map(|i| (i * 37 % 128) as u8).collect();
            let mut out = vec![0xAA; 3];
            // A header of 3 octets occupies ceil(24/7) = 4 septets; start at or after that.
            let start = 4 + first;
            pack(&mut out, 0, start, &septets);
            assert_eq!(&out[..3], &[0xAA; 3], "header untouched");
            assert_eq!(unpack_vec(&out, start, septets.len()), septets);
            assert_eq!(out.len(), ((start + septets.len()) * 7).div_ceil(8));
        }
    }

    #[test]
    fn lone_escape_and_double_escape() {
        // ESC ESC 'A' ESC(end): space (reserved SS2), 'A', trailing escape as a space.
        let mut out = Vec::new();
        pack(&mut out, 0, 0, &[0x1B, 0x1B, 0x41, 0x1B]);
        let mut s = String::new();
        decode_into(&out, 0, 4, &Tables::DEFAULT, &mut s);
        assert_eq!(s, " A ");
    }

    #[test]
    fn fast_path_matches_septet_by_septet() {
        // Every septet value, with escapes before every code, at every start offset 0-7.
        let septets: Vec<u8> = (0..128u8).flat_map(|s| [s, 0x1B, s]).take(159).collect();
        for first in 0..8 {
            let mut packed = Vec::new();
            pack(&mut packed, 0, first, &septets[..160 - first - 1]);
            let count = 160 - 2 * first - 1;
            for tables in [Tables::DEFAULT, Tables::for_languages(Some(3), Some(1))] {
                let mut fast = String::new();
                decode_into(&packed, first, count, &tables, &mut fast);
                let mut slow = String::new();
                decode_with(&packed, first, count, &tables, |c| slow.push(c));
                assert_eq!(fast, slow, "first {first}");
            }
        }
    }

    proptest::proptest! {
        /// Arbitrary fields (cut-off escapes, codes a national table lacks, every start) under
        /// every language pair: the one-pass path agrees with the septet-by-septet one.
        #[test]
        fn fast_path_matches_on_arbitrary_fields(
            packed in proptest::collection::vec(proptest::num::u8::ANY, 0..=MAX_OCTETS),
            first in 0usize..MAX_SEPTETS,
            count in 0usize..=MAX_SEPTETS,
            locking in 0u8..14,
            single in 0u8..14,
        ) {
            let count = count.min(MAX_SEPTETS - first);
            let tables = Tables::for_languages(Some(locking), Some(single));
            let mut fast = String::new();
            decode_into(&packed, first, count, &tables, &mut fast);
            let mut slow = String::new();
            decode_with(&packed, first, count, &tables, |c| slow.push(c));
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn unpack_past_end_reads_zero() {
        assert_eq!(unpack_vec(&[], 0, 2), vec![0, 0]);
        assert_eq!(unpack_vec(&[0xFF], 1, 2), vec![0x01, 0]);
    }
}
