//! Performance of a broadcast, from the events of its emails: totals, opens and clicks over
//! time, clicked links, and the recipients behind each figure.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::error::{BroadcastError, BroadcastResult};
use super::store;
use crate::clock::Millis;
use crate::handle::App;
use crate::store::page::{Cursor, ListResponse, Page};

/// The performance page's figures. Opens and clicks are counted once per recipient
/// (`unique_*`) and in total.
#[derive(Debug, Clone, Default)]
pub struct Performance {
    /// Emails queued for the broadcast.
    pub recipients: i64,
    pub delivered: i64,
    pub bounced: i64,
    pub complained: i64,
    pub suppressed: i64,
    /// Contacts who unsubscribed through this broadcast's link.
    pub unsubscribed: i64,
    pub unique_opens: i64,
    pub unique_clicks: i64,
    pub opens: i64,
    pub clicks: i64,
    /// Most clicked first.
    pub links: Vec<ClickedLink>,
    /// Opens and clicks per time bucket, oldest first (hourly for the first two days after
    /// the send, then daily).
    pub timeline: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickedLink {
    pub url: String,
    pub clicks: i64,
    pub unique_clicks: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub start: Millis,
    pub opens: i64,
    pub clicks: i64,
}

/// The events of a broadcast's emails of the given types: (email id, type, recipient
/// contact, address list, data, time).
#[derive(sqlx::FromRow)]
struct EventRow {
    email_id: String,
    kind: String,
    contact_id: Option<String>,
    to_addresses: String,
    data: String,
    created_at: i64,
}

async fn events(app: &App, id: &str, kinds: &[&str]) -> BroadcastResult<Vec<EventRow>> {
    Ok(crate::emails::reads::broadcast_events(app, id, kinds).await?)
}

fn click_link(data: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    value["click"]["link"].as_str().map(str::to_string)
}

fn bounce_type(data: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    value["bounce"]["type"]
        .as_str()
        .unwrap_or("undetermined")
        .to_ascii_lowercase()
}

const HOUR: Millis = 3_600_000;

pub async fn performance(app: &App, team_id: &str, id: &str) -> BroadcastResult<Performance> {
    let b = store::get(app, team_id, id).await?;
    let rows = events(
        app,
        &b.id,
        &[
            "delivered",
            "bounced",
            "complained",
            "suppressed",
            "opened",
            "clicked",
        ],
    )
    .await?;
    let unsubscribed = super::unsubscribe::count(app, &b.id).await?;
    let mut unique: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut perf = Performance {
        recipients: b.recipients,
        unsubscribed,
        ..Default::default()
    };
    let mut links: BTreeMap<String, (i64, HashSet<&str>)> = BTreeMap::new();
    for row in &rows {
        unique
            .entry(row.kind.as_str())
            .or_default()
            .insert(&row.email_id);
        match row.kind.as_str() {
            "opened" => perf.opens += 1,
            "clicked" => {
                perf.clicks += 1;
                if let Some(link) = click_link(&row.data) {
                    let entry = links.entry(link).or_default();
                    entry.0 += 1;
                    entry.1.insert(&row.email_id);
                }
            }
            _ => {}
        }
    }
    let count = |kind: &str| unique.get(kind).map_or(0, |s| s.len() as i64);
    perf.delivered = count("delivered");
    perf.bounced = count("bounced");
    perf.complained = count("complained");
    perf.suppressed = count("suppressed");
    perf.unique_opens = count("opened");
    perf.unique_clicks = count("clicked");
    perf.links = links
        .into_iter()
        .map(|(url, (clicks, emails))| ClickedLink {
            url,
            clicks,
            unique_clicks: emails.len() as i64,
        })
        .collect();
    perf.links
        .sort_by(|a, b| b.clicks.cmp(&a.clicks).then(a.url.cmp(&b.url)));
    // Buckets from the send: hourly over the first two days, daily after.
    let start = b
        .scheduled_at
        .unwrap_or(b.updated_at)
        .min(rows.iter().map(|r| r.created_at).min().unwrap_or(i64::MAX));
    let start = start - start.rem_euclid(HOUR);
    let last = rows.iter().map(|r| r.created_at).max().unwrap_or(start);
    let width = if last - start <= 48 * HOUR {
        HOUR
    } else {
        24 * HOUR
    };
    let mut buckets: BTreeMap<i64, Bucket> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| r.kind == "opened" || r.kind == "clicked")
    {
        let at = start + (row.created_at - start) / width * width;
        let bucket = buckets.entry(at).or_insert(Bucket {
            start: at,
            opens: 0,
            clicks: 0,
        });
        if row.kind == "opened" {
            bucket.opens += 1;
        } else {
            bucket.clicks += 1;
        }
    }
    perf.timeline = buckets.into_values().collect();
    Ok(perf)
}

/// Offset pagination with Resend's opaque ids (base64 of `offset:N`).
fn offset_id(n: usize) -> String {
    STANDARD_NO_PAD.encode(format!("offset:{n}"))
}

fn parse_offset(id: &str) -> BroadcastResult<usize> {
    let bad = || {
        BroadcastError::Invalid("The `after` / `before` cursor is not one this list gave.".into())
    };
    let text = STANDARD_NO_PAD
        .decode(id.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    text.strip_prefix("offset:")
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)
}

