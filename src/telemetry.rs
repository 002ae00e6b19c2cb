//! Operational metrics for Prometheus (`GET /metrics`, see `http::prometheus`): what this
//! node counted since it started, kept in atomics (a request, a delivery outcome or a webhook
//! attempt costs an increment, never a query), and the queue's depth, read from the database
//! with one grouped query when the metrics are scraped.
//!
//! Counters are per node: with several nodes on one PostgreSQL database, Prometheus scrapes
//! each and sums them; the queue depth is the database's, the same on every node.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::handle::App;

/// The `Content-Type` of the text `/metrics` answers (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds of the request latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template (`/emails/{email_id}`), never the path itself: ids would make
    /// a series per resource. Requests no route matched are `unmatched`.
    route: String,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    kind: String,
    /// `queued` (waiting, due or not) or `running`.
    state: String,
}

/// This node's metrics.
pub struct Telemetry {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    deliveries: Family<OutcomeLabels, Counter>,
    webhook_attempts: Family<OutcomeLabels, Counter>,
    queue: Family<QueueLabels, Gauge>,
    /// One scrape at a time: each one clears and refills the queue gauges.
    scrape: tokio::sync::Mutex<()>,
}

impl App {
    /// This node's counters for Prometheus (`/metrics`).
    pub fn telemetry(&self) -> &Telemetry {
        self.part()
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("herald");
        let requests: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        let webhook_attempts = Family::<OutcomeLabels, Counter>::default();
        let queue = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and status class",
            requests.clone(),
        );
        registry.register(
            "delivery_outcomes",
            "Outcomes of delivery attempts per recipient: delivered, bounced, deferred \
             (retried later), failed, suppressed",
            deliveries.clone(),
        );
        registry.register(
            "webhook_delivery_attempts",
            "Webhook delivery attempts: delivered (2xx), rejected (another status), \
             unreachable (no answer)",
            webhook_attempts.clone(),
        );
        registry.register(
            "queue_jobs",
            "Jobs in the queue by kind and state (queued or running), read at scrape time",
            queue.clone(),
        );
        // Every outcome from the start, at 0, so rates work before the first one happens.
        for outcome in ["delivered", "bounced", "deferred", "failed", "suppressed"] {
            drop(deliveries.get_or_create(&OutcomeLabels { outcome }));
        }
        for outcome in ["delivered", "rejected", "unreachable"] {
            drop(webhook_attempts.get_or_create(&OutcomeLabels { outcome }));
        }
        Self {
            registry,
            requests,
            deliveries,
            webhook_attempts,
            queue,
            scrape: tokio::sync::Mutex::new(()),
        }
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Telemetry {
    /// One HTTP request answered with `status` after `seconds`.
    pub fn http_request(&self, route: &str, status: u16, seconds: f64) {
        let status = match status {
            100..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let labels = RequestLabels {
            route: route.to_string(),
            status,
        };
        self.requests.get_or_create(&labels).observe(seconds);
    }

    /// One recipient's delivery attempt ended in `state` (`delivery::record`'s states).
    pub fn delivery_outcome(&self, state: &'static str) {
        let labels = OutcomeLabels { outcome: state };
        self.deliveries.get_or_create(&labels).inc();
    }

    /// One webhook delivery attempt: `delivered`, `rejected` or `unreachable`.
    pub fn webhook_attempt(&self, outcome: &'static str) {
        let labels = OutcomeLabels { outcome };
        self.webhook_attempts.get_or_create(&labels).inc();
    }

    /// Every metric in Prometheus' text format, the queue depth read now.
    pub async fn render(&self, app: &App) -> anyhow::Result<String> {
        let _one = self.scrape.lock().await;
        let rows = crate::queue::depth(app.db()).await?;
        self.queue.clear();
        for (kind, state, count) in rows {
            self.queue
                .get_or_create(&QueueLabels { kind, state })
                .set(count);
        }
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_encode_as_prometheus_text() {
        let t = Telemetry::default();
        t.http_request("/emails/{email_id}", 200, 0.003);
        t.http_request("/emails/{email_id}", 404, 0.2);
        t.delivery_outcome("delivered");
        t.webhook_attempt("rejected");
        let mut text = String::new();
        prometheus_text::encode(&mut text, &t.registry).unwrap();
        assert!(text.contains("# TYPE herald_http_request_duration_seconds histogram"));
        assert!(text.contains(
            "herald_http_request_duration_seconds_bucket{route=\"/emails/{email_id}\",status=\"2xx\",le=\"0.005\"} 1"
        ), "{text}");
        assert!(text.contains("# TYPE herald_delivery_outcomes_total counter"));
        assert!(text.contains("herald_delivery_outcomes_total{outcome=\"delivered\"} 1"));
        assert!(text.contains("herald_webhook_delivery_attempts_total{outcome=\"rejected\"} 1"));
    }
}
