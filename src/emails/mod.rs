//! Emails: validation of what the API accepts, storage, scheduling and the jobs that
//! deliver them.

pub mod test_recipients;

/// Job kind that plays out the outcome of an email to Resend's test addresses.
pub const SIMULATE_JOB: &str = "simulate_test_email";
