//! The GSM 7-bit alphabets of 3GPP TS 23.038: the default alphabet (§6.2.1), its extension
//! table (§6.2.1.1) and the national language locking / single shift tables of Annex A for
//! Turkish (1), Spanish (2, single shift only) and Portuguese (3).
//!
//! A table maps a septet to a character. In a single shift table, `'\0'` marks a code the
//! table does not define. Code 0x1B is the escape and never looked up in a locking table.

/// The escape septet: the next septet is read from the single shift table.
pub const ESC: u8 = 0x1B;

/// Placeholder for the escape code in locking tables (never emitted by the decoder).
const ESC_SLOT: char = '\u{1B}';

/// Marks an undefined code in a single shift table.
pub(crate) const NONE: char = '\0';

/// TS 23.038 §6.2.1, the GSM 7 bit default alphabet.
pub(crate) const DEFAULT: [char; 128] = [
    // 0x00
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', // 0x10
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ESC_SLOT, 'Æ', 'æ', 'ß', 'É', // 0x20
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', // 0x30
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', // 0x40
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x50
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', // 0x60
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x70
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
];

const fn overlay(mut base: [char; 128], codes: &[(u8, char)]) -> [char; 128] {
    let mut i = 0;
    while i < codes.len() {
        base[(codes[i].0 & 0x7f) as usize] = codes[i].1;
        i += 1;
    }
    base
}

/// TS 23.038 §6.2.1.1, the default alphabet extension table (0x0A is form feed / page break).
/// 0x0D (CR2) and 0x1B (SS2) have no character: they decode as an unknown code.
pub(crate) const DEFAULT_EXTENSION: [char; 128] = overlay(
    [NONE; 128],
    &[
        (0x0A, '\u{0C}'),
        (0x14, '^'),
        (0x28, '{'),
        (0x29, '}'),
        (0x2F, '\\'),
        (0x3C, '['),
        (0x3D, '~'),
        (0x3E, ']'),
        (0x40, '|'),
        (0x65, '€'),
    ],
);

/// TS 23.038 A.3.1, Turkish national language locking shift table.
const TURKISH_LOCKING: [char; 128] = overlay(
    DEFAULT,
    &[(0x04, '€'), (0x07, 'ı'), (0x0B, 'Ğ'), (0x0C, 'ğ'), (0x1C, 'Ş'), (0x1D, 'ş'), (0x40, 'İ'), (0x60, 'ç')],
);

/// TS 23.038 A.3.3, Portuguese national language locking shift table.
const PORTUGUESE_LOCKING: [char; 128] = overlay(
    DEFAULT,
    &[
        (0x04, 'ê'),
        (0x06, 'ú'),
        (0x07, 'í'),
        (0x08, 'ó'),
        (0x09, 'ç'),
        (0x0B, 'Ô'),
        (0x0C, 'ô'),
        (0x0E, 'Á'),
        (0x0F, 'á'),
        (0x12, 'ª'),
        (0x13, 'Ç'),
        (0x14, 'À'),
        (0x15, '∞'),
        (0x16, '^'),
        (0x17, '\\'),
        (0x18, '€'),
        (0x19, 'Ó'),
        (0x1A, '|'),
        (0x1C, 'Â'),
        (0x1D, 'â'),
        (0x1E, 'Ê'),
        (0x24, 'º'),
        (0x40, 'Í'),
        (0x5B, 'Ã'),
        (0x5C, 'Õ'),
        (0x5D, 'Ú'),
        (0x60, '~'),
        (0x7B, 'ã'),
        (0x7C, 'õ'),
        (0x7D, '`'),
    ],
);

/// TS 23.038 A.2.1, Turkish national language single shift table.
const TURKISH_SINGLE: [char; 128] = overlay(
    DEFAULT_EXTENSION,
    &[(0x47, 'Ğ'), (0x49, 'İ'), (0x53, 'Ş'), (0x63, 'ç'), (0x67, 'ğ'), (0x69, 'ı'), (0x73, 'ş')],
);

/// TS 23.038 A.2.2, Spanish national language single shift table.
const SPANISH_SINGLE: [char; 128] = overlay(
    DEFAULT_EXTENSION,
    &[
        (0x09, 'ç'),
        (0x41, 'Á'),
        (0x49, 'Í'),
        (0x4F, 'Ó'),
        (0x55, 'Ú'),
        (0x61, 'á'),
        (0x69, 'í'),
        (0x6F, 'ó'),
        (0x75, 'ú'),
    ],
);

