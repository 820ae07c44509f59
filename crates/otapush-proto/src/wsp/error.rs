//! Why a WSP PDU could not be decoded, and where.

use thiserror::Error;

/// A decoding error. `offset` is the octet offset from the start of the WSP PDU (the TID).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WspError {
    #[error("{what} truncated at offset {offset}")]
    Truncated { what: &'static str, offset: usize },
    #[error("PDU type 0x{pdu_type:02x} at offset 1 is neither Push (0x06) nor ConfirmedPush (0x07)")]
    NotPush { pdu_type: u8 },
    #[error("{what} at offset {offset}: uintvar longer than 5 octets (WAP-230 §8.1.2)")]
    UintvarTooLong { what: &'static str, offset: usize },
    #[error("{what} at offset {offset}: integer overflow")]
    IntegerOverflow { what: &'static str, offset: usize },
    #[error("HeadersLen {len} at offset {offset} runs past the end of the PDU ({available} octets left)")]
    HeadersPastEnd { offset: usize, len: u32, available: usize },
    #[error("{what} at offset {offset}: text without terminating NUL")]
    Unterminated { what: &'static str, offset: usize },
    #[error("invalid {what} at offset {offset}")]
    Invalid { what: &'static str, offset: usize },
}

impl WspError {
    /// The offset the error refers to (1 for [`WspError::NotPush`]).
    pub fn offset(&self) -> usize {
        match *self {
            WspError::NotPush { .. } => 1,
            WspError::Truncated { offset, .. }
            | WspError::UintvarTooLong { offset, .. }
            | WspError::IntegerOverflow { offset, .. }
            | WspError::HeadersPastEnd { offset, .. }
            | WspError::Unterminated { offset, .. }
            | WspError::Invalid { offset, .. } => offset,
        }
    }
}
