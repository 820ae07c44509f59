//! Durable state in SQLite (WAL): spooled PDUs, partial messages, queues, registrations,
//! event history and Last-Event-ID.
