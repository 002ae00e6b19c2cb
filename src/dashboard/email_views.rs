//! What the Emails pages print: statuses as badges, addresses, the event timeline and
//! attachments with their kind (image, PDF, spreadsheet, other). Presentation only: the
//! emails, events and links come from `crate::emails`.

use super::format;
use crate::clock::Millis;
use crate::emails::events::{self, Event};
use crate::emails::store::{self, AttachmentRow, EmailRow};

/// An email status (its last event) or a timeline event, as a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBadge {
    /// CSS modifier: the tone of the badge.
    pub tone: &'static str,
    pub label: &'static str,
}

impl EventBadge {
    pub fn of(kind: &str) -> Self {
        let (tone, label) = match kind {
            events::QUEUED => ("blue", "Queued"),
            events::SCHEDULED => ("amber", "Scheduled"),
            events::SENT => ("blue", "Sent"),
            events::DELIVERED => ("green", "Delivered"),
            events::DELIVERY_DELAYED => ("amber", "Delivery delayed"),
            events::OPENED => ("violet", "Opened"),
            events::CLICKED => ("violet", "Clicked"),
            events::BOUNCED => ("red", "Bounced"),
            events::COMPLAINED => ("orange", "Complained"),
            events::FAILED => ("red", "Failed"),
            events::SUPPRESSED => ("grey", "Suppressed"),
            events::CANCELED => ("grey", "Canceled"),
            _ => ("grey", "Unknown"),
        };
        Self { tone, label }
    }
}

/// The statuses the list can be filtered by: (value, label).
pub fn status_choices() -> Vec<(&'static str, &'static str)> {
    events::ALL
        .iter()
        .map(|kind| (*kind, EventBadge::of(kind).label))
        .collect()
}

/// What the email's date says, by its state: a scheduled email is not sent yet, a canceled
/// or suppressed one never was. (visible text, exact time for the tooltip)
pub fn when(email: &EmailRow, now: Millis) -> (String, String) {
    let ago = format::relative(now, email.created_at);
    let exact = format::exact_seconds(email.created_at);
    match email.last_event.as_str() {
        events::SCHEDULED => match email.scheduled_at {
            Some(at) => (
                format!("Scheduled for {}", format::exact(at)),
                format::exact_seconds(at),
            ),
            None => (format!("Scheduled {ago}"), exact),
        },
        events::CANCELED => (format!("Canceled · created {ago}"), exact),
        events::SUPPRESSED => (format!("Not sent (suppressed) · {ago}"), exact),
        events::QUEUED => (format!("Queued {ago}"), exact),
        events::FAILED => (format!("Failed · created {ago}"), exact),
        _ => (format!("Sent {ago}"), exact),
    }
}

/// One line of the emails table.
pub struct EmailListRow {
    pub id: String,
    pub to: String,
    /// "+2" when there are more recipients than the first.
    pub more: String,
    pub badge: EventBadge,
    pub subject: String,
    pub sent: String,
    pub sent_exact: String,
}

impl EmailListRow {
    pub fn new(email: &EmailRow, now: Millis) -> Self {
        let to = store::addresses(&email.to_addresses);
        Self {
            id: email.id.clone(),
            to: to.first().cloned().unwrap_or_default(),
            more: match to.len() {
                0 | 1 => String::new(),
                n => format!("+{}", n - 1),
            },
            badge: EventBadge::of(&email.last_event),
            subject: email.subject.clone(),
            sent: when(email, now).0,
            sent_exact: when(email, now).1,
        }
    }
}

/// One event of the timeline.
pub struct TimelineRow {
    pub kind: String,
    pub badge: EventBadge,
    pub recipient: String,
    pub at: String,
    pub ago: String,
    pub reason: Option<String>,
    pub link: Option<String>,
}

impl TimelineRow {
    pub fn new(event: &Event, now: Millis) -> Self {
        Self {
            kind: event.kind.clone(),
            badge: EventBadge::of(&event.kind),
            recipient: event.recipient.clone().unwrap_or_default(),
            at: format::exact_seconds(event.created_at),
            ago: format::relative(now, event.created_at),
            reason: event.reason(),
            link: event.link(),
        }
    }
}

/// The four kinds of attachment the page draws a different icon for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentKind {
    Image,
    Pdf,
    Spreadsheet,
    Other,
}

