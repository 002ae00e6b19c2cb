//! Emails: validation of what the API accepts, storage, scheduling and the jobs that
//! deliver them.
//!
//! - [`request`] is the typed body of a send, parsed once by the handler; [`validate`] turns
//!   it into a checked draft ([`address`], [`schedule`],
//!   [`attachments`] parse the fields that need more than a type check);
//! - [`body`] is how the html and text are stored (zstd-compressed, in `email_bodies`);
//! - [`service`] runs the accept path (sender rules, [`idempotency`], one transaction in
//!   [`store`], grouped by [`group_commit`]) and reschedule/cancel;
//! - [`test_recipients`] plays out Resend's test addresses; [`events`] names what happens to
//!   an email and reads its timeline; [`downloads`] signs attachment links;
//! - [`error`] is what the service refuses (`EmailError`);
//! - [`search`] lists a team's emails with filters (status, from, to, subject, dates, tag).

pub mod address;
pub mod attachments;
pub mod body;
pub mod downloads;
pub mod error;
pub mod events;
pub mod group_commit;
pub mod idempotency;
pub mod limits;
pub mod plain_text;
pub mod reads;
pub mod request;
pub mod schedule;
pub mod search;
pub mod service;
pub mod store;
pub mod test_recipients;
pub mod validate;

/// Job kind that plays out the outcome of an email to Resend's test addresses.
pub const SIMULATE_JOB: &str = "simulate_test_email";
/// Job kind that delivers an email to real recipients (its handler comes with delivery).
pub const DELIVER_JOB: &str = "deliver_email";