/// TS 23.038 A.2.3, Portuguese national language single shift table.
const PORTUGUESE_SINGLE: [char; 128] = overlay(
    DEFAULT_EXTENSION,
    &[
        (0x05, 'ê'),
        (0x09, 'ç'),
        (0x0B, 'Ô'),
        (0x0C, 'ô'),
        (0x0E, 'Á'),
        (0x0F, 'á'),
        (0x12, 'Φ'),
        (0x13, 'Γ'),
        (0x15, 'Ω'),
        (0x16, 'Π'),
        (0x17, 'Ψ'),
        (0x18, 'Σ'),
        (0x19, 'Θ'),
        (0x1F, 'Ê'),
        (0x41, 'À'),
        (0x49, 'Í'),
        (0x4F, 'Ó'),
        (0x55, 'Ú'),
        (0x5B, 'Ã'),
        (0x5C, 'Õ'),
        (0x61, 'Â'),
        (0x69, 'í'),
        (0x6F, 'ó'),
        (0x75, 'ú'),
        (0x7B, 'ã'),
        (0x7C, 'õ'),
        (0x7F, 'â'),
    ],
);

/// A table's characters as UTF-8, for decoding without per-character work: each entry holds
/// up to three octets (every table character is in the Basic Multilingual Plane) and, last,
/// their count (0 for an undefined code).
pub(crate) type Utf8Table = [[u8; 4]; 128];

/// The UTF-8 octets of a character of the Basic Multilingual Plane, and how many.
const fn utf8(v: u32) -> ([u8; 3], usize) {
    if v < 0x80 {
        ([v as u8, 0, 0], 1)
    } else if v < 0x800 {
        ([0xC0 | (v >> 6) as u8, 0x80 | (v & 0x3F) as u8, 0], 2)
    } else {
        ([0xE0 | (v >> 12) as u8, 0x80 | ((v >> 6) & 0x3F) as u8, 0x80 | (v & 0x3F) as u8], 3)
    }
}

const fn utf8_table(chars: &[char; 128]) -> Utf8Table {
    let mut t = [[0u8; 4]; 128];
    let mut i = 0;
    while i < 128 {
        if chars[i] != NONE {
            let (b, n) = utf8(chars[i] as u32);
            t[i] = [b[0], b[1], b[2], n as u8];
        }
        i += 1;
    }
    t
}

static DEFAULT_UTF8: Utf8Table = utf8_table(&DEFAULT);
static TURKISH_LOCKING_UTF8: Utf8Table = utf8_table(&TURKISH_LOCKING);
static PORTUGUESE_LOCKING_UTF8: Utf8Table = utf8_table(&PORTUGUESE_LOCKING);
static DEFAULT_EXTENSION_UTF8: Utf8Table = utf8_table(&DEFAULT_EXTENSION);
static TURKISH_SINGLE_UTF8: Utf8Table = utf8_table(&TURKISH_SINGLE);
static SPANISH_SINGLE_UTF8: Utf8Table = utf8_table(&SPANISH_SINGLE);
static PORTUGUESE_SINGLE_UTF8: Utf8Table = utf8_table(&PORTUGUESE_SINGLE);

/// The pair of tables one message is decoded with: a locking shift table (the default
/// alphabet unless IEI 0x25 selects another) and a single shift table (the extension table
/// unless IEI 0x24 selects another).
#[derive(Debug, Clone, Copy)]
pub struct Tables {
    pub(crate) locking: &'static [char; 128],
    pub(crate) single: &'static [char; 128],
    locking_utf8: &'static Utf8Table,
    single_utf8: &'static Utf8Table,
}

impl Tables {
    /// The default alphabet and its extension table.
    pub const DEFAULT: Tables = Tables {
        locking: &DEFAULT,
        single: &DEFAULT_EXTENSION,
        locking_utf8: &DEFAULT_UTF8,
        single_utf8: &DEFAULT_EXTENSION_UTF8,
    };

    /// Tables for the national language identifiers (TS 23.038 §6.2.1.2.4) of a locking and a
    /// single shift element. An identifier without a table here (including Spanish locking,
    /// which the spec does not define) falls back to the default table, as the spec tells a
    /// receiver that does not support a language to do.
    pub fn for_languages(locking: Option<u8>, single: Option<u8>) -> Tables {
        let (locking, locking_utf8) = match locking {
            Some(1) => (&TURKISH_LOCKING, &TURKISH_LOCKING_UTF8),
            Some(3) => (&PORTUGUESE_LOCKING, &PORTUGUESE_LOCKING_UTF8),
            _ => (&DEFAULT, &DEFAULT_UTF8),
        };
        let (single, single_utf8) = match single {
            Some(1) => (&TURKISH_SINGLE, &TURKISH_SINGLE_UTF8),
            Some(2) => (&SPANISH_SINGLE, &SPANISH_SINGLE_UTF8),
            Some(3) => (&PORTUGUESE_SINGLE, &PORTUGUESE_SINGLE_UTF8),
            _ => (&DEFAULT_EXTENSION, &DEFAULT_EXTENSION_UTF8),
        };
        Tables { locking, single, locking_utf8, single_utf8 }
    }

