//! The Audience: contacts, their typed properties, segments, topics, unsubscribe statuses,
//! each contact's history, and CSV imports. The API (`api::contacts`, …) and the dashboard
//! call these services; no rule lives in a handler or a template.

pub mod contacts;
pub mod email;
pub mod history;
pub mod imports;
pub mod properties;
pub mod segments;
/// The all-or-nothing statements, now the store's (`store::sql`); kept under this name for
/// the callers that still use it.
pub use crate::store::sql;
pub mod topics;
pub mod unsubscribe_link;
