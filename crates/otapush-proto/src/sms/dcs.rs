//! TP-DCS, the data coding scheme (TS 23.038 §4).

/// The character set of the user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// GSM 7-bit default alphabet (also every reserved coding, as §4 tells a receiver).
    Gsm7,
    /// 8-bit data.
    EightBit,
    /// UCS2, read as big-endian UTF-16.
    Ucs2,
}

/// What a message waiting indication group (1100, 1101, 1110) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageWaiting {
    /// Group 1100: the message may be discarded after the indication is updated.
    pub discard: bool,
    /// Bit 3: the indication is set (true) or cleared.
    pub active: bool,
    /// Bits 1-0: 0 voicemail, 1 fax, 2 e-mail, 3 other.
    pub kind: u8,
}

impl MessageWaiting {
    /// `voicemail`, `fax`, `email` or `other` (bits 1-0).
    pub fn kind_str(&self) -> &'static str {
        match self.kind & 3 {
            0 => "voicemail",
            1 => "fax",
            2 => "email",
            _ => "other",
        }
    }
}

/// TP-DCS decoded per TS 23.038 §4. Every octet value decodes (reserved values as GSM 7-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataCoding {
    raw: u8,
}

impl DataCoding {
    /// TP-DCS 0x00: GSM 7-bit default alphabet, no class.
    pub const GSM7: DataCoding = DataCoding { raw: 0x00 };
    /// TP-DCS 0x04: 8-bit data, no class.
    pub const EIGHT_BIT: DataCoding = DataCoding { raw: 0x04 };
    /// TP-DCS 0x08: UCS2, no class.
    pub const UCS2: DataCoding = DataCoding { raw: 0x08 };

    /// The TP-DCS octet as received; every value is accepted.
    pub fn from_octet(raw: u8) -> DataCoding {
        DataCoding { raw }
    }

    /// General data coding (group 00xx) with a message class (0-3) and the given charset.
    pub fn with_class(charset: Charset, class: u8) -> DataCoding {
        let cs = match charset {
            Charset::Gsm7 => 0,
            Charset::EightBit => 0x04,
            Charset::Ucs2 => 0x08,
        };
        DataCoding { raw: 0x10 | cs | (class & 3) }
    }

    /// The TP-DCS octet.
    pub fn octet(&self) -> u8 {
        self.raw
    }

    fn group(&self) -> u8 {
        self.raw >> 4
    }

    /// Groups 00xx and 01xx share the low six bits: compressed, class present, charset, class.
    fn general(&self) -> bool {
        self.group() <= 0x7
    }

    /// The character set of the user data (reserved codings read as GSM 7-bit).
    pub fn charset(&self) -> Charset {
        match self.group() {
            0x0..=0x7 => match (self.raw >> 2) & 3 {
                1 => Charset::EightBit,
                2 => Charset::Ucs2,
                // 00 default alphabet; 11 reserved, read as GSM 7-bit.
                _ => Charset::Gsm7,
            },
            0xE => Charset::Ucs2,
            0xF if self.raw & 0x04 != 0 => Charset::EightBit,
            // 1000-1011 reserved groups, 1100/1101 MWI, 1111 with bit 2 clear.
            _ => Charset::Gsm7,
        }
    }