    /// [`Tables::plain`] as UTF-8 (see [`Utf8Table`]).
    #[inline]
    pub(crate) fn plain_utf8(&self, septet: u8) -> &[u8; 4] {
        &self.locking_utf8[(septet & 0x7f) as usize]
    }

    /// [`Tables::escaped`] as UTF-8.
    #[inline]
    pub(crate) fn escaped_utf8(&self, septet: u8) -> &[u8; 4] {
        const SPACE: [u8; 4] = [b' ', 0, 0, 1];
        let s = (septet & 0x7f) as usize;
        if s == ESC as usize {
            return &SPACE;
        }
        let e = &self.single_utf8[s];
        if e[3] == 0 {
            &self.locking_utf8[s]
        } else {
            e
        }
    }

    /// The character of a septet read after an escape. TS 23.038 §6.2.1.1: a code the single
    /// shift table does not define shows the locking table's character; a second escape
    /// (reserved for a further extension table) shows a space.
    #[inline]
    pub(crate) fn escaped(&self, septet: u8) -> char {
        let s = (septet & 0x7f) as usize;
        if s == ESC as usize {
            return ' ';
        }
        let c = self.single[s];
        if c == NONE {
            self.locking[s]
        } else {
            c
        }
    }

    #[inline]
    pub(crate) fn plain(&self, septet: u8) -> char {
        self.locking[(septet & 0x7f) as usize]
    }

    /// The septets of one character: `[code]` or `[ESC, code]`; `None` if neither table has it.
    pub fn encode_char(&self, c: char) -> Option<([u8; 2], usize)> {
        if c == ESC_SLOT || c == NONE {
            return None;
        }
        if let Some(i) = self.locking.iter().position(|&x| x == c) {
            return Some(([i as u8, 0], 1));
        }
        self.single.iter().position(|&x| x == c).map(|i| ([ESC, i as u8], 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent() {
        // Every locking table keeps LF, CR, space, digits and Latin letters where the default
        // alphabet has them (TS 23.038 Annex B keeps these common to all tables).
        for t in [&DEFAULT, &TURKISH_LOCKING, &PORTUGUESE_LOCKING] {
            assert_eq!(t[0x0A], '\n');
            assert_eq!(t[0x0D], '\r');
            assert_eq!(t[0x20], ' ');
            assert_eq!(t[0x30], '0');
            assert_eq!(t[0x41], 'A');
            assert_eq!(t[0x7A], 'z');
            assert_eq!(t[0x1B], ESC_SLOT);
            // No character appears twice in one locking table.
            for (i, a) in t.iter().enumerate() {
                assert!(!t[i + 1..].contains(a), "{a:?} twice");
            }
        }
        for t in [&DEFAULT_EXTENSION, &TURKISH_SINGLE, &SPANISH_SINGLE, &PORTUGUESE_SINGLE] {
            assert_eq!(t[0x1B], NONE);
            assert_eq!(t[0x65], '€');
            assert_eq!(t[0x0A], '\u{0C}');
        }
    }

    #[test]
    fn utf8_tables_match_char_tables() {
        for l in [None, Some(1), Some(3)] {
            for si in [None, Some(1), Some(2), Some(3)] {
                let t = Tables::for_languages(l, si);
                for s in 0..128u8 {
                    let check = |e: &[u8; 4], c: char| {
                        let mut b = [0; 4];
                        assert_eq!(&e[..usize::from(e[3])], c.encode_utf8(&mut b).as_bytes());
                    };
                    if s != ESC {
                        check(t.plain_utf8(s), t.plain(s));
                    }
                    check(t.escaped_utf8(s), t.escaped(s));
                }
            }
        }
    }

    #[test]
    fn unknown_escape_shows_locking_character() {
        let t = Tables::DEFAULT;
        assert_eq!(t.escaped(0x65), '€');
        assert_eq!(t.escaped(0x41), 'A');
        assert_eq!(t.escaped(0x1B), ' ');
        let tr = Tables::for_languages(Some(1), None);
        // 0x04 is not in the extension table: the Turkish locking table's '€' is shown.
        assert_eq!(tr.escaped(0x04), '€');
    }

    #[test]
    fn encode_prefers_locking_table() {
        let t = Tables::DEFAULT;
        assert_eq!(t.encode_char('@'), Some(([0, 0], 1)));
        assert_eq!(t.encode_char('€'), Some(([ESC, 0x65], 2)));
        assert_eq!(t.encode_char('\u{1B}'), None);
        assert_eq!(t.encode_char('ş'), None);
        let tr = Tables::for_languages(None, Some(1));
        assert_eq!(tr.encode_char('ş'), Some(([ESC, 0x73], 2)));
        // Spanish has no locking table: the default one is used.
        let es = Tables::for_languages(Some(2), Some(2));
        assert_eq!(es.encode_char('@'), Some(([0, 0], 1)));
        assert_eq!(es.encode_char('ú'), Some(([ESC, 0x75], 2)));
    }
}
