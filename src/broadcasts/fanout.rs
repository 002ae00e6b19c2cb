//! The fan-out job: one email per eligible contact.

/// Job kind; its unique key is `broadcast:{id}`.
pub const JOB: &str = "broadcast_fanout";