const SPREADSHEET_TYPES: &[&str] = &[
    "text/csv",
    "text/tab-separated-values",
    "application/csv",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.apple.numbers",
];
const SPREADSHEET_EXTENSIONS: &[&str] = &["csv", "tsv", "xls", "xlsx", "xlsm", "ods", "numbers"];

impl AttachmentKind {
    /// By media type, then by the file name's extension (senders often say
    /// `application/octet-stream`).
    pub fn of(content_type: &str, filename: Option<&str>) -> Self {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let extension = filename
            .and_then(|f| f.rsplit_once('.'))
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_default();
        if media.starts_with("image/") {
            Self::Image
        } else if media == "application/pdf" || extension == "pdf" {
            Self::Pdf
        } else if SPREADSHEET_TYPES.contains(&media.as_str())
            || SPREADSHEET_EXTENSIONS.contains(&extension.as_str())
        {
            Self::Spreadsheet
        } else if ["png", "jpg", "jpeg", "gif", "webp", "svg"].contains(&extension.as_str()) {
            Self::Image
        } else {
            Self::Other
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Pdf => "pdf",
            Self::Spreadsheet => "spreadsheet",
            Self::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Image => "Image",
            Self::Pdf => "PDF",
            Self::Spreadsheet => "Spreadsheet",
            Self::Other => "File",
        }
    }
}

/// One attachment with its signed download link.
pub struct AttachmentItem {
    pub id: String,
    pub name: String,
    pub kind: AttachmentKind,
    pub content_type: String,
    pub size: String,
    pub inline: bool,
    pub download_url: String,
}

impl AttachmentItem {
    pub fn new(row: &AttachmentRow, download_url: String) -> Self {
        Self {
            id: row.id.clone(),
            name: row
                .filename
                .clone()
                .or_else(|| row.content_id.clone())
                .unwrap_or_else(|| "attachment".to_string()),
            kind: AttachmentKind::of(&row.content_type, row.filename.as_deref()),
            content_type: row.content_type.clone(),
            size: human_size(row.size),
            inline: row.content_id.is_some(),
            download_url,
        }
    }
}

/// "512 B", "12.5 KB", "3.1 MB".
pub fn human_size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else {
        format!("{:.1} MB", b / (KB * KB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_kinds() {
        use AttachmentKind::*;
        assert_eq!(AttachmentKind::of("image/png", Some("logo.png")), Image);
        assert_eq!(AttachmentKind::of("application/pdf", None), Pdf);
        assert_eq!(
            AttachmentKind::of("application/octet-stream", Some("r.PDF")),
            Pdf
        );
        assert_eq!(
            AttachmentKind::of("text/csv", Some("data.csv")),
            Spreadsheet
        );
        assert_eq!(
            AttachmentKind::of("application/octet-stream", Some("q3.xlsx")),
            Spreadsheet
        );
        assert_eq!(AttachmentKind::of("text/plain", Some("notes.txt")), Other);
    }

    #[test]
    fn dates_follow_the_state() {
        let row = |last_event: &str, scheduled_at: Option<i64>| EmailRow {
            id: "e".into(),
            from_address: String::new(),
            to_addresses: "[]".into(),
            cc_addresses: "[]".into(),
            bcc_addresses: "[]".into(),
            reply_to: "[]".into(),
            subject: String::new(),
            html: None,
            text: None,
            tags: "[]".into(),
            headers: None,
            topic_id: None,
            scheduled_at,
            last_event: last_event.into(),
            message_id: String::new(),
            created_at: 0,
        };
        let now = 120_000;
        assert_eq!(
            when(&row(events::SCHEDULED, Some(3_600_000)), now).0,
            "Scheduled for Jan 1, 1970, 01:00 UTC"
        );
        assert_eq!(
            when(&row(events::CANCELED, None), now).0,
            "Canceled · created 2 minutes ago"
        );
        assert_eq!(
            when(&row(events::SUPPRESSED, None), now).0,
            "Not sent (suppressed) · 2 minutes ago"
        );
        assert_eq!(
            when(&row(events::DELIVERED, None), now).0,
            "Sent 2 minutes ago"
        );
    }

    #[test]
    fn sizes_and_badges() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(12_800), "12.5 KB");
        assert_eq!(human_size(3_250_000), "3.1 MB");
        assert_eq!(EventBadge::of("bounced").tone, "red");
        assert_eq!(status_choices().len(), events::ALL.len());
    }
}
