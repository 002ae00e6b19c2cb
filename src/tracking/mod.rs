//! Open and click tracking. When the sending domain has it on, delivery passes the HTML
//! through [`rewrite_html`]: links go through `{base}/t/click/{token}` and a 1x1 pixel
//! `{base}/t/open/{token}` is appended. The public routes (`api::tracking`) check the token,
//! record an `opened` / `clicked` event (the webhook fan-out picks it up like any event) and
//! answer the pixel or a redirect.
//!
//! A token is `base64url(fields).hex(HMAC-SHA256)` under the instance secret, like the other
//! signed links: the routes need no stored state, and only targets Herald wrote into an
//! email can be redirected to (no open redirect).

pub mod html;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::tokens::{keyed_hash, same};
use crate::emails::events;
use crate::handle::App;
use crate::on_db;
use crate::store::BeginWrite;
use crate::store::sql::{BindArgs as _, Placeholders};

/// What a tracking link stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub email_id: String,
    /// Lower-case address; empty when the message went out to several recipients at once.
    pub recipient: String,
    /// The original link (`None` for the open pixel).
    pub link: Option<String>,
}

const OPEN: &str = "open";
const CLICK: &str = "click";

fn sign(secret: &[u8], kind: &str, fields: &str) -> String {
    keyed_hash(secret, &format!("tracking:v1:{kind}:{fields}"))
}

fn token(secret: &[u8], kind: &str, parts: &[&str]) -> String {
    // Fields are joined by a newline, which none of them can contain (ids, addresses,
    // URLs taken from attribute values with control characters refused).
    let fields = parts.join("\n");
    let signature = sign(secret, kind, &fields);
    format!("{}.{signature}", URL_SAFE_NO_PAD.encode(fields.as_bytes()))
}

fn open_token(secret: &[u8], fields: &str, signature: &str, kind: &str) -> Option<Vec<String>> {
    let bytes = URL_SAFE_NO_PAD.decode(fields).ok()?;
    let fields = String::from_utf8(bytes).ok()?;
    if !same(&sign(secret, kind, &fields), signature) {
        return None;
    }
    Some(fields.split('\n').map(str::to_string).collect())
}

fn parse(secret: &[u8], kind: &str, token: &str) -> Option<Vec<String>> {
    let (fields, signature) = token.split_once('.')?;
    open_token(secret, fields, signature, kind)
}

/// The pixel's URL.
pub fn open_url(base: &str, secret: &[u8], email_id: &str, recipient: &str) -> String {
    let token = token(secret, OPEN, &[email_id, recipient]);
    format!("{}/t/open/{token}", base.trim_end_matches('/'))
}

/// A tracked link's URL.
pub fn click_url(base: &str, secret: &[u8], email_id: &str, recipient: &str, link: &str) -> String {
    let token = token(secret, CLICK, &[email_id, recipient, link]);
    format!("{}/t/click/{token}", base.trim_end_matches('/'))
}

/// The open pixel's target, when the token is genuine.
pub fn verify_open(secret: &[u8], token: &str) -> Option<Target> {
    match parse(secret, OPEN, token)?.as_slice() {
        [email_id, recipient] => Some(Target {
            email_id: email_id.clone(),
            recipient: recipient.clone(),
            link: None,
        }),
        _ => None,
    }
}

/// A tracked link's target, when the token is genuine and the link is http(s).
pub fn verify_click(secret: &[u8], token: &str) -> Option<Target> {
    match parse(secret, CLICK, token)?.as_slice() {
        [email_id, recipient, link] if html::is_trackable(link) => Some(Target {
            email_id: email_id.clone(),
            recipient: recipient.clone(),
            link: Some(link.clone()),
        }),
        _ => None,
    }
}

/// Rewrites `html` for tracking: with `clicks`, every http(s) link of an `<a>` (except
/// unsubscribe links) goes through the click route; with `opens`, the pixel is added before
/// `</body>` (or at the end).
pub fn rewrite_html(
    html: &str,
    email_id: &str,
    recipient: &str,
    opens: bool,
    clicks: bool,
    base_url: &str,
    secret: &[u8],
) -> String {
    let mut out = if clicks {
        html::rewrite_links(html, |link| {
            click_url(base_url, secret, email_id, recipient, link)
        })
    } else {
        html.to_string()
    };
    if opens {
        let pixel = format!(
            "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;\
             width:1px;height:1px\">",
            open_url(base_url, secret, email_id, recipient)
        );
        let at = html::body_end(&out).unwrap_or(out.len());
        out.insert_str(at, &pixel);
    }
    out
}

