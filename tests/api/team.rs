//! Settings → Team at HTTP level: invitations (signed, expiring links, emailed through
//! Herald's own delivery when `[notifications] from` is set), accepting one, roles, the
//! last admin rule, removal ending sessions at once, and password changes.

use std::time::Duration;

use crate::dashboard::{Page, Visitor, sign_in_admin};
use crate::delivery::{SENDER_DOMAIN, WorldOptions, world_with};
use crate::helpers::{TestApp, spawn_app};

const TEAM: &str = "/dashboard/settings/team";

/// The invitation link a team page shows when it could not email it.
fn shown_link(page: &Page) -> String {
    let at = page
        .html
        .find("id=\"invite-link\">")
        .unwrap_or_else(|| panic!("link shown: {}", page.html));
    let rest = &page.html[at + 17..];
    rest[..rest.find('<').unwrap()].to_string()
}

fn path_of(link: &str, app: &TestApp) -> String {
    link.strip_prefix(&app.base)
        .unwrap_or_else(|| panic!("{link} is on {}", app.base))
        .to_string()
}

/// Invites `email` as `role` (no sender configured: the page shows the link); returns the
/// link's path.
async fn invite(app: &TestApp, admin: &Visitor, csrf: &str, email: &str, role: &str) -> String {
    let page = admin
        .post(
            "/dashboard/settings/team/invitations",
            &[("csrf_token", csrf), ("email", email), ("role", role)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains("created, but not emailed"),
        "{}",
        page.html
    );
    path_of(&shown_link(&page), app)
}

/// Accepts an invitation in a fresh browser; returns it signed in, with its CSRF token.
async fn accept(app: &TestApp, path: &str, password: &str) -> (Visitor, String) {
    let visitor = Visitor::new(app);
    let form = visitor.get(path).await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(form.html.contains("Join"));
    let done = visitor
        .post(
            path,
            &[("password", password), ("confirm_password", password)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let csrf = visitor.get(TEAM).await.input("csrf_token");
    (visitor, csrf)
}

fn member_id(page: &Page, email: &str) -> String {
    let marker = format!("data-email=\"{email}\"");
    let at = page.html.find(&marker).expect("member row");
    let before = &page.html[..at];
    let id_at = before.rfind("id=\"member-").expect("row id") + 11;
    before[id_at..id_at + 36].to_string()
}

#[tokio::test]
async fn invite_accept_roles_and_removal() {
    let app = spawn_app().await;
    let (admin, csrf) = sign_in_admin(&app).await;

    let settings = admin.get("/dashboard/settings").await;
    assert_eq!(settings.location(), TEAM);
    let team = admin.get(TEAM).await;
    assert_eq!(team.status, 200);
    assert!(team.html.contains(&app.admin_email));
    assert!(team.html.contains("Invite a member"));
    assert!(team.html.contains("href=\"/dashboard/settings/account\""));

    // Bad input: nothing stored.
    let bad = admin
        .post(
            "/dashboard/settings/team/invitations",
            &[
                ("csrf_token", &csrf),
                ("email", "not-an-email"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("valid email address"));
    let taken = admin
        .post(
            "/dashboard/settings/team/invitations",
            &[
                ("csrf_token", &csrf),
                ("email", &app.admin_email),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(taken.status, 422);
    // Without the CSRF token: refused.
    let forged = admin
        .post(
            "/dashboard/settings/team/invitations",
            &[("email", "x@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(forged.status, 403);

    let path = invite(&app, &admin, &csrf, "Mia@Example.com", "member").await;
    assert!(path.starts_with("/invite/"));
    let pending = admin.get(TEAM).await;
    assert!(pending.html.contains("Pending invitations"));
    assert!(pending.html.contains("mia@example.com"));

    // A tampered link opens nothing (the last character changed, whatever it was).
    let last = if path.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &path[..path.len() - 1]);
    let gone = Visitor::new(&app).get(&tampered).await;
    assert_eq!(gone.status, 404);
    assert!(gone.html.contains("not valid"));
    // Passwords must match the rules; the invitation stays usable.
    let short = Visitor::new(&app)
        .post(
            &path,
            &[("password", "short"), ("confirm_password", "short")],
        )
        .await;
    assert_eq!(short.status, 422);

    let (mia, mia_csrf) = accept(&app, &path, "mia-password-1").await;
    // Used once only.
    assert_eq!(Visitor::new(&app).get(&path).await.status, 404);
    let seen = mia.get(TEAM).await;
    assert_eq!(seen.status, 200);
    assert!(seen.html.contains("mia@example.com"));
    assert!(!seen.html.contains("Invite a member"));
    assert!(!seen.html.contains("Pending invitations"));

    // A member manages no one.
    let admin_id = member_id(&seen, &app.admin_email);
    let mia_id = member_id(&seen, "mia@example.com");
    let tries = [
        (
            "/dashboard/settings/team/invitations".to_string(),
            vec![("email", "z@example.com"), ("role", "admin")],
        ),
        (
            format!("/dashboard/settings/team/members/{admin_id}/role"),
            vec![("role", "member")],
        ),
        (
            format!("/dashboard/settings/team/members/{admin_id}/remove"),
            vec![],
        ),
        (
            format!("/dashboard/settings/team/members/{mia_id}/role"),
            vec![("role", "admin")],
        ),
    ];
    for (path, fields) in tries {
        let mut fields = fields;
        fields.push(("csrf_token", &mia_csrf));
        let page = mia.post(&path, &fields).await;
        assert_eq!(page.status, 403, "{path}: {}", page.html);
    }
    assert_eq!(
        mia.get(&format!(
            "/dashboard/settings/team/members/{admin_id}/remove"
        ))
        .await
        .status,
        403
    );

    // The last admin can be neither demoted nor removed (nor leave).
    let demote = admin
        .post(
            &format!("/dashboard/settings/team/members/{admin_id}/role"),
            &[("csrf_token", &csrf), ("role", "member")],
        )
        .await;
    assert_eq!(demote.status, 409, "{}", demote.html);
    assert!(demote.html.contains("at least one admin"));
    let leave = admin
        .post(
            &format!("/dashboard/settings/team/members/{admin_id}/remove"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(leave.status, 409);
    let roles: Vec<String> =
        herald::auth::members::list(&app.app, &crate::dashboard::team_id(&app).await)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.role)
            .collect();
    assert_eq!(roles, ["admin", "member"]);

    // Promote Mia; now the first admin may become a member, and Mia may not be demoted.
    let promote = admin
        .post(
            &format!("/dashboard/settings/team/members/{mia_id}/role"),
            &[("csrf_token", &csrf), ("role", "admin")],
        )
        .await;
    assert_eq!(promote.status, 303);
    assert!(mia.get(TEAM).await.html.contains("Invite a member"));
    let bad_role = admin
        .post(
            &format!("/dashboard/settings/team/members/{mia_id}/role"),
            &[("csrf_token", &csrf), ("role", "owner")],
        )
        .await;
    assert_eq!(bad_role.status, 409);
    let step_down = admin
        .post(
            &format!("/dashboard/settings/team/members/{admin_id}/role"),
            &[("csrf_token", &csrf), ("role", "member")],
        )
        .await;
    assert_eq!(step_down.status, 303);
    let csrf_mia_admin = mia.get(TEAM).await.input("csrf_token");
    let back = mia
        .post(
            &format!("/dashboard/settings/team/members/{admin_id}/role"),
            &[("csrf_token", &csrf_mia_admin), ("role", "admin")],
        )
        .await;
    assert_eq!(back.status, 303);

    // Removing Mia ends her session at once.
    let confirm = admin
        .get(&format!("/dashboard/settings/team/members/{mia_id}/remove"))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("Remove mia@example.com?"));
    let removed = admin
        .post(
            &format!("/dashboard/settings/team/members/{mia_id}/remove"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(removed.status, 303);
    let out = mia.get(TEAM).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/login");
    assert!(!admin.get(TEAM).await.html.contains("mia@example.com"));
}

#[tokio::test]
async fn invitations_expire_and_can_be_withdrawn() {
    let clock = std::sync::Arc::new(herald::clock::ManualClock::new(1_767_225_600_000));
    let app = crate::helpers::spawn_app_with_clock(clock.clone()).await;
    let (admin, csrf) = sign_in_admin(&app).await;
    let first = invite(&app, &admin, &csrf, "old@example.com", "member").await;
    // Inviting the same address again replaces the first link.
    let second = invite(&app, &admin, &csrf, "old@example.com", "admin").await;
    assert_ne!(first, second);
    assert_eq!(Visitor::new(&app).get(&first).await.status, 404);
    assert_eq!(Visitor::new(&app).get(&second).await.status, 200);

    clock.advance(7 * 24 * 3600 * 1000 + 1);
    assert_eq!(Visitor::new(&app).get(&second).await.status, 404);
    let late = Visitor::new(&app)
        .post(
            &second,
            &[
                ("password", "long-enough-1"),
                ("confirm_password", "long-enough-1"),
            ],
        )
        .await;
    assert_eq!(late.status, 404);
    // (Sessions last 7 days too: sign in again.)
    let (admin, csrf) = sign_in_admin(&app).await;
    assert!(admin.get(TEAM).await.html.contains("Expired"));

    let third = invite(&app, &admin, &csrf, "new@example.com", "member").await;
    let page = admin.get(TEAM).await;
    let at = page.html.find("data-email=\"new@example.com\"").unwrap();
    let before = &page.html[..at];
    let id_at = before.rfind("id=\"invitation-").unwrap() + 15;
    let id = &before[id_at..id_at + 36];
    let withdrawn = admin
        .post(
            &format!("/dashboard/settings/team/invitations/{id}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(withdrawn.status, 303);
    assert_eq!(Visitor::new(&app).get(&third).await.status, 404);
}

#[tokio::test]
async fn invitation_is_emailed_through_herald() {
    let w = world_with(WorldOptions {
        settings: Some(Box::new(|s| {
            s.notifications.from = format!("Herald <team@{SENDER_DOMAIN}>");
        })),
        ..WorldOptions::default()
    })
    .await;
    let (admin, csrf) = sign_in_admin(&w.app).await;
    let page = admin
        .post(
            "/dashboard/settings/team/invitations",
            &[
                ("csrf_token", &csrf),
                ("email", "leo@dest.dev"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains("Invitation sent to leo@dest.dev."),
        "{}",
        page.html
    );
    assert!(!page.html.contains("invite-link"));
    w.deliver().await;
    w.sink.wait_for(1).await;
    let message = &w.sink.messages()[0];
    assert_eq!(message.envelope.rcpt_to, vec!["leo@dest.dev"]);
    let parsed = mail_parser::MessageParser::default()
        .parse(&message.data)
        .expect("a message");
    assert!(parsed.subject().unwrap().contains("join"));
    let text = parsed.body_text(0).expect("text body").to_string();
    let start = text.find(&w.app.base).expect("link in the email");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let path = path_of(&link, &w.app);
    let (leo, _) = accept(&w.app, &path, "leo-password-1").await;
    let team = leo.get(TEAM).await;
    assert!(team.html.contains("Invite a member"), "joined as an admin");
    // The email is on the team's Emails list like any other, sent by no API key.
    let list = w.app.get("/emails").await;
    assert_eq!(list.body["data"][0]["to"][0], "leo@dest.dev");
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test]
async fn password_change_ends_other_sessions() {
    let app = spawn_app().await;
    let (here, csrf) = sign_in_admin(&app).await;
    let (elsewhere, _) = sign_in_admin(&app).await;
    let account = here.get("/dashboard/settings/account").await;
    assert_eq!(account.status, 200);
    assert!(account.html.contains("Change your password"));

    let wrong = here
        .post(
            "/dashboard/settings/account/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", "not-it-at-all"),
                ("new_password", "brand-new-pass"),
                ("confirm_password", "brand-new-pass"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.html.contains("current password is not correct"));
    let differ = here
        .post(
            "/dashboard/settings/account/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", &app.admin_password),
                ("new_password", "brand-new-pass"),
                ("confirm_password", "brand-new-pasz"),
            ],
        )
        .await;
    assert_eq!(differ.status, 422);
    assert_eq!(elsewhere.get(TEAM).await.status, 200);

    let done = here
        .post(
            "/dashboard/settings/account/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", &app.admin_password),
                ("new_password", "brand-new-pass"),
                ("confirm_password", "brand-new-pass"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(here.get(TEAM).await.status, 200, "this session stays");
    assert_eq!(elsewhere.get(TEAM).await.location(), "/login");
    let again = Visitor::new(&app);
    again.sign_in(&app.admin_email, "brand-new-pass").await;
}
