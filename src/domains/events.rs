//! The `domain.created`, `domain.updated` and `domain.deleted` webhook events: the domain as
//! it is after the change, with its records and their statuses, in Resend's shape (each
//! record the API's `records::DomainRecord`, warning included).

use serde_json::{Value, json};

use super::records::DomainRecord;
use super::{Domain, RecordState};
use crate::clock::{Millis, iso_timestamp};
use crate::webhooks::Event;

pub const CREATED: &str = "domain.created";
pub const UPDATED: &str = "domain.updated";
pub const DELETED: &str = "domain.deleted";

fn data(domain: &Domain, records: &[RecordState]) -> Value {
    let records: Vec<DomainRecord> = records
        .iter()
        .map(|r| DomainRecord::new(r).in_webhook())
        .collect();
    json!({
        "id": domain.id,
        "name": domain.name,
        "status": domain.status,
        "created_at": iso_timestamp(domain.created_at),
        "region": domain.region,
        "records": records,
    })
}

/// The event `event_type` about `domain` with `records`, happening at `now`.
pub fn event(
    event_type: &'static str,
    domain: &Domain,
    records: &[RecordState],
    now: Millis,
) -> Event {
    Event::resource(&domain.team_id, event_type, &data(domain, records), now)
}
