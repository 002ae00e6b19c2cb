//! The broadcast pages at HTTP level: Settings → Branding (what the hosted unsubscribe page
//! shows), and CSRF and roles on them.

use herald::auth::sessions::{self, Role};

use crate::dashboard::{Visitor, sign_in_admin, team_id};
use crate::helpers::{TestApp, spawn_app};

async fn sign_in_member(app: &TestApp) -> (Visitor, String) {
    let team = team_id(app).await;
    sessions::create_user(
        &app.app,
        &team,
        "member@example.com",
        "member-password",
        Role::Member,
    )
    .await
    .unwrap();
    let visitor = Visitor::new(app);
    let csrf = visitor
        .sign_in("member@example.com", "member-password")
        .await;
    (visitor, csrf)
}

#[tokio::test]
async fn branding_settings() {
    let app = spawn_app().await;
    let (admin, csrf) = sign_in_admin(&app).await;

    // Defaults: the team's name and the default accent.
    let page = admin.get("/dashboard/settings/branding").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.input("name"), "My team");
    assert_eq!(page.input("accent_color"), "#4f46e5");
    assert!(page.html.contains("href=\"/dashboard/settings/branding\""));
    assert!(page.html.contains("id=\"save-branding\""));

    // Bad input is refused with the values kept, and nothing is stored.
    let refused = admin
        .post(
            "/dashboard/settings/branding",
            &[
                ("csrf_token", &csrf),
                ("name", "Acme <News>"),
                ("logo_url", "javascript:alert(1)"),
                ("accent_color", "#ff6600"),
                ("footer_text", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("logo URL must be an https://"));
    assert!(refused.html.contains("value=\"Acme &#60;News&#62;\""));
    let team = team_id(&app).await;
    assert_eq!(
        herald::branding::get(&app.app, &team).await.unwrap().name,
        "My team"
    );

    // Without the CSRF token, or from another site: refused.
    let forged = admin
        .post(
            "/dashboard/settings/branding",
            &[("name", "Evil"), ("accent_color", "#000000")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let cross = admin
        .post_with(
            "/dashboard/settings/branding",
            &[("csrf_token", &csrf), ("name", "Evil")],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);

    let saved = admin
        .post(
            "/dashboard/settings/branding",
            &[
                ("csrf_token", &csrf),
                ("name", "Acme News"),
                ("logo_url", "https://acme.example/logo.png"),
                ("accent_color", "#ff6600"),
                ("footer_text", "Acme Inc, 1 Market Street"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let page = admin.get(saved.location()).await;
    assert!(page.html.contains("Branding saved."));
    assert_eq!(page.input("logo_url"), "https://acme.example/logo.png");
    let stored = herald::branding::get(&app.app, &team).await.unwrap();
    assert_eq!(stored.name, "Acme News");
    assert_eq!(stored.accent_color, "#ff6600");
    assert_eq!(
        stored.footer_text.as_deref(),
        Some("Acme Inc, 1 Market Street")
    );

    // Members see it but cannot change it.
    let (member, member_csrf) = sign_in_member(&app).await;
    let page = member.get("/dashboard/settings/branding").await;
    assert_eq!(page.status, 200);
    assert!(
        page.html
            .contains("Only team admins can change the branding.")
    );
    let denied = member
        .post(
            "/dashboard/settings/branding",
            &[("csrf_token", &member_csrf), ("name", "Member's")],
        )
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        herald::branding::get(&app.app, &team).await.unwrap().name,
        "Acme News"
    );
    app.stop().await;
}
