//! A team's branding on the pages its recipients see (the hosted unsubscribe page): display
//! name, logo address, accent colour and footer line. Owns the `team_branding` table; the
//! dashboard's Settings → Branding page edits it. A team that never saved any gets
//! [`Branding::default_for`] its name.

use serde::Serialize;
use sqlx::FromRow;

use crate::handle::App;
use crate::on_db;

/// What the branding service refuses, without HTTP: `http::error` maps each case to
/// Resend's status and error name, and the dashboard shows `Invalid` under its field.
#[derive(Debug, thiserror::Error)]
pub enum BrandingError {
    /// A field of the branding is refused; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// The team does not exist.
    #[error("Team not found.")]
    TeamNotFound,
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type BrandingResult<T> = Result<T, BrandingError>;

crate::passes_through!(BrandingError: sqlx::Error);

pub const DEFAULT_ACCENT: &str = "#4f46e5";
const MAX_NAME: usize = 100;
const MAX_URL: usize = 2048;
const MAX_FOOTER: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct Branding {
    /// Shown as the page's heading; the team's own name when not set.
    pub name: String,
    pub logo_url: Option<String>,
    pub accent_color: String,
    pub footer_text: Option<String>,
}

/// What the settings form sends; empty strings clear a field.
#[derive(Debug, Clone, Default)]
pub struct BrandingInput {
    pub name: String,
    pub logo_url: String,
    pub accent_color: String,
    pub footer_text: String,
}

#[derive(FromRow)]
struct Row {
    team_name: String,
    name: Option<String>,
    logo_url: Option<String>,
    accent_color: Option<String>,
    footer_text: Option<String>,
}

impl Branding {
    pub fn default_for(team_name: &str) -> Self {
        Self {
            name: team_name.to_string(),
            logo_url: None,
            accent_color: DEFAULT_ACCENT.into(),
            footer_text: None,
        }
    }
}

/// `#rgb` or `#rrggbb`: the only colours accepted, so nothing else reaches a `style`.
pub fn is_colour(text: &str) -> bool {
    let Some(hex) = text.strip_prefix('#') else {
        return false;
    };
    matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The team's branding (defaults when it saved none).
pub async fn get(app: &App, team_id: &str) -> BrandingResult<Branding> {
    let row: Option<Row> = crate::teams::with_branding(app, team_id).await?;
    let row = row.ok_or(BrandingError::TeamNotFound)?;
    let mut branding = Branding::default_for(&row.team_name);
    if let Some(name) = row.name.filter(|n| !n.is_empty()) {
        branding.name = name;
    }
    branding.logo_url = row.logo_url;
    if let Some(accent) = row.accent_color {
        branding.accent_color = accent;
    }
    branding.footer_text = row.footer_text;
    Ok(branding)
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Checks the input; the message names the field to fix.
fn validate(input: &BrandingInput) -> Result<(), String> {
    if input.name.trim().chars().count() > MAX_NAME {
        return Err(format!("The name can have at most {MAX_NAME} characters."));
    }
    if let Some(logo) = optional(&input.logo_url) {
        let parsed = url::Url::parse(&logo).ok();
        let https = parsed
            .as_ref()
            .is_some_and(|u| u.scheme() == "https" && u.host_str().is_some());
        if !https || logo.len() > MAX_URL {
            return Err("The logo URL must be an https:// address of an image.".into());
        }
    }
    let accent = input.accent_color.trim();
    if !accent.is_empty() && !is_colour(accent) {
        return Err("The accent colour must look like #4f46e5.".into());
    }
    if input.footer_text.trim().chars().count() > MAX_FOOTER {
        return Err(format!(
            "The footer text can have at most {MAX_FOOTER} characters."
        ));
    }
    Ok(())
}

/// Saves the team's branding; `Invalid` is input to fix.
pub async fn save(app: &App, team_id: &str, input: &BrandingInput) -> BrandingResult<Branding> {
    validate(input).map_err(BrandingError::Invalid)?;
    let accent = optional(&input.accent_color).unwrap_or_else(|| DEFAULT_ACCENT.into());
    let now = app.now_ms();
    on_db!(app.db(), |pool| {
        sqlx::query(
        "INSERT INTO team_branding (team_id, name, logo_url, accent_color, footer_text, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (team_id) DO UPDATE SET \
         name = excluded.name, logo_url = excluded.logo_url, accent_color = excluded.accent_color, \
         footer_text = excluded.footer_text, updated_at = excluded.updated_at"
    )
    .bind(team_id)
    .bind(optional(&input.name))
    .bind(optional(&input.logo_url))
    .bind(&accent)
    .bind(optional(&input.footer_text))
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    get(app, team_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = BrandingInput {
            name: "Acme".into(),
            logo_url: "https://acme.test/logo.png".into(),
            accent_color: "#ff6600".into(),
            footer_text: "Acme Inc, 1 Road".into(),
        };
        assert!(validate(&ok).is_ok());
        let bad_logo = BrandingInput {
            logo_url: "javascript:alert(1)".into(),
            ..ok.clone()
        };
        assert!(validate(&bad_logo).unwrap_err().contains("logo"));
        let http_logo = BrandingInput {
            logo_url: "http://acme.test/l.png".into(),
            ..ok.clone()
        };
        assert!(validate(&http_logo).is_err());
        let bad_colour = BrandingInput {
            accent_color: "red".into(),
            ..ok.clone()
        };
        assert!(validate(&bad_colour).unwrap_err().contains("colour"));
        let long = BrandingInput {
            footer_text: "x".repeat(501),
            ..ok
        };
        assert!(validate(&long).is_err());
    }
}
