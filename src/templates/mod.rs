//! Templates: stored, versioned email content with typed variables, sent by reference.
//!
//! - [`service`] keeps templates and their versions (draft and published);
//! - [`variables`] checks declared variables and the values a send gives them;
//! - [`substitute`] fills `{{{KEY}}}` / `{{{KEY|fallback}}}` placeholders (shared with
//!   broadcasts);
//! - [`error`] is what the service refuses (`TemplateError`);
//! - [`send`] resolves `template` on `POST /emails` into the email's final content.

pub mod error;
pub mod send;
pub mod service;
pub mod substitute;
pub mod variables;
