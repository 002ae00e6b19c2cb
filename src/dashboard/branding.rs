//! Settings → Branding: the team's name, logo, accent colour and footer on the pages its
//! recipients see (the hosted unsubscribe page). Every member sees it; admins change it.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::crud::{Notice, done};
use super::pages::{PageResult, Shell, placed, render};
use super::session::{AdminForm, CurrentSession};
use crate::auth::sessions::Session;
use crate::branding::{self, Branding, BrandingError, BrandingInput};
use crate::handle::App;

pub const PATH: &str = "/dashboard/settings/branding";
const SECTION: &str = "settings";

pub fn routes() -> Router<App> {
    Router::new().route(PATH, get(show).post(save))
}

#[derive(Template)]
#[template(path = "settings/branding.html")]
struct BrandingPage {
    shell: Shell,
    tab: &'static str,
    nav: super::settings::Nav,
    form: BrandingInput,
    error: Option<String>,
    notice: Option<&'static str>,
}

fn input_of(b: &Branding) -> BrandingInput {
    BrandingInput {
        name: b.name.clone(),
        logo_url: b.logo_url.clone().unwrap_or_default(),
        accent_color: b.accent_color.clone(),
        footer_text: b.footer_text.clone().unwrap_or_default(),
    }
}

fn page(
    session: &Session,
    form: BrandingInput,
    error: Option<String>,
    notice: Option<&'static str>,
) -> BrandingPage {
    BrandingPage {
        shell: Shell::in_section(session, SECTION),
        tab: "branding",
        nav: super::settings::NAV,
        form,
        error,
        notice,
    }
}

async fn show(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let session = &current.session;
    let branding = branding::get(&app, &session.user.team_id).await?;
    let notice = notice.message(&[("saved", "Branding saved.")]);
    let page = page(session, input_of(&branding), None, notice);
    Ok(render(StatusCode::OK, &page))
}

async fn save(State(app): State<App>, form: AdminForm) -> PageResult {
    let session = &form.session;
    let f = &form.fields;
    let input = BrandingInput {
        name: f.text("name").to_string(),
        logo_url: f.text("logo_url").to_string(),
        accent_color: f.text("accent_color").to_string(),
        footer_text: f.text("footer_text").to_string(),
    };
    match branding::save(&app, &session.user.team_id, &input).await {
        Ok(_) => Ok(done(PATH, "saved")),
        Err(BrandingError::Invalid(message)) => {
            let words = [
                ("name", "name"),
                ("logo", "logo_url"),
                ("accent", "accent_color"),
                ("footer", "footer_text"),
            ];
            let message = placed(message, "", &words);
            let page = page(session, input, Some(message), None);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(err) => Err(err.into()),
    }
}
