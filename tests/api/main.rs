//! Integration tests: one binary (faster to link), one module per area.
//! Every test starts a real Herald on a random port; see `helpers`.

mod api_keys;
mod cli;
mod compat;
mod conventions;
mod helpers;
mod openapi;
mod queue;
