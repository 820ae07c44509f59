//! Why a PDU could not be decoded or built.

use thiserror::Error;

/// A decoding failure: what was wrong and the octet offset in the PDU as given (SMSC prefix
/// included when present).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SmsError {
    #[error("{field} truncated at octet {offset}")]
    Truncated { field: &'static str, offset: usize },
    #[error(
        "unsupported message type TP-MTI={mti} at octet {offset} (only SMS-DELIVER and SMS-STATUS-REPORT)"
    )]
    UnsupportedMessageType { mti: u8, offset: usize },
    #[error("{field}: invalid address length {length} at octet {offset}")]
    InvalidAddressLength { field: &'static str, length: u8, offset: usize },
    #[error("{field}: non-BCD digit at octet {offset}")]
    InvalidBcd { field: &'static str, offset: usize },
    #[error("{field}: {part} out of range at octet {offset}")]
    InvalidTimestamp { field: &'static str, part: &'static str, offset: usize },
    #[error("TP-UDL {udl} needs {octets} octets, more than 140, at octet {offset}")]
    UserDataTooLong { udl: u8, octets: usize, offset: usize },
    #[error("malformed user data header at octet {offset}: {reason}")]
    InvalidUdh { reason: &'static str, offset: usize },
}

/// Why a PDU could not be built from the given values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("character {ch:?} at position {position} cannot be encoded in {alphabet}")]
    Unencodable { ch: char, position: usize, alphabet: &'static str },
    #[error("invalid address: {0}")]
    InvalidAddress(&'static str),
    #[error("timestamp cannot be encoded: {0}")]
    InvalidTimestamp(&'static str),
    #[error("user data of {octets} octets exceeds 140")]
    UserDataTooLong { octets: usize },
    #[error("user data header element 0x{iei:02x} of {len} octets does not fit")]
    UdhTooLong { iei: u8, len: usize },
    #[error("the user data header was ignored as malformed and cannot be written back")]
    MalformedUdh,
    #[error("user data does not match the data coding scheme ({0})")]
    UserDataMismatch(&'static str),
    #[error("payload needs {segments} segments, more than 255")]
    TooManySegments { segments: usize },
    #[error("port {port} does not fit 8 bits")]
    PortTooLarge { port: u16 },
    #[error("reference {reference} does not fit {ref_bits} bits (8 or 16)")]
    InvalidReference { reference: u16, ref_bits: u8 },
}
