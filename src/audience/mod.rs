//! The Audience: contacts, their typed properties, segments, topics, unsubscribe statuses,
//! each contact's history, and CSV imports. The API (`api::contacts`, …) and the dashboard
//! call these services; no rule lives in a handler or a template.

pub mod contacts;
pub mod email;
pub mod history;
pub mod imports;
pub mod properties;
pub mod segments;
pub mod topics;
pub mod unsubscribe_link;
