//! The Settings area: a small layout (`templates/settings/frame.html`) whose side list is
//! [`NAV`], and its sections. This file holds the layout and Settings → Team (members,
//! roles, invitations) and Your account (password); other sections (exports, branding)
//! live in their own files and add one line to [`NAV`].
//!
//! Accepting an invitation (`/invite/<token>`) is here too: it is the Team section's other
//! end, reached signed out.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};

use super::crud::{Notice, done};
use super::csrf::{self, CsrfForm};
use super::format;
use super::pages::{PageError, PageResult, Shell, about, placed, refusal, render};
use super::session::{self, AdminForm, CurrentSession, Item};
use crate::auth::invitations::{self, Invitation};
use crate::auth::members::{self, Member};
use crate::auth::sessions::{self, Session};
use crate::error::AppError;
use crate::handle::App;

/// The Settings side list: (tab key, label, link). A new section adds one line.
pub const NAV: &[(&str, &str, &str)] = &[
    ("team", "Team", "/dashboard/settings/team"),
    ("branding", "Branding", "/dashboard/settings/branding"),
    ("exports", "Exports", "/dashboard/settings/exports"),
    ("account", "Your account", "/dashboard/settings/account"),
];

const TEAM: &str = "/dashboard/settings/team";
const ACCOUNT: &str = "/dashboard/settings/account";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/dashboard/settings", get(|| async { Redirect::to(TEAM) }))
        .route(TEAM, get(team_page))
        .route("/dashboard/settings/team/invitations", post(invite))
        .route(
            "/dashboard/settings/team/invitations/{id}/revoke",
            post(revoke),
        )
        .route("/dashboard/settings/team/members/{id}/role", post(set_role))
        .route(
            "/dashboard/settings/team/members/{id}/remove",
            get(confirm_remove).post(remove),
        )
        .route(ACCOUNT, get(account_page))
        .route(
            "/dashboard/settings/account/password",
            post(change_password),
        )
        .route("/invite/{token}", get(invitation_page).post(accept))
}

/// The side list's type, as Settings pages hold it (field `nav`, beside `shell` and `tab`,
/// the key of the section shown).
pub type Nav = &'static [(&'static str, &'static str, &'static str)];

/// The shell of a Settings page.
pub fn shell(session: &Session) -> Shell {
    Shell::in_section(session, "settings")
}

pub struct MemberRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub is_admin: bool,
    pub is_you: bool,
    pub joined: String,
}

pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub expires: String,
    pub expired: bool,
}

/// An invitation just made, whose link could not be emailed: shown once to the admin.
pub struct NewInvitation {
    pub email: String,
    pub link: String,
    pub why: String,
}

#[derive(Template)]
#[template(path = "settings/team.html")]
struct TeamPage {
    shell: Shell,
    tab: &'static str,
    nav: Nav,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    admins: usize,
    notice: Option<String>,
    error: Option<String>,
    unsent: Option<NewInvitation>,
    invite_email: String,
    /// The invitation form's role was `admin` (kept after a refusal).
    invite_admin: bool,
}

struct TeamState {
    notice: Option<String>,
    error: Option<String>,
    unsent: Option<NewInvitation>,
    invite_email: String,
    /// The invitation form's role was `admin` (kept after a refusal).
    invite_admin: bool,
}

async fn team_response(
    app: &App,
    session: &Session,
    status: StatusCode,
    state: TeamState,
) -> PageResult {
    let team = &session.user.team_id;
    let now = app.now_ms();
    let list = members::list(app, team).await?;
    let members: Vec<MemberRow> = list
        .iter()
        .map(|m: &Member| MemberRow {
            id: m.id.clone(),
            email: m.email.clone(),
            role: m.role.clone(),
            is_admin: m.is_admin(),
            is_you: m.id == session.user.id,
            joined: format::date(m.created_at),
        })
        .collect();
    let invitations = invitations::pending(app, team)
        .await?
        .into_iter()
        .map(|i: Invitation| InvitationRow {
            expired: i.expires_at <= now,
            expires: format::exact(i.expires_at),
            id: i.id,
            email: i.email,
            role: i.role,
            invited_by: i.invited_by,
        })
        .collect();
    let page = TeamPage {
        shell: shell(session),
        tab: "team",
        nav: NAV,
        admins: members.iter().filter(|m| m.is_admin).count(),
        members,
        invitations,
        notice: state.notice,
        error: state.error,
        unsent: state.unsent,
        invite_email: state.invite_email,
        invite_admin: state.invite_admin,
    };
    Ok(render(status, &page))
}

