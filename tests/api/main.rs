//! Integration tests: one binary (faster to link), one module per area.
//! Every test starts a real Herald on a random port; see `helpers`.

mod api_keys;
mod audience_dashboard;
mod browser;
mod cli;
mod contact_imports;
mod contact_properties;
mod contacts;
mod conventions;
mod dashboard;
mod helpers;
mod openapi;
mod queue;
mod segments_topics;
