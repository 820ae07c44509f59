//! Why a WSP PDU could not be decoded, and where.

use thiserror::Error;

/// A decoding error. `offset` is the octet offset from the start of the WSP PDU (the TID).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WspError {
    /// The PDU ends inside a field.
    #[error("{what} truncated at offset {offset}")]
    Truncated {
        /// The field.
        what: &'static str,
        /// Where the field starts.
        offset: usize,
    },
    /// A PDU type other than Push or ConfirmedPush (WAP-230 Table 34).
    #[error("PDU type 0x{pdu_type:02x} at offset 1 is neither Push (0x06) nor ConfirmedPush (0x07)")]
    NotPush {
        /// The PDU type octet.
        pdu_type: u8,
    },
    /// A uintvar of more than 5 octets.
    #[error("{what} at offset {offset}: uintvar longer than 5 octets (WAP-230 §8.1.2)")]
    UintvarTooLong {
        /// The field.
        what: &'static str,
        /// Where the uintvar starts.
        offset: usize,
    },
    /// An integer beyond 64 bits (or a uintvar beyond 32).
    #[error("{what} at offset {offset}: integer overflow")]
    IntegerOverflow {
        /// The field.
        what: &'static str,
        /// Where the integer starts.
        offset: usize,
    },
    /// HeadersLen covers more octets than follow it.
    #[error("HeadersLen {len} at offset {offset} runs past the end of the PDU ({available} octets left)")]
    HeadersPastEnd {
        /// HeadersLen's offset.
        offset: usize,
        /// HeadersLen.
        len: u32,
        /// The octets after it.
        available: usize,
    },
    /// A Text-string without its NUL (WAP-230 §8.4.2.1).
    #[error("{what} at offset {offset}: text without terminating NUL")]
    Unterminated {
        /// The field.
        what: &'static str,
        /// Where the text starts.
        offset: usize,
    },
    /// A value the field's grammar does not allow.
    #[error("invalid {what} at offset {offset}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Where the value starts.
        offset: usize,
    },
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