/// The HTML delivery sends from a domain that tracks `opens` and `clicks` (its
/// `SendingDomain` settings): rewritten when it tracks either. `recipient` is the one address
/// of the message, or empty when it has several (one message is built for all of them).
pub fn for_delivery(
    app: &crate::handle::App,
    email_id: &str,
    recipient: &str,
    (opens, clicks): (bool, bool),
    html: &str,
) -> String {
    if !opens && !clicks {
        return html.to_string();
    }
    rewrite_html(
        html,
        email_id,
        recipient,
        opens,
        clicks,
        &app.public_base_url(),
        app.secret_key(),
    )
}

/// Adds the event and makes it the email's `last_event`, in one transaction; the webhook
/// fan-out sends `email.opened` / `email.clicked` from the event row. `false` when the
/// email no longer exists (nothing is recorded).
pub async fn record(
    app: &App,
    target: &Target,
    kind: &str,
    data: serde_json::Value,
) -> sqlx::Result<bool> {
    let now = app.now_ms();
    let recipient = (!target.recipient.is_empty()).then_some(target.recipient.as_str());
    let data = data.to_string();
    let style = Placeholders::of(app.db());
    on_db!(app.db(), |pool| {
        let mut tx = pool.begin_write().await?;
        let query = crate::emails::reads::team_of(&target.email_id);
        let team_id: Option<String> = sqlx::query_as(sqlx::AssertSqlSafe(query.sql.as_str()))
            .bind_args(&query.args)
            .fetch_optional(&mut *tx)
            .await?
            .map(|(team_id,): (String,)| team_id);
        if let Some(team_id) = &team_id {
            let event = events::NewEvent {
                email_id: &target.email_id,
                team_id,
                kind,
                recipient,
                data: &data,
                at: now,
            };
            let stmts = events::record(style, &[event], events::LastEvent::Update(now));
            crate::exec_stmts!(tx, &stmts)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(team_id.is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"secret";

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let url = click_url(
            "https://h.test/",
            KEY,
            "em1",
            "a@b.c",
            "https://x.test/?a=1&b=2",
        );
        let token = url.strip_prefix("https://h.test/t/click/").unwrap();
        let target = verify_click(KEY, token).unwrap();
        assert_eq!(target.link.as_deref(), Some("https://x.test/?a=1&b=2"));
        assert_eq!(target.recipient, "a@b.c");
        assert!(verify_click(b"other", token).is_none());
        assert!(
            verify_open(KEY, token).is_none(),
            "a click token is no open token"
        );
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("em1\na@b.c\nhttps://evil.test"),
            &token[token.find('.').unwrap() + 1..]
        );
        assert!(verify_click(KEY, &forged).is_none());
        let open = open_url("https://h.test", KEY, "em1", "");
        let token = open.strip_prefix("https://h.test/t/open/").unwrap();
        assert_eq!(verify_open(KEY, token).unwrap().email_id, "em1");
    }

    #[test]
    fn rewrites_links_and_adds_the_pixel() {
        let html = "<html><body><a class=x HREF='https://a.test/p?q=1&amp;r=2'>A</a> \
                    <a href=\"mailto:me@x.test\">m</a> <a href=\"#top\">t</a> \
                    <a href=\"https://x.test/unsubscribe?u=1\">u</a></body></html>";
        let out = rewrite_html(html, "em1", "a@b.c", true, true, "https://h.test", KEY);
        assert!(!out.contains("https://a.test"), "{out}");
        assert!(
            out.contains("<a class=x HREF='https://h.test/t/click/"),
            "{out}"
        );
        assert!(out.contains("mailto:me@x.test") && out.contains("href=\"#top\""));
        assert!(out.contains("https://x.test/unsubscribe?u=1"));
        assert!(out.contains("<img src=\"https://h.test/t/open/"));
        assert!(out.ends_with("\"></body></html>"), "{out}");
        let token = out
            .split("/t/click/")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        let target = verify_click(KEY, token).unwrap();
        assert_eq!(target.link.as_deref(), Some("https://a.test/p?q=1&r=2"));
        assert_eq!(
            rewrite_html(html, "em1", "", false, false, "https://h.test", KEY),
            html
        );
        let bare = rewrite_html("<p>hi</p>", "em1", "", true, false, "https://h.test", KEY);
        assert!(bare.starts_with("<p>hi</p><img src="));
    }
}
