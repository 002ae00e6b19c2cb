//! The Templates pages at HTTP level: list, create (with errors shown in the form), edit,
//! preview (sandboxed, escaped sample values), publish, duplicate, delete, and CSRF.

use serde_json::json;

use crate::dashboard::sign_in_admin;
use crate::helpers::spawn_app;

#[tokio::test]
async fn templates_pages() {
    let app = spawn_app().await;
    let (visitor, csrf) = sign_in_admin(&app).await;

    let list = visitor.get("/dashboard/templates").await;
    assert_eq!(list.status, 200);
    assert!(list.html.contains("No templates yet"));
    assert!(
        visitor
            .get("/dashboard/templates/new")
            .await
            .html
            .contains("template-form")
    );

    // A refused form comes back with the service's message and the values typed.
    let refused = visitor
        .post(
            "/dashboard/templates/new",
            &[
                ("csrf_token", &csrf),
                ("name", "Welcome"),
                ("html", "<p>{{{NAME}}}</p>"),
                ("variables", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("not declared"), "{}", refused.html);
    assert!(refused.html.contains("&#60;p&#62;{{{NAME}}}&#60;/p&#62;"));

    let created = visitor
        .post(
            "/dashboard/templates/new",
            &[
                ("csrf_token", &csrf),
                ("name", "Welcome"),
                ("alias", "welcome"),
                ("subject", "Hi {{{NAME}}}"),
                ("reply_to", "a@example.com, b@example.com"),
                (
                    "html",
                    "<p style=\"color:red\">Hi {{{NAME}}} {{{ITEMS}}}</p>",
                ),
                ("variables", "NAME string <you>\r\nITEMS list [1,2]"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    let page_path = created.location().split('?').next().unwrap().to_string();
    let id = page_path.rsplit('/').next().unwrap().to_string();

    // Created as the API sees it.
    let got = app.get(&format!("/templates/{id}")).await.body;
    assert_eq!(got["alias"], "welcome");
    assert_eq!(got["reply_to"], json!(["a@example.com", "b@example.com"]));
    assert_eq!(got["variables"][1]["fallback_value"], json!([1, 2]));
    assert!(got["text"].is_null());

    let page = visitor.get(&page_path).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Draft"));
    assert!(page.html.contains("id=\"publish\""));
    assert!(page.html.contains("NAME string &#60;you&#62;"));

    // The preview: the template's HTML with escaped sample values, under its own policy.
    let preview = visitor.get(&format!("{page_path}/preview")).await;
    assert_eq!(preview.status, 200);
    assert_eq!(
        preview.html,
        "<p style=\"color:red\">Hi &lt;you&gt; [1,2]</p>"
    );
    let csp = preview.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("sandbox;")
            && csp.contains("default-src 'none'")
            && csp.contains("img-src data:;")
    );
    assert_eq!(preview.headers["x-frame-options"], "SAMEORIGIN");

    // Publish; saving the form unchanged makes no new version.
    let published = visitor
        .post(&format!("{page_path}/publish"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(published.status, 303);
    assert_eq!(
        app.get("/templates/welcome").await.body["status"],
        "published"
    );
    let same_fields = |html: &str| {
        vec![
            ("csrf_token".to_string(), csrf.clone()),
            ("name".into(), "Welcome".into()),
            ("alias".into(), "welcome".into()),
            ("subject".into(), "Hi {{{NAME}}}".into()),
            ("reply_to".into(), "a@example.com, b@example.com".into()),
            ("html".into(), html.to_string()),
            (
                "variables".into(),
                "NAME string <you>\nITEMS list [1,2]".into(),
            ),
        ]
    };
    let unchanged = same_fields("<p style=\"color:red\">Hi {{{NAME}}} {{{ITEMS}}}</p>");
    let fields: Vec<(&str, &str)> = unchanged
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(visitor.post(&page_path, &fields).await.status, 303);
    assert_eq!(
        app.get("/templates/welcome").await.body["has_unpublished_versions"],
        false
    );
    let changed = same_fields("<p>Changed {{{NAME}}}</p>");
    let fields: Vec<(&str, &str)> = changed
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(visitor.post(&page_path, &fields).await.status, 303);
    let page = visitor.get(&page_path).await;
    assert!(page.html.contains("Unpublished changes"), "{}", page.html);

    // Duplicate opens the copy; the list shows both.
    let copy = visitor
        .post(&format!("{page_path}/duplicate"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(copy.status, 303);
    assert!(copy.location().contains("notice=duplicated"));
    let list = visitor.get("/dashboard/templates").await;
    assert!(list.html.contains("Welcome (copy)") && list.html.contains("Published"));

    // CSRF is required on every form.
    let forged = visitor
        .post(&format!("{page_path}/delete"), &[("csrf_token", "nope")])
        .await;
    assert_eq!(forged.status, 403);
    let confirm = visitor.get(&format!("{page_path}/delete")).await;
    assert!(confirm.html.contains("Delete “Welcome”?"));
    let deleted = visitor
        .post(&format!("{page_path}/delete"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(visitor.get(&page_path).await.status, 404);
    assert_eq!(
        visitor.get(&format!("{page_path}/preview")).await.status,
        404
    );

    // Signed out: to the login page, the preview too.
    let stranger = crate::dashboard::Visitor::new(&app);
    let away = stranger.get("/dashboard/templates").await;
    assert_eq!(away.location(), "/login");
    assert_eq!(
        stranger
            .get(&format!("{page_path}/preview"))
            .await
            .location(),
        "/login"
    );
}
