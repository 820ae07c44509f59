//! The reassembly state machine (WAP-259 §6.5.2 segmentation and reassembly over SMS).
//!
//! A partial message is keyed by originator (compared ignoring surrounding ASCII white space
//! and ASCII case), reference, reference width and total; ports are checked, not keyed. Partial
//! messages are kept in arrival order of their first segment, so the oldest is evicted first.
//! Retired partial messages and segment buffers are recycled, so a warm reassembler
//! allocates nothing for a pending segment and, for a completed message, only the
//! datagram's own fields.

use super::{
    ConflictKind, Datagram, EvictReason, Evicted, Limits, Outcome, Ports, Pushed, ReassemblyError, Segment,
};
use serde::{Deserialize, Serialize, Serializer};

/// Recycled segment buffers kept at most, and the largest capacity worth keeping.
const SPARE_BUFS: usize = 64;
const SPARE_BUF_CAPACITY: usize = 512;
/// Recycled partial-message shells kept at most.
const SPARE_PARTIALS: usize = 8;

/// WDP reassembly state. See the module documentation of [`crate::wdp`].
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "State")]
pub struct Reassembler {
    limits: Limits,
    /// Oldest first.
    partials: Vec<Partial>,
    /// Payload octets held in `partials`.
    bytes: usize,
    spare: Vec<Partial>,
    spare_bufs: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Partial {
    originator: String,
    reference: u16,
    ref_bits: u8,
    total: u8,
    ports: Option<Ports>,
    first_ms: u64,
    /// Distinct sequence numbers, ascending.
    parts: Vec<Part>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Part {
    seq: u8,
    tag: u64,
    #[serde(with = "hex_bytes")]
    data: Vec<u8>,
}

/// The persisted form: limits and partial messages.
#[derive(Deserialize)]
struct State {
    limits: Limits,
    partials: Vec<Partial>,
}

#[derive(Serialize)]
struct StateRef<'a> {
    limits: &'a Limits,
    partials: &'a [Partial],
}

impl Serialize for Reassembler {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StateRef { limits: &self.limits, partials: &self.partials }.serialize(s)
    }
}

impl From<State> for Reassembler {
    /// Restores persisted state, dropping partial messages that could not have been built
    /// (a hand-edited or corrupted file). Limits are enforced by the next `push` or by
    /// [`Reassembler::set_limits`].
    fn from(st: State) -> Self {
        let mut r = Reassembler::new(st.limits);
        for mut p in st.partials {
            p.parts.sort_unstable_by_key(|x| x.seq);
            let seqs_ok = p.parts.iter().all(|x| x.seq >= 1 && x.seq <= p.total)
                && p.parts.windows(2).all(|w| w.first().map(|a| a.seq) != w.get(1).map(|b| b.seq));
            let ok = p.total >= 2
                && !p.parts.is_empty()
                && p.parts.len() < p.total as usize
                && seqs_ok
                && matches!(p.ref_bits, 8 | 16)
                && (p.ref_bits == 16 || p.reference <= 0xFF);
            if ok {
                r.bytes += p.bytes();
                r.partials.push(p);
            }
        }
        r
    }
}

impl Partial {
    fn bytes(&self) -> usize {
        self.parts.iter().map(|p| p.data.len()).sum()
    }

    fn have(&self) -> u8 {
        self.parts.len() as u8
    }

    fn matches(&self, s: &Segment<'_>) -> bool {
        self.reference == s.reference && self.ref_bits == s.ref_bits && self.total == s.total && {
            let o = s.originator.trim_ascii();
            self.originator == o || self.originator.eq_ignore_ascii_case(o)
        }
    }

    fn tags(&self) -> Vec<u64> {
        self.parts.iter().map(|p| p.tag).collect()
    }
}

impl Reassembler {
    /// An empty reassembler within `limits`.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits: Limits { max_partials: limits.max_partials.max(1), ..limits },
            partials: Vec::new(),
            bytes: 0,
            spare: Vec::new(),
            spare_bufs: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Changes the limits (e.g. on a configuration reload) and evicts, oldest first, what no
    /// longer fits.
    pub fn set_limits(&mut self, limits: Limits) -> Vec<Evicted> {
        self.limits = Limits { max_partials: limits.max_partials.max(1), ..limits };
        let mut evicted = Vec::new();
        while self.partials.len() > self.limits.max_partials {
            evicted.push(self.evict(0, EvictReason::MaxPartials));
        }
        while self.bytes > self.limits.max_bytes && !self.partials.is_empty() {
            evicted.push(self.evict(0, EvictReason::MaxBytes));
        }
        evicted
    }

