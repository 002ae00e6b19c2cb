//! What each kind of export reads: the list's filters (read by the service's own
//! `read_filter`, as the list page reads them, from the query string stored with the export) and the list's own service, walked in
//! keyset pages in the page's order (newest first), each row turned into a CSV record.

use std::collections::HashMap;

use serde_json::Value;

use super::Kind;
use super::error::ExportResult;
use crate::audience::{contacts, properties, segments};
use crate::auth::api_keys;
use crate::broadcasts::service as broadcasts;
use crate::clock::{Millis, iso_timestamp};
use crate::emails::search::{self, EmailFilter};
use crate::emails::store as emails;
use crate::filters::query_params;
use crate::handle::App;
use crate::logs::{self, LogFilter};
use crate::store::page::{Cursor, ListResponse, Page};

/// One page of records.
pub struct Batch {
    pub records: Vec<Vec<String>>,
    /// The keyset cursor after this page: the last row's id.
    pub last_id: Option<String>,
    pub has_more: bool,
}

/// A list with its filters, ready to be read page by page.
pub enum Source {
    Emails(EmailFilter),
    Broadcasts(broadcasts::ListFilter),
    /// With the team's custom property keys, one column each.
    Contacts(contacts::ListFilter, Vec<String>),
    Segments,
    Domains,
    /// With the names of the team's API keys by id.
    Logs(LogFilter, HashMap<String, String>),
    ApiKeys,
}

fn time(ms: Millis) -> String {
    iso_timestamp(ms)
}

fn opt_time(ms: Option<Millis>) -> String {
    ms.map(time).unwrap_or_default()
}

fn batch<T>(
    list: ListResponse<T>,
    id: impl Fn(&T) -> &str,
    record: impl Fn(&T) -> Vec<String>,
) -> Batch {
    Batch {
        last_id: list.data.last().map(|row| id(row).to_string()),
        has_more: list.has_more,
        records: list.data.iter().map(record).collect(),
    }
}

/// A JSON property value as a cell: text as is, nothing for null, other values as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

impl Source {
    /// The list of `kind` narrowed by `filters` (the list page's query string).
    pub async fn open(app: &App, team_id: &str, kind: Kind, filters: &str) -> ExportResult<Self> {
        Ok(match kind {
            Kind::Emails => Source::Emails(search::read_filter(&query_params(filters)).0),
            Kind::Broadcasts => Source::Broadcasts(broadcasts::read_filter(&query_params(filters))),
            Kind::Contacts => {
                let keys = properties::all(app, team_id)
                    .await?
                    .into_iter()
                    .map(|p| p.key)
                    .collect();
                Source::Contacts(contacts::read_filter(&query_params(filters)), keys)
            }
            Kind::Segments => Source::Segments,
            Kind::Domains => Source::Domains,
            Kind::Logs => {
                let all = Page::everything();
                let names = api_keys::list(app, team_id, &all)
                    .await?
                    .data
                    .into_iter()
                    .map(|k| (k.id, k.name))
                    .collect();
                Source::Logs(logs::read_filter(&query_params(filters)).0, names)
            }
            Kind::ApiKeys => Source::ApiKeys,
        })
    }

    /// The header row.
    pub fn header(&self) -> Vec<String> {
        let names: &[&str] = match self {
            Source::Emails(_) => &[
                "id",
                "created_at",
                "from",
                "to",
                "cc",
                "bcc",
                "reply_to",
                "subject",
                "status",
                "scheduled_at",
                "tags",
            ],
            Source::Broadcasts(_) => &[
                "id",
                "name",
                "status",
                "segment_id",
                "topic_id",
                "from",
                "subject",
                "created_at",
                "scheduled_at",
                "sent_at",
            ],
            Source::Contacts(_, keys) => {
                let mut header: Vec<String> = [
                    "id",
                    "email",
                    "first_name",
                    "last_name",
                    "unsubscribed",
                    "created_at",
                    "updated_at",
                ]
                .map(String::from)
                .to_vec();
                header.extend(keys.iter().cloned());
                return header;
            }
            Source::Segments => &["id", "name", "contacts", "created_at"],
            Source::Domains => &[
                "id",
                "name",
                "status",
                "region",
                "open_tracking",
                "click_tracking",
                "tls",
                "created_at",
            ],
            Source::Logs(..) => &[
                "id",
                "created_at",
                "method",
                "endpoint",
                "status",
                "api_key_id",
                "api_key",
                "user_agent",
                "duration_ms",
            ],
            Source::ApiKeys => &[
                "id",
                "name",
                "permission",
                "domain_id",
                "token_prefix",
                "created_at",
                "last_used_at",
                "request_count",
            ],
        };
        names.iter().map(|n| n.to_string()).collect()
    }