/// A page of `items` (already in order) for `query`, the page the request asked for (or the
/// caller's refusal of it, reported only after the other checks); each item gets its offset
/// id.
fn page<T>(
    items: Vec<T>,
    query: &Result<Page, String>,
) -> BroadcastResult<ListResponse<(String, T)>> {
    let p = query.clone().map_err(BroadcastError::Invalid)?;
    let limit = p.limit.unwrap_or(20) as usize;
    let (from, to) = match &p.cursor {
        Cursor::Newest => (0, limit),
        Cursor::After(id) => {
            let n = parse_offset(id)? + 1;
            (n, n + limit)
        }
        Cursor::Before(id) => {
            let n = parse_offset(id)?;
            (n.saturating_sub(limit), n)
        }
    };
    let total = items.len();
    let data: Vec<(String, T)> = items
        .into_iter()
        .enumerate()
        .skip(from)
        .take(to.saturating_sub(from))
        .map(|(i, item)| (offset_id(i), item))
        .collect();
    let has_more = match p.cursor {
        Cursor::Before(_) => from > 0,
        _ => to < total,
    };
    Ok(ListResponse {
        object: "list",
        has_more,
        data,
    })
}

/// The event types `GET /broadcasts/{id}/recipients` filters by.
pub const RECIPIENT_TYPES: &[&str] = &[
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "complained",
    "unsubscribed",
    "suppressed",
];

#[derive(Debug, Clone, Default)]
pub struct RecipientFilter {
    /// One of [`RECIPIENT_TYPES`] (required).
    pub kind: Option<String>,
    pub email: Option<String>,
    /// permanent, transient or undetermined; only with `bounced`.
    pub bounce_type: Option<String>,
}

/// A recipient for an event type. `id` is an opaque cursor (base64 of `offset:N`, as
/// Resend's).
#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: String,
    pub contact_id: Option<String>,
    pub email: String,
    /// How often (opened, clicked).
    pub count: Option<i64>,
    pub bounce_type: Option<String>,
    pub clicked_links: Option<Vec<(String, i64)>>,
}

/// The recipients of broadcast `id` in `filter`'s group; `query` is the page asked for, or
/// the message of the caller's refusal of it (reported as `Invalid` after the broadcast and
/// the filter are checked).
pub async fn recipients(
    app: &App,
    team_id: &str,
    id: &str,
    filter: &RecipientFilter,
    query: &Result<Page, String>,
) -> BroadcastResult<ListResponse<Recipient>> {
    let b = store::get(app, team_id, id).await?;
    let kind = filter
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or(BroadcastError::Missing("type"))?;
    if !RECIPIENT_TYPES.contains(&kind) {
        return Err(BroadcastError::Invalid(format!(
            "The `type` parameter must be one of {}.",
            RECIPIENT_TYPES.join(", ")
        )));
    }
    if let Some(bounce) = filter.bounce_type.as_deref().filter(|t| !t.is_empty()) {
        if kind != "bounced" {
            return Err(BroadcastError::Invalid(
                "The `bounce_type` parameter can only be used with `type=bounced`.".into(),
            ));
        }
        if !["permanent", "transient", "undetermined"].contains(&bounce) {
            return Err(BroadcastError::Invalid(
                "The `bounce_type` parameter must be permanent, transient or undetermined.".into(),
            ));
        }
    }
    let wanted_email = filter
        .email
        .as_deref()
        .filter(|e| !e.is_empty())
        .map(str::to_lowercase);
    let mut out: Vec<Recipient> = Vec::new();
    if kind == "unsubscribed" {
        let rows = super::unsubscribe::contacts(app, &b.id).await?;
        out.extend(rows.into_iter().map(|(contact_id, email)| Recipient {
            id: String::new(),
            contact_id: Some(contact_id),
            email,
            count: None,
            bounce_type: None,
            clicked_links: None,
        }));
    } else {
        let rows = events(app, &b.id, &[kind]).await?;
        let mut by_email: BTreeMap<String, Recipient> = BTreeMap::new();
        let mut links: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
        for row in &rows {
            let address = crate::emails::store::addresses(&row.to_addresses)
                .into_iter()
                .next()
                .map(|a| crate::emails::address::Mailbox::parse(&a).map_or(a, |m| m.email))
                .unwrap_or_default();
            let entry = by_email.entry(address.clone()).or_insert(Recipient {
                id: String::new(),
                contact_id: row.contact_id.clone(),
                email: address.clone(),
                count: None,
                bounce_type: None,
                clicked_links: None,
            });
            match kind {
                "opened" | "clicked" => *entry.count.get_or_insert(0) += 1,
                "bounced" => entry.bounce_type = Some(bounce_type(&row.data)),
                _ => {}
            }
            if kind == "clicked"
                && let Some(link) = click_link(&row.data)
            {
                *links.entry(address).or_default().entry(link).or_default() += 1;
            }
        }
        for (address, mut r) in by_email {
            if kind == "clicked" {
                r.clicked_links = Some(
                    links
                        .remove(&address)
                        .unwrap_or_default()
                        .into_iter()
                        .collect(),
                );
            }
            out.push(r);
        }
    }
    out.retain(|r| {
        wanted_email
            .as_ref()
            .is_none_or(|e| r.email.to_lowercase() == *e)
            && filter
                .bounce_type
                .as_deref()
                .filter(|t| !t.is_empty())
                .is_none_or(|t| r.bounce_type.as_deref() == Some(t))
    });
    let list = page(out, query)?;
    Ok(ListResponse {
        object: list.object,
        has_more: list.has_more,
        data: list
            .data
            .into_iter()
            .map(|(id, r)| Recipient { id, ..r })
            .collect(),
    })
}

/// Clicked links with opaque cursor ids, most clicked first.
pub async fn clicked_links(
    app: &App,
    team_id: &str,
    id: &str,
    query: &Result<Page, String>,
) -> BroadcastResult<ListResponse<(String, ClickedLink)>> {
    let perf = performance(app, team_id, id).await?;
    page(perf.links, query)
}
