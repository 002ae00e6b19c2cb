//! Integration tests: one binary (faster to link), one module per area.
//! Every test starts a real Herald on a random port; see `helpers`.

mod api_keys;
mod audience_dashboard;
mod browser;
mod browser_domains;
mod cli;
mod compat;
mod contact_imports;
mod contact_properties;
mod contact_webhooks;
mod contacts;
mod conventions;
mod dashboard;
mod dashboard_domains;
mod delivery;
mod delivery_crash;
mod delivery_mime;
mod dns_server;
mod domains;
mod domains_regions;
mod domains_verify;
mod emails;
mod emails_attachments;
mod emails_batch;
mod emails_crash;
mod emails_schedule;
mod feedback;
mod feedback_listener;
mod helpers;
mod openapi;
mod queue;
mod segments_topics;
mod smtp;
mod suppressions;
mod webhooks;
