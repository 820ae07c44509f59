//! What routing decides for one message (docs/store.md): the queues it goes into, or why it is
//! refused or dropped. Plain data; the daemon's store commits it.

/// The registration id of the unclaimed queue (messages no registration matched).
pub const UNCLAIMED: i64 = 0;

/// One queue a message goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueTarget {
    /// A registration id, or [`UNCLAIMED`].
    pub registration: i64,
    /// When the entry expires (Unix ms): the registration's `QueueTtl` or `[cai] unclaimed_ttl`.
    pub expires_ms: u64,
}

/// What routing decided for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Queue it for these registrations (at least one; [`UNCLAIMED`] when nothing matched).
    Queue(Vec<QueueTarget>),
    /// Refuse it and keep it as a dead letter with this reason (e.g. originator not allowed).
    DeadLetter(String),
    /// Drop it with this reason, logged: the push itself says it is over (expired on arrival).
    /// Not a dead letter: nothing is wrong with it.
    Discard(String),
}