    /// Partial messages held.
    pub fn partial_count(&self) -> usize {
        self.partials.len()
    }

    /// Payload octets held.
    pub fn bytes_held(&self) -> usize {
        self.bytes
    }

    /// The tags of every segment held in a partial message.
    pub fn held_tags(&self) -> impl Iterator<Item = u64> + '_ {
        self.partials.iter().flat_map(|p| p.parts.iter().map(|x| x.tag))
    }

    /// When the oldest partial message expires: sleep until then, then call [`Self::expire`].
    pub fn next_deadline(&self) -> Option<u64> {
        self.partials.iter().map(|p| p.first_ms.saturating_add(self.limits.timeout_ms)).min()
    }

    /// Drops the partial messages whose first segment arrived `timeout_ms` or longer
    /// before `now_ms`.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Evicted> {
        let mut evicted = Vec::new();
        let mut i = 0;
        while i < self.partials.len() {
            let due = self
                .partials
                .get(i)
                .is_some_and(|p| now_ms.saturating_sub(p.first_ms) >= self.limits.timeout_ms);
            if due {
                evicted.push(self.evict(i, EvictReason::Expired));
            } else {
                i += 1;
            }
        }
        evicted
    }

    /// Adds one segment at time `now_ms`. Expired partial messages are dropped first and
    /// reported in [`Outcome::evicted`] with any evicted to make room.
    pub fn push(&mut self, seg: &Segment<'_>, now_ms: u64) -> Result<Outcome, ReassemblyError> {
        validate(seg)?;
        // Before anything changes (an error leaves the state as it was, expiry included): a
        // segment that cannot be held and completes no message is refused.
        let len = seg.data.len();
        if seg.total > 1 && len > self.limits.max_bytes && !self.completes(seg, now_ms) {
            return Err(ReassemblyError::TooLarge { len, max: self.limits.max_bytes });
        }
        let mut evicted = self.expire(now_ms);
        if seg.total == 1 {
            let datagram = Datagram {
                originator: seg.originator.trim_ascii().to_owned(),
                reference: seg.reference,
                ref_bits: seg.ref_bits,
                ports: seg.ports,
                data: seg.data.to_vec(),
                first_ms: now_ms,
                segments: 1,
                tags: vec![seg.tag],
            };
            return Ok(Outcome { pushed: Pushed::Complete(datagram), evicted });
        }
        let found = self.partials.iter().position(|p| p.matches(seg));
        if let Some(i) = found {
            if let Some(pushed) = self.check_sibling(i, seg) {
                return Ok(Outcome { pushed, evicted });
            }
            if self.partials.get(i).is_some_and(|p| p.parts.len() + 1 == p.total as usize) {
                let datagram = self.complete(i, seg);
                return Ok(Outcome { pushed: Pushed::Complete(datagram), evicted });
            }
        }
        if len > self.limits.max_bytes {
            return Err(ReassemblyError::TooLarge { len, max: self.limits.max_bytes });
        }
        let before = evicted.len();
        while self.bytes + len > self.limits.max_bytes && !self.partials.is_empty() {
            evicted.push(self.evict(0, EvictReason::MaxBytes));
        }
        // Evicting moved the partial messages, and may have removed the segment's own (only
        // when it alone was too large to keep); then the segment starts a new one.
        let found =
            if evicted.len() == before { found } else { self.partials.iter().position(|p| p.matches(seg)) };
        let i = match found {
            Some(i) => i,
            None => {
                while self.partials.len() >= self.limits.max_partials {
                    evicted.push(self.evict(0, EvictReason::MaxPartials));
                }
                self.start_partial(seg, now_ms)
            }
        };
        let data = self.buffer_with(seg.data);
        self.bytes += len;
        // `i` was just found or created: in bounds.
        let p = &mut self.partials[i];
        let at = p.parts.partition_point(|x| x.seq < seg.seq);
        p.parts.insert(at, Part { seq: seg.seq, tag: seg.tag, data });
        let pushed = Pushed::Pending { have: p.have(), total: p.total };
        Ok(Outcome { pushed, evicted })
    }

    /// Whether `seg` completes a partial message that has not expired at `now_ms`.
    fn completes(&self, seg: &Segment<'_>, now_ms: u64) -> bool {
        self.partials.iter().any(|p| {
            p.matches(seg)
                && now_ms.saturating_sub(p.first_ms) < self.limits.timeout_ms
                && p.ports == seg.ports
                && p.parts.len() + 1 == p.total as usize
                && p.parts.binary_search_by_key(&seg.seq, |x| x.seq).is_err()
        })
    }

    /// Duplicate or conflict with the partial message at `i`, if the segment is one.
    fn check_sibling(&self, i: usize, seg: &Segment<'_>) -> Option<Pushed> {
        let p = self.partials.get(i)?;
        let (have, total) = (p.have(), p.total);
        if p.ports != seg.ports {
            return Some(Pushed::Conflict { kind: ConflictKind::Ports, have, total });
        }
        let held = p.parts.binary_search_by_key(&seg.seq, |x| x.seq).ok().and_then(|k| p.parts.get(k))?;
        Some(if held.data == seg.data {
            Pushed::Duplicate { have, total }
        } else {
            Pushed::Conflict { kind: ConflictKind::Data, have, total }
        })
    }

    /// Removes the partial message at `i`, which `seg` completes, and builds its datagram.
    fn complete(&mut self, i: usize, seg: &Segment<'_>) -> Datagram {
        let p = self.partials.remove(i);
        let held = p.bytes();
        self.bytes -= held;
        let mut data = Vec::with_capacity(held + seg.data.len());
        let mut tags = Vec::with_capacity(p.total as usize);
        let mut placed = false;
        for part in &p.parts {
            if !placed && seg.seq < part.seq {
                data.extend_from_slice(seg.data);
                tags.push(seg.tag);
                placed = true;
            }
            data.extend_from_slice(&part.data);
            tags.push(part.tag);
        }
        if !placed {
            data.extend_from_slice(seg.data);
            tags.push(seg.tag);
        }
        let datagram = Datagram {
            originator: p.originator.clone(),
            reference: p.reference,
            ref_bits: p.ref_bits,
            ports: p.ports,
            data,
            first_ms: p.first_ms,
            segments: p.total,
            tags,
        };
        self.recycle(p);
        datagram
    }

    /// Removes the partial message at `i` and reports it.
    fn evict(&mut self, i: usize, reason: EvictReason) -> Evicted {
        let mut p = self.partials.remove(i);
        self.bytes -= p.bytes();
        let evicted = Evicted {
            originator: std::mem::take(&mut p.originator),
            reference: p.reference,
            ref_bits: p.ref_bits,
            ports: p.ports,
            have: p.have(),
            total: p.total,
            first_ms: p.first_ms,
            reason,
            tags: p.tags(),
        };
        self.recycle(p);
        evicted
    }

    /// Appends a new partial message for `seg` (from a recycled shell when there is one) and
    /// returns its index.
    fn start_partial(&mut self, seg: &Segment<'_>, now_ms: u64) -> usize {
        let mut p = self.spare.pop().unwrap_or_default();
        p.originator.clear();
        p.originator.push_str(seg.originator.trim_ascii());
        p.reference = seg.reference;
        p.ref_bits = seg.ref_bits;
        p.total = seg.total;
        p.ports = seg.ports;
        p.first_ms = now_ms;
        p.parts.clear();
        self.partials.push(p);
        self.partials.len() - 1
    }

    /// A copy of `data` in a recycled buffer when there is one.
    fn buffer_with(&mut self, data: &[u8]) -> Vec<u8> {
        let mut buf = self.spare_bufs.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        buf
    }

    /// Keeps the buffers and shell of a retired partial message for reuse, within bounds.
    fn recycle(&mut self, mut p: Partial) {
        for part in p.parts.drain(..) {
            if self.spare_bufs.len() < SPARE_BUFS && part.data.capacity() <= SPARE_BUF_CAPACITY {
                self.spare_bufs.push(part.data);
            }
        }
        if self.spare.len() < SPARE_PARTIALS && p.parts.capacity() <= 256 {
            self.spare.push(p);
        }
    }
}

fn validate(seg: &Segment<'_>) -> Result<(), ReassemblyError> {
    if seg.total == 0 {
        return Err(ReassemblyError::ZeroTotal);
    }
    if seg.seq == 0 || seg.seq > seg.total {
        return Err(ReassemblyError::BadSequence { seq: seg.seq, total: seg.total });
    }
    match seg.ref_bits {
        8 if seg.reference > 0xFF => Err(ReassemblyError::ReferenceTooWide(seg.reference)),
        8 | 16 => Ok(()),
        0 if seg.total == 1 => Ok(()),
        b => Err(ReassemblyError::BadRefBits(b)),
    }
}

/// Segment payloads persist as lower-case hex strings.
mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::hex::encode_lower(b))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        crate::hex::decode(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests;
