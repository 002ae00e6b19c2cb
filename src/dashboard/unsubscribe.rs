//! The hosted unsubscribe page, `GET /u/{token}` (no login: recipients reach it from the
//! link in a broadcast): unsubscribe from everything, or choose per public topic, under the
//! team's branding (Settings → Branding). The link's token is checked by
//! `broadcasts::unsubscribe::verify`; a forged one is a 404. `POST /u/{token}` itself is the
//! RFC 8058 one-click unsubscribe, served by the broadcasts module.
//!
//! The page's forms post to `/u/{token}/preferences`. Without a session there is no CSRF
//! token to echo, so each form carries one of its own: an HMAC under the instance secret of
//! the link's token and the time the page was shown, valid for a day; the browser's
//! `Sec-Fetch-Site` / `Origin` must also say the post comes from this site.
//!
//! The page has its own headers: images from https (the team's logo), its one `<style>`
//! element (the accent colour) allowed by hash, and referrers only to this site (the logo is
//! fetched without one), so the logo's host never sees the link.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::csrf::{read_form, same_origin};
use super::pages::{PageError, PageResult, render};
use crate::auth::tokens::{keyed_hash, same};
use crate::branding::{self, Branding};
use crate::broadcasts::unsubscribe::{self as unsub, Preferences, Subscriber};
use crate::handle::App;

/// How long a shown page's forms stay valid.
const FORM_TTL_MS: i64 = 24 * 3600 * 1000;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/u/{token}", get(show))
        .route("/u/{token}/preferences", post(change))
}

/// The signature of a form shown at `issued` for the link `token`.
fn form_signature(secret: &[u8], token: &str, issued: i64) -> String {
    keyed_hash(secret, &format!("unsubscribe-form:v1:{token}:{issued}"))
}

fn form_is_genuine(app: &App, token: &str, issued: &str, signature: &str) -> bool {
    let Ok(issued) = issued.parse::<i64>() else {
        return false;
    };
    let age = app.now_ms() - issued;
    (0..=FORM_TTL_MS).contains(&age)
        && same(&form_signature(app.secret_key(), token, issued), signature)
}

#[derive(Template)]
#[template(path = "public/unsubscribe.html")]
struct UnsubscribePage {
    branding: Branding,
    style: String,
    token: String,
    issued: i64,
    signature: String,
    unsubscribed: bool,
    topics: Vec<TopicRow>,
    done: Option<&'static str>,
}

pub struct TopicRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub subscribed: bool,
    /// The topic the email was sent for.
    pub current: bool,
}

#[derive(Deserialize)]
struct ShowParams {
    done: Option<String>,
}

fn subscriber(app: &App, token: &str) -> Result<Subscriber, PageError> {
    unsub::verify(app.secret_key(), token).ok_or(PageError::NotFound)
}

async fn show(
    State(app): State<App>,
    Path(token): Path<String>,
    Query(params): Query<ShowParams>,
) -> PageResult {
    let who = subscriber(&app, &token)?;
    let prefs: Preferences = unsub::preferences(&app, &who).await?;
    let branding = branding::get(&app, &who.team_id).await?;
    let issued = app.now_ms();
    let done = match params.done.as_deref() {
        Some("all") => Some("You are unsubscribed. You will not receive these emails any more."),
        Some("topics") => Some("Your choices are saved."),
        _ => None,
    };
    let style = accent_style(&branding.accent_color);
    let page = UnsubscribePage {
        signature: form_signature(app.secret_key(), &token, issued),
        issued,
        token,
        unsubscribed: prefs.unsubscribed,
        topics: prefs
            .topics
            .into_iter()
            .map(|t| TopicRow {
                current: prefs.topic_id.as_deref() == Some(t.id.as_str()),
                id: t.id,
                name: t.name,
                description: t.description.unwrap_or_default(),
                subscribed: t.subscribed,
            })
            .collect(),
        done,
        branding,
        style,
    };
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'sha256-{}'; \
         img-src 'self' data: https:; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'; object-src 'none'",
        STANDARD.encode(Sha256::digest(page.style.as_bytes()))
    );
    let mut response = render(StatusCode::OK, &page);
    public_headers(&mut response, &csp);
    Ok(response)
}

fn public_headers(response: &mut Response, csp: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: with it, browsers send `Origin: null` on the page's own posts.
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

async fn change(State(app): State<App>, Path(token): Path<String>, req: Request) -> PageResult {
    let who = subscriber(&app, &token)?;
    if !same_origin(&app, req.headers()) {
        return Err(PageError::Csrf);
    }
    let fields = read_form(req).await?;
    if !form_is_genuine(
        &app,
        &token,
        fields.text("form_issued"),
        fields.text("form_token"),
    ) {
        return Err(PageError::Csrf);
    }
    let done = match fields.text("action") {
        "all" => {
            unsub::unsubscribe_all(&app, &who).await?;
            "all"
        }
        "topics" => {
            let prefs = unsub::preferences(&app, &who).await?;
            let choices: Vec<(String, bool)> = prefs
                .topics
                .iter()
                .map(|t| {
                    (
                        t.id.clone(),
                        fields.get(&format!("topic:{}", t.id)).is_some(),
                    )
                })
                .collect();
            let resubscribe = fields.get("resubscribe").is_some();
            unsub::set_topics(&app, &who, &choices, resubscribe).await?;
            "topics"
        }
        _ => return Err(PageError::BadRequest),
    };
    Ok(Redirect::to(&format!("/u/{token}?done={done}")).into_response())
}

/// The page's accent colour, with text colours that stay readable on it: white or near-black
/// text on accent buttons, and the accent itself (or near-black when too light) as text on
/// white (WCAG contrast of at least 4.5:1).
fn accent_style(accent: &str) -> String {
    const INK: &str = "#111827";
    let (on_accent, accent_ink) = match luminance(accent) {
        Some(l) => {
            let white = 1.05 / (l + 0.05);
            let ink = (l + 0.05) / (0.0119 + 0.05);
            (
                if white >= ink { "#fff" } else { INK },
                if white >= 4.5 { accent } else { INK },
            )
        }
        None => ("#fff", accent),
    };
    format!(".public{{--accent:{accent};--on-accent:{on_accent};--accent-ink:{accent_ink}}}")
}

/// The WCAG relative luminance of a `#rrggbb` colour.
fn luminance(hex: &str) -> Option<f64> {
    let hex = hex.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let channel = |i: usize| -> Option<f64> {
        let v = f64::from(u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?) / 255.0;
        Some(if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        })
    };
    Some(0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_signatures_bind_the_link_and_the_time() {
        let a = form_signature(b"k", "tok", 5);
        assert_eq!(a, form_signature(b"k", "tok", 5));
        assert_ne!(a, form_signature(b"k", "tok", 6));
        assert_ne!(a, form_signature(b"k", "other", 5));
        assert_ne!(a, form_signature(b"j", "tok", 5));
    }
    #[test]
    fn accent_text_stays_readable() {
        // Indigo: white text on it, and itself readable on white.
        assert_eq!(
            accent_style("#4f46e5"),
            ".public{--accent:#4f46e5;--on-accent:#fff;--accent-ink:#4f46e5}"
        );
        // Orange is too light for white text or as text on white.
        assert_eq!(
            accent_style("#ff6600"),
            ".public{--accent:#ff6600;--on-accent:#111827;--accent-ink:#111827}"
        );
    }
}
