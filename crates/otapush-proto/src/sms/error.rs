//! Why a PDU could not be decoded or built.

use thiserror::Error;

/// A decoding failure: what was wrong and the octet offset in the PDU as given (SMSC prefix
/// included when present).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SmsError {
    /// The PDU ends inside a field.
    #[error("{field} truncated at octet {offset}")]
    Truncated {
        /// The field (TS 23.040 name, e.g. `TP-OA`).
        field: &'static str,
        /// Where the field starts.
        offset: usize,
    },
    /// TP-MTI is neither SMS-DELIVER (00) nor SMS-STATUS-REPORT (10) (TS 23.040 §9.2.3.1).
    #[error(
        "unsupported message type TP-MTI={mti} at octet {offset} (only SMS-DELIVER and SMS-STATUS-REPORT)"
    )]
    UnsupportedMessageType {
        /// The two TP-MTI bits.
        mti: u8,
        /// The first octet's offset.
        offset: usize,
    },
    /// An address longer than 20 digits (TS 23.040 §9.1.2.5) or an SMSC field of more than 11
    /// octets (TS 24.011 §8.2.5.1).
    #[error("{field}: invalid address length {length} at octet {offset}")]
    InvalidAddressLength {
        /// The address field.
        field: &'static str,
        /// The length octet.
        length: u8,
        /// The length octet's offset.
        offset: usize,
    },
    /// A semi-octet above 9 where a digit is needed.
    #[error("{field}: non-BCD digit at octet {offset}")]
    InvalidBcd {
        /// The field.
        field: &'static str,
        /// The octet's offset.
        offset: usize,
    },
    /// A time stamp part out of range (TS 23.040 §9.2.3.11).
    #[error("{field}: {part} out of range at octet {offset}")]
    InvalidTimestamp {
        /// `TP-SCTS` or `TP-DT`.
        field: &'static str,
        /// `month`, `hour`, `time zone`, ….
        part: &'static str,
        /// The field's offset.
        offset: usize,
    },
    /// TP-UDL asks for more than 140 octets of user data (TS 23.040 §9.2.3.16).
    #[error("TP-UDL {udl} needs {octets} octets, more than 140, at octet {offset}")]
    UserDataTooLong {
        /// TP-UDL as sent.
        udl: u8,
        /// The octets it implies.
        octets: usize,
        /// TP-UDL's offset.
        offset: usize,
    },
    /// A user data header that cannot be read at all (TS 23.040 §9.2.3.24).
    #[error("malformed user data header at octet {offset}: {reason}")]
    InvalidUdh {
        /// What is wrong.
        reason: &'static str,
        /// The header's offset.
        offset: usize,
    },
}

/// Why a PDU could not be built from the given values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A character the chosen alphabet (TS 23.038 §6.2.1) lacks.
    #[error("character {ch:?} at position {position} cannot be encoded in {alphabet}")]
    Unencodable {
        /// The character.
        ch: char,
        /// Its index in the text, in characters.
        position: usize,
        /// The alphabet's name.
        alphabet: &'static str,
    },
    /// An address that TS 23.040 §9.1.2.5 cannot carry (the reason).
    #[error("invalid address: {0}")]
    InvalidAddress(&'static str),
    /// A time stamp out of the TP-SCTS range (the reason).
    #[error("timestamp cannot be encoded: {0}")]
    InvalidTimestamp(&'static str),
    /// Header and data exceed the 140 octets of TP-UD.
    #[error("user data of {octets} octets exceeds 140")]
    UserDataTooLong {
        /// The octets needed.
        octets: usize,
    },
    /// An information element longer than a header can hold.
    #[error("user data header element 0x{iei:02x} of {len} octets does not fit")]
    UdhTooLong {
        /// Its IEI.
        iei: u8,
        /// Its data length.
        len: usize,
    },
    /// The decoder ignored the header as malformed; there is nothing valid to write.
    #[error("the user data header was ignored as malformed and cannot be written back")]
    MalformedUdh,
    /// Text user data with an 8-bit DCS, or octets with a text DCS (the reason).
    #[error("user data does not match the data coding scheme ({0})")]
    UserDataMismatch(&'static str),
    /// A payload of more than 255 segments (TS 23.040 §9.2.3.24.1).
    #[error("payload needs {segments} segments, more than 255")]
    TooManySegments {
        /// The segments needed.
        segments: usize,
    },
    /// A port above 255 with 8-bit port addressing (TS 23.040 §9.2.3.24.3).
    #[error("port {port} does not fit 8 bits")]
    PortTooLarge {
        /// The port.
        port: u16,
    },
    /// A concatenation reference wider than its element.
    #[error("reference {reference} does not fit {ref_bits} bits (8 or 16)")]
    InvalidReference {
        /// The reference.
        reference: u16,
        /// The element's reference width.
        ref_bits: u8,
    },
}
