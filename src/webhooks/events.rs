//! Webhook events about a team's resources (`domain.*`): Resend's `{type, created_at, data}`
//! body, made by the service that changes the resource and recorded **in its transaction** as
//! the first delivery job of every subscribed, enabled endpoint. The change and its deliveries
//! commit together, so neither exists without the other. Such events are rare, so they skip
//! the email events' outbox and scan; the delivery job, signing and retries are the same.

use serde_json::{Value, json};

use super::delivery::Delivery;
use crate::clock::{Millis, iso_timestamp};
use crate::queue::NewJob;
use crate::store::new_id;

/// One event, its body serialised once (every attempt signs the same bytes).
#[derive(Debug, Clone)]
pub struct ResourceEvent {
    pub id: String,
    pub event_type: &'static str,
    pub body: String,
}

impl ResourceEvent {
    pub fn new(event_type: &'static str, data: Value, now: Millis) -> Self {
        debug_assert!(super::EVENT_TYPES.contains(&event_type));
        let body = json!({
            "type": event_type,
            "created_at": iso_timestamp(now),
            "data": data,
        });
        Self {
            id: new_id(),
            event_type,
            body: body.to_string(),
        }
    }

    /// The first delivery jobs, for the endpoints among `webhooks` (`(id, events JSON)` of the
    /// team's enabled endpoints) that subscribe to this event.
    pub fn deliveries(&self, webhooks: &[(String, String)], now: Millis) -> Vec<NewJob> {
        webhooks
            .iter()
            .filter(|(_, events)| {
                serde_json::from_str::<Vec<String>>(events)
                    .unwrap_or_default()
                    .iter()
                    .any(|e| e == self.event_type)
            })
            .map(|(webhook_id, _)| {
                Delivery {
                    webhook_id: webhook_id.clone(),
                    event_id: self.id.clone(),
                    event_type: self.event_type.to_string(),
                    message_id: super::scan::message_id(&self.id),
                    body: self.body.clone(),
                    attempt: 1,
                }
                .job(now)
            })
            .collect()
    }
}

/// Records `event` of `team_id` in the open transaction `tx` (either backend): one delivery
/// job per subscribed enabled endpoint. `record_event!(tx, team_id, &event, now)` gives
/// `Result<u64, sqlx::Error>`, the number of deliveries queued. Call `App::notify_jobs` after
/// the commit.
macro_rules! record_event {
    ($tx:ident, $team_id:expr, $event:expr, $now:expr) => {
        async {
            let event: &$crate::webhooks::events::ResourceEvent = $event;
            let now: i64 = $now;
            let webhooks: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, events FROM webhooks WHERE team_id = $1 AND status = 'enabled'",
            )
            .bind($team_id)
            .fetch_all(&mut *$tx)
            .await?;
            let jobs = event.deliveries(&webhooks, now);
            if jobs.is_empty() {
                return Ok::<u64, sqlx::Error>(0);
            }
            $crate::webhooks::delivery::insert_jobs!(&mut *$tx, &jobs, now)
        }
        .await
    };
}
pub(crate) use record_event;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_subscribed_endpoints_get_a_delivery() {
        let event = ResourceEvent::new("domain.created", json!({"id": "d1"}), 1_696_636_076_678);
        let body: Value = serde_json::from_str(&event.body).unwrap();
        assert_eq!(body["type"], "domain.created");
        assert_eq!(body["created_at"], "2023-10-06T23:47:56.678Z");
        assert_eq!(body["data"]["id"], "d1");
        let webhooks = [
            (
                "w1".to_string(),
                r#"["domain.created","domain.deleted"]"#.to_string(),
            ),
            ("w2".to_string(), r#"["email.sent"]"#.to_string()),
        ];
        let jobs = event.deliveries(&webhooks, 5);
        assert_eq!(jobs.len(), 1);
        let delivery: Delivery = serde_json::from_str(&jobs[0].payload).unwrap();
        assert_eq!(delivery.webhook_id, "w1");
        assert_eq!(delivery.attempt, 1);
        assert_eq!(delivery.body, event.body);
        assert_eq!(jobs[0].run_at, 5);
    }
}
