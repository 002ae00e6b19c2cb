//! SMTP: the server side (sans-IO parsing by smtp-proto, our tokio session loop) and the
//! scriptable sink that plays the recipient's mail server in tests and benchmarks.

mod reply;
pub mod server;
mod session;
pub mod sink;

pub use reply::{Reply, parse_status};
pub use server::{BareLineEndings, Envelope, Limits, SessionHandler, SmtpServer, Verdict};