    /// Up to `limit` records after the row `after` (from the newest without it).
    pub async fn page(
        &self,
        app: &App,
        team_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> ExportResult<Batch> {
        let page = Page {
            limit: Some(limit),
            cursor: after.map_or(Cursor::Newest, |id| Cursor::After(id.to_string())),
        };
        Ok(match self {
            Source::Emails(filter) => {
                let list = search::list(app, team_id, &page, filter).await?;
                batch(
                    list,
                    |e| &e.id,
                    |e| {
                        let tags = e
                            .tag_pairs()
                            .into_iter()
                            .map(|(name, value)| format!("{name}:{value}"))
                            .collect::<Vec<_>>()
                            .join("; ");
                        vec![
                            e.id.clone(),
                            time(e.created_at),
                            e.from_address.clone(),
                            emails::addresses(&e.to_addresses).join("; "),
                            emails::addresses(&e.cc_addresses).join("; "),
                            emails::addresses(&e.bcc_addresses).join("; "),
                            emails::addresses(&e.reply_to).join("; "),
                            e.subject.clone(),
                            e.last_event.clone(),
                            opt_time(e.scheduled_at),
                            tags,
                        ]
                    },
                )
            }
            Source::Broadcasts(filter) => {
                let list = broadcasts::list(app, team_id, &page, filter).await?;
                batch(
                    list,
                    |b| &b.id,
                    |b| {
                        vec![
                            b.id.clone(),
                            b.name.clone().unwrap_or_default(),
                            b.status().as_str().to_string(),
                            b.segment_id.clone().unwrap_or_default(),
                            b.topic_id.clone().unwrap_or_default(),
                            b.from.clone(),
                            b.subject.clone(),
                            time(b.created_at),
                            opt_time(b.scheduled_at),
                            opt_time(b.sent_at),
                        ]
                    },
                )
            }
            Source::Contacts(filter, keys) => {
                let list = contacts::list(app, team_id, &page, filter).await?;
                batch(
                    list,
                    |c| &c.id,
                    |c| {
                        let mut record = vec![
                            c.id.clone(),
                            c.email.clone(),
                            c.first_name.clone().unwrap_or_default(),
                            c.last_name.clone().unwrap_or_default(),
                            c.unsubscribed.to_string(),
                            time(c.created_at),
                            time(c.updated_at),
                        ];
                        if !keys.is_empty() {
                            let values = c.properties_map();
                            record.extend(keys.iter().map(|k| cell(values.get(k))));
                        }
                        record
                    },
                )
            }
            // A team has few segments; the page lists them all at once, by name.
            Source::Segments => {
                if after.is_some() {
                    return Ok(Batch {
                        records: Vec::new(),
                        last_id: None,
                        has_more: false,
                    });
                }
                let all = segments::all_with_counts(app, team_id).await?;
                Batch {
                    last_id: all.last().map(|s| s.id.clone()),
                    has_more: false,
                    records: all
                        .iter()
                        .map(|s| {
                            vec![
                                s.id.clone(),
                                s.name.clone(),
                                s.contacts.to_string(),
                                time(s.created_at),
                            ]
                        })
                        .collect(),
                }
            }
            Source::Domains => {
                let list = crate::domains::list(app, team_id, &page).await?;
                batch(
                    list,
                    |d| &d.id,
                    |d| {
                        vec![
                            d.id.clone(),
                            d.name.clone(),
                            d.status.clone(),
                            d.region.clone(),
                            d.open_tracking.to_string(),
                            d.click_tracking.to_string(),
                            d.tls.clone(),
                            time(d.created_at),
                        ]
                    },
                )
            }
            Source::Logs(filter, names) => {
                let list = logs::list(app, team_id, &page, filter).await?;
                batch(
                    list,
                    |l| &l.id,
                    |l| {
                        let key = l.api_key_id.clone().unwrap_or_default();
                        vec![
                            l.id.clone(),
                            time(l.created_at),
                            l.method.clone(),
                            l.path.clone(),
                            l.status.to_string(),
                            key.clone(),
                            names.get(&key).cloned().unwrap_or_default(),
                            l.user_agent.clone().unwrap_or_default(),
                            format!("{:.1}", l.duration_us as f64 / 1000.0),
                        ]
                    },
                )
            }
            Source::ApiKeys => {
                let list = api_keys::list(app, team_id, &page).await?;
                batch(
                    list,
                    |k| &k.id,
                    |k| {
                        vec![
                            k.id.clone(),
                            k.name.clone(),
                            k.permission.clone(),
                            k.domain_id.clone().unwrap_or_default(),
                            k.token_prefix.clone(),
                            time(k.created_at),
                            opt_time(k.last_used_at),
                            k.request_count.to_string(),
                        ]
                    },
                )
            }
        })
    }
}
