//! WDP over SMS (WAP-259 §6, 3GPP TS 23.040 §9.2.3.24.1/.24.3/.24.4): port addressing and
//! reassembly of concatenated segments into datagrams.
//!
//! [`Reassembler`] is a pure state machine: segments and the current time go in, completed
//! [`Datagram`]s and [`Evicted`] partial messages come out. It holds at most
//! [`Limits::max_partials`] partial messages and [`Limits::max_bytes`] payload octets,
//! evicting the oldest first, and drops partials after [`Limits::timeout_ms`]. Its state
//! serialises with serde, so the daemon can persist it.

mod reassembly;

pub use reassembly::Reassembler;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// WDP destination port of connectionless WSP push (IANA `wap-push`).
pub const PORT_WAP_PUSH: u16 = 2948;
/// WDP destination port of WTLS-secured push (IANA `wap-pushsecure`).
pub const PORT_WAP_PUSH_SECURE: u16 = 2949;

/// Application port addressing (IEI 0x04 for 8-bit, 0x05 for 16-bit ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ports {
    /// The originator port.
    pub src: u16,
    /// The destination port (2948: WAP Push, WAP-259 §6.3.1).
    pub dst: u16,
    /// 8 or 16: which information element carried them. 8-bit and 16-bit ports with the
    /// same numbers are different ports.
    pub bits: u8,
}

/// One received segment: the concatenation fields of its UDH (IEI 0x00 or 0x08), its
/// ports, its payload, and an opaque `tag` chosen by the caller (e.g. a spool row id) that
/// comes back with the datagram or eviction that consumed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The originating address as decoded (TP-OA).
    pub originator: &'a str,
    /// TS 23.040 §9.2.3.24.1 concatenated short message reference number.
    pub reference: u16,
    /// 8 (IEI 0x00) or 16 (IEI 0x08); 0 for a message without concatenation IE (then
    /// `total` and `seq` must be 1).
    pub ref_bits: u8,
    /// Segments of the message.
    pub total: u8,
    /// 1-based sequence number.
    pub seq: u8,
    /// Application ports (TS 23.040 §9.2.3.24.3/4), if the segment had them.
    pub ports: Option<Ports>,
    /// The segment's payload (the user data after the UDH).
    pub data: &'a [u8],
    /// The caller's name for the segment.
    pub tag: u64,
}

impl<'a> Segment<'a> {
    /// A message that is not concatenated: a datagram of its own.
    pub fn single(originator: &'a str, ports: Option<Ports>, data: &'a [u8], tag: u64) -> Self {
        Segment { originator, reference: 0, ref_bits: 0, total: 1, seq: 1, ports, data, tag }
    }
}

/// A completed message: the payloads of all its segments in sequence order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datagram {
    /// The originator as the first segment gave it (surrounding white space removed).
    pub originator: String,
    /// The concatenation reference.
    pub reference: u16,
    /// 8, 16, or 0 (not concatenated).
    pub ref_bits: u8,
    /// The ports of its segments.
    pub ports: Option<Ports>,
    /// The payloads, in sequence order.
    pub data: Vec<u8>,
    /// When the first segment arrived (ms since the epoch, as passed to `push`).
    pub first_ms: u64,
    /// Segments it had.
    pub segments: u8,
    /// The tags of the segments, in sequence order.
    pub tags: Vec<u64>,
}

/// Bounds of the reassembly state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Partial messages held at once (at least 1).
    pub max_partials: usize,
    /// Payload octets held in partial messages.
    pub max_bytes: usize,
    /// How long a partial message is kept after its first segment arrived.
    pub timeout_ms: u64,
}

impl Default for Limits {
    /// 64 partial messages, 256 KiB, 3 days (docs/config.md, `[wdp]`).
    fn default() -> Self {
        Limits { max_partials: 64, max_bytes: 256 * 1024, timeout_ms: 3 * 86_400 * 1000 }
    }
}

/// Why a partial message was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvictReason {
    /// Older than [`Limits::timeout_ms`].
    Expired,
    /// Room was needed for a new partial message ([`Limits::max_partials`]).
    MaxPartials,
    /// Room was needed for payload octets ([`Limits::max_bytes`]).
    MaxBytes,
}

impl EvictReason {
    /// A short name: `expired`, `max_partials`, `max_bytes`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvictReason::Expired => "expired",
            EvictReason::MaxPartials => "max_partials",
            EvictReason::MaxBytes => "max_bytes",
        }
    }
}

/// A partial message that was dropped, for the caller to log or dead-letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evicted {
    /// The originator.
    pub originator: String,
    /// The concatenation reference.
    pub reference: u16,
    /// 8, 16, or 0.
    pub ref_bits: u8,
    /// The ports of its segments.
    pub ports: Option<Ports>,
    /// Segments it had, of `total`.
    pub have: u8,
    /// Segments of the message.
    pub total: u8,
    /// When the first segment arrived (ms since the epoch).
    pub first_ms: u64,
    /// Why it was dropped.
    pub reason: EvictReason,
    /// The tags of the segments it held, in sequence order.
    pub tags: Vec<u64>,
}

/// How a segment contradicts the partial message it belongs to. The segment is dropped;
/// the partial message is left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Its ports differ from the ports of the segments already held.
    Ports,
    /// A segment with its sequence number is held with different data.
    Data,
}

/// What became of a pushed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// It completed a message (or was one by itself).
    Complete(Datagram),
    /// It was stored; `have` of `total` segments are held now.
    Pending {
        /// Segments held.
        have: u8,
        /// Segments of the message.
        total: u8,
    },
    /// The same segment with the same data is already held; nothing changed.
    Duplicate {
        /// Segments held.
        have: u8,
        /// Segments of the message.
        total: u8,
    },
    /// It contradicts its siblings and was dropped.
    Conflict {
        /// How.
        kind: ConflictKind,
        /// Segments held.
        have: u8,
        /// Segments of the message.
        total: u8,
    },
}

/// The result of [`Reassembler::push`]: what became of the segment, and which partial
/// messages were dropped meanwhile (expired, or evicted to make room).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What became of the segment.
    pub pushed: Pushed,
    /// Partial messages dropped meanwhile.
    pub evicted: Vec<Evicted>,
}

/// A segment that cannot belong to any message. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReassemblyError {
    #[error("concatenation IE with 0 segments")]
    /// TS 23.040 §9.2.3.24.1: a message of 0 segments.
    ZeroTotal,
    #[error("sequence number {seq} outside 1..={total}")]
    /// A sequence number of 0 or past the total.
    BadSequence {
        /// The sequence number.
        seq: u8,
        /// Segments of the message.
        total: u8,
    },
    #[error("reference width {0} (must be 8 or 16, or 0 for a single message)")]
    /// A reference width other than 0, 8 or 16.
    BadRefBits(u8),
    #[error("8-bit reference {0} exceeds 255")]
    /// An 8-bit reference above 255.
    ReferenceTooWide(u16),
    #[error("segment of {len} octets exceeds the reassembly byte limit {max}")]
    /// More payload than the whole reassembly may hold.
    TooLarge {
        /// The segment's payload octets.
        len: usize,
        /// [`Limits::max_bytes`].
        max: usize,
    },
}