async fn team_page(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let notice = notice.message(&[
        ("role", "Role changed."),
        ("removed", "Member removed. Their sessions have ended."),
        ("revoked", "Invitation withdrawn. Its link no longer works."),
    ]);
    let state = TeamState {
        notice: notice.map(str::to_string),
        error: None,
        unsent: None,
        invite_email: String::new(),
        invite_admin: false,
    };
    team_response(&app, &current.session, StatusCode::OK, state).await
}

async fn invite(State(app): State<App>, form: AdminForm) -> PageResult {
    let session = &form.session;
    let team = &session.user.team_id;
    let email = form.fields.text("email").to_string();
    let role = form.fields.get("role").unwrap_or("member");
    let invitation = match invitations::create(&app, team, &session.user.email, &email, role).await
    {
        Ok(invitation) => invitation,
        Err(err) => {
            let state = TeamState {
                notice: None,
                error: Some(placed(
                    refusal(err)?,
                    "email,role",
                    &[("email", "email"), ("role", "role")],
                )),
                unsent: None,
                invite_admin: role == "admin",
                invite_email: email,
            };
            return team_response(&app, session, StatusCode::UNPROCESSABLE_ENTITY, state).await;
        }
    };
    let team_name = crate::teams::name(&app, team).await?;
    let state = match invitations::send(&app, &invitation, &team_name).await {
        Ok(_) => TeamState {
            notice: Some(format!("Invitation sent to {}.", invitation.email)),
            error: None,
            unsent: None,
            invite_email: String::new(),
            invite_admin: false,
        },
        Err(err) => TeamState {
            notice: None,
            error: None,
            unsent: Some(NewInvitation {
                email: invitation.email.clone(),
                link: invitations::link(&app, &invitation),
                why: refusal(err)?,
            }),
            invite_email: String::new(),
            invite_admin: false,
        },
    };
    team_response(&app, session, StatusCode::OK, state).await
}

async fn revoke(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    invitations::revoke(&app, &session.user.team_id, &form.id).await?;
    Ok(done(TEAM, "revoked"))
}

async fn refused(app: &App, session: &Session, message: String) -> PageResult {
    let state = TeamState {
        notice: None,
        error: Some(message),
        unsent: None,
        invite_email: String::new(),
        invite_admin: false,
    };
    team_response(app, session, StatusCode::CONFLICT, state).await
}

async fn set_role(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    let role = form.fields.text("role");
    match members::set_role(&app, &session.user.team_id, &form.id, role).await {
        Ok(()) => Ok(done(TEAM, "role")),
        Err(err) => {
            let message = refusal(err)?;
            refused(&app, session, message).await
        }
    }
}

#[derive(Template)]
#[template(path = "settings/remove.html")]
struct RemovePage {
    shell: Shell,
    tab: &'static str,
    nav: Nav,
    member: MemberRow,
}

/// Admins remove anyone; everyone may remove themselves (leave the team).
fn may_remove(session: &Session, user_id: &str) -> Result<(), PageError> {
    if session.user.id == user_id || session.is_admin() {
        Ok(())
    } else {
        Err(PageError::AdminOnly)
    }
}

async fn confirm_remove(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    may_remove(session, &current.id)?;
    let m = members::get(&app, &session.user.team_id, &current.id).await?;
    let page = RemovePage {
        shell: shell(session),
        tab: "team",
        nav: NAV,
        member: MemberRow {
            is_admin: m.is_admin(),
            is_you: m.id == session.user.id,
            joined: format::date(m.created_at),
            id: m.id,
            email: m.email,
            role: m.role,
        },
    };
    Ok(render(StatusCode::OK, &page))
}