    /// The `encoding` of `otapushctl decode sms` (docs/cli.md): `gsm7`, `ucs2` or `8bit`.
    pub fn encoding_str(&self) -> &'static str {
        match self.charset() {
            Charset::Gsm7 => "gsm7",
            Charset::EightBit => "8bit",
            Charset::Ucs2 => "ucs2",
        }
    }

    /// Message class 0-3, when the scheme carries one.
    pub fn class(&self) -> Option<u8> {
        match self.group() {
            0x0..=0x7 if self.raw & 0x10 != 0 => Some(self.raw & 3),
            0xF => Some(self.raw & 3),
            _ => None,
        }
    }

    /// The user data is compressed (TS 23.042); otapush reports it and does not decompress.
    pub fn compressed(&self) -> bool {
        self.general() && self.raw & 0x20 != 0
    }

    /// Group 01xx: the message is marked for automatic deletion.
    pub fn auto_delete(&self) -> bool {
        (0x4..=0x7).contains(&self.group())
    }

    /// Groups 1000-1011, reserved (decoded as GSM 7-bit).
    pub fn reserved_group(&self) -> bool {
        (0x8..=0xB).contains(&self.group())
    }

    /// The message waiting indication of groups 1100-1110.
    pub fn mwi(&self) -> Option<MessageWaiting> {
        match self.group() {
            g @ 0xC..=0xE => {
                Some(MessageWaiting { discard: g == 0xC, active: self.raw & 0x08 != 0, kind: self.raw & 3 })
            }
            _ => None,
        }
    }

    /// TP-UDL counts septets (uncompressed GSM 7-bit) rather than octets.
    pub fn counts_septets(&self) -> bool {
        self.charset() == Charset::Gsm7 && !self.compressed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(b: u8) -> DataCoding {
        DataCoding::from_octet(b)
    }

    #[test]
    fn general_group() {
        assert_eq!((d(0x00).encoding_str(), d(0x00).class()), ("gsm7", None));
        assert_eq!((d(0x04).encoding_str(), d(0x08).encoding_str()), ("8bit", "ucs2"));
        // 0x0C: charset bits 11 are reserved → GSM 7-bit.
        assert_eq!(d(0x0C).charset(), Charset::Gsm7);
        // 0x19: class present, UCS2, class 1 (oFono unicode_deliver).
        assert_eq!((d(0x19).charset(), d(0x19).class()), (Charset::Ucs2, Some(1)));
        // 0x03: class bits without bit 4 mean nothing.
        assert_eq!(d(0x03).class(), None);
        // 0x24: compressed 8-bit.
        assert!(d(0x24).compressed() && !d(0x24).counts_septets());
        assert!(!d(0x24).auto_delete());
        assert_eq!(DataCoding::with_class(Charset::EightBit, 1).octet(), 0x15);
    }

    #[test]
    fn automatic_deletion_group_honours_charset() {
        // ModemManager decoded 01xx as GSM 7-bit regardless of the charset bits.
        assert_eq!(d(0x48).charset(), Charset::Ucs2);
        assert_eq!(d(0x44).charset(), Charset::EightBit);
        assert!(d(0x48).auto_delete());
        // 0x53: auto deletion, class 3, GSM 7-bit (oFono test-sms.c charset vectors).
        assert_eq!((d(0x53).charset(), d(0x53).class()), (Charset::Gsm7, Some(3)));
        assert!(d(0x68).compressed());
    }

    #[test]
    fn reserved_mwi_and_class_groups() {
        for b in 0x80..=0xBF {
            assert_eq!(d(b).charset(), Charset::Gsm7, "{b:#x}");
            assert!(d(b).reserved_group() && d(b).class().is_none() && d(b).mwi().is_none());
        }
        // 0xC8: discard, active, voicemail (oFono simple_mwi).
        let m = d(0xC8).mwi().unwrap();
        assert!(m.discard && m.active && m.kind_str() == "voicemail");
        assert_eq!(d(0xC8).charset(), Charset::Gsm7);
        let m = d(0xD2).mwi().unwrap();
        assert!(!m.discard && !m.active && m.kind_str() == "email");
        assert_eq!(d(0xE9).charset(), Charset::Ucs2);
        assert_eq!(d(0xE9).mwi().unwrap().kind_str(), "fax");
        // 1111: bit 2 selects 8-bit, bits 1-0 class.
        assert_eq!((d(0xF5).charset(), d(0xF5).class()), (Charset::EightBit, Some(1)));
        assert_eq!((d(0xF0).charset(), d(0xF0).class()), (Charset::Gsm7, Some(0)));
        assert!(!d(0xF4).compressed());
    }
}
