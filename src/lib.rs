//! Herald: a self-hostable email platform that speaks Resend's API.
//!
//! Layout, top down: `app` (open, router, start) and `cli` tie everything together; `http`
//! (gate, errors, pagination), `api` (Resend's routes) and `dashboard` (web pages) are the
//! front ends; `auth`, `emails`, `teams`… are the services they share; `handle` is the `App`
//! every part takes; `queue` runs background work; `store` is the database layer for SQLite
//! and PostgreSQL. `layers` (a test) holds the order and checks that imports go down.

pub mod api;
pub mod app;
pub mod audience;
pub mod auth;
pub mod branding;
pub mod broadcasts;
pub mod budget;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod delivery;
pub mod domains;
pub mod emails;
pub mod error;
pub mod exports;
pub mod feedback;
pub mod fields;
pub mod files;
pub mod filters;
pub mod handle;
pub mod http;
pub mod large_buffers;
#[cfg(test)]
mod layers;
pub mod logs;
pub mod metrics;
pub mod net;
#[cfg(test)]
mod proptest_util;
pub mod queue;
pub mod serde_util;
pub mod smtp;
pub mod store;
pub mod suppressions;
pub mod teams;
pub mod telemetry;
pub mod templates;
pub mod tracking;
pub mod ttl_map;
pub mod webhooks;
pub mod zstd_frame;

/// Sending regions, as Resend names them. The first is the default.
pub const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "sa-east-1", "ap-northeast-1"];