async fn remove(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    may_remove(session, &form.id)?;
    match members::remove(&app, &session.user.team_id, &form.id).await {
        Ok(()) if form.id == session.user.id => Ok((
            [(
                header::SET_COOKIE,
                session::clear_cookie(&app, sessions::SESSION_COOKIE, "/"),
            )],
            Redirect::to("/login"),
        )
            .into_response()),
        Ok(()) => Ok(done(TEAM, "removed")),
        Err(err) => {
            let message = refusal(err)?;
            refused(&app, session, message).await
        }
    }
}

#[derive(Template)]
#[template(path = "settings/account.html")]
struct AccountPage {
    shell: Shell,
    tab: &'static str,
    nav: Nav,
    notice: Option<&'static str>,
    error: Option<String>,
}

async fn account_page(current: CurrentSession, notice: Notice) -> PageResult {
    let notice = notice.message(&[(
        "password",
        "Password changed. Your other sessions have been signed out.",
    )]);
    let page = AccountPage {
        shell: shell(&current.session),
        tab: "account",
        nav: NAV,
        notice,
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn change_password(State(app): State<App>, form: CsrfForm) -> PageResult {
    let session = &form.current.session;
    let (current, new, again) = (
        form.fields.text("current_password"),
        form.fields.text("new_password"),
        form.fields.text("confirm_password"),
    );
    // Each refusal under the input it is about: the new password's rules are checked first,
    // so what the service refuses after them is the current password.
    let refused = if new != again {
        Some(about("confirm_password", "The two new passwords differ."))
    } else if let Err(err) = sessions::check_new_password(new) {
        Some(about("new_password", &refusal(err)?))
    } else {
        let token = &form.current.token;
        match sessions::change_password(&app, &session.user.id, token, current, new).await {
            Ok(()) => None,
            Err(err) => Some(about("current_password", &refusal(err)?)),
        }
    };
    let Some(message) = refused else {
        return Ok(done(ACCOUNT, "password"));
    };
    let page = AccountPage {
        shell: shell(session),
        tab: "account",
        nav: NAV,
        notice: None,
        error: Some(message),
    };
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Template)]
#[template(path = "settings/invitation.html")]
struct InvitationPage {
    token: String,
    email: String,
    role: String,
    team: String,
    error: Option<String>,
}

async fn invitation_response(
    app: &App,
    token: String,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let invitation = match invitations::open(app, &token).await.map_err(AppError::from) {
        Ok(invitation) => invitation,
        Err(err) if err.is_not_found() => {
            return Ok(render(
                StatusCode::NOT_FOUND,
                &InvitationGone {
                    message: err.message,
                },
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let page = InvitationPage {
        team: crate::teams::name(app, &invitation.team_id).await?,
        token,
        email: invitation.email,
        role: invitation.role,
        error,
    };
    Ok(render(status, &page))
}

#[derive(Template)]
#[template(path = "settings/invitation_gone.html")]
struct InvitationGone {
    message: String,
}

async fn invitation_page(State(app): State<App>, Path(token): Path<String>) -> PageResult {
    invitation_response(&app, token, StatusCode::OK, None).await
}

/// The form is signed-out: the same-site check applies, and the link's signed token in the
/// path is the secret a forged request would need.
async fn accept(State(app): State<App>, Path(token): Path<String>, req: Request) -> PageResult {
    if !csrf::same_origin(&app, req.headers()) {
        return Err(PageError::Csrf);
    }
    let fields = csrf::read_form(req).await?;
    let (password, again) = (fields.text("password"), fields.text("confirm_password"));
    let result = if password != again {
        Err(AppError::validation("The two passwords differ."))
    } else {
        invitations::accept(&app, &token, password)
            .await
            .map_err(AppError::from)
    };
    match result {
        Ok((_, session_token)) => Ok((
            [(
                header::SET_COOKIE,
                session::session_cookie(&app, &session_token),
            )],
            Redirect::to(super::login::HOME),
        )
            .into_response()),
        Err(err) if err.is_not_found() => {
            invitation_response(&app, token, StatusCode::OK, None).await
        }
        Err(err) => {
            let message = refusal(err)?;
            invitation_response(&app, token, StatusCode::UNPROCESSABLE_ENTITY, Some(message)).await
        }
    }
}
