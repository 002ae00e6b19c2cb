//! Inbound feedback.
