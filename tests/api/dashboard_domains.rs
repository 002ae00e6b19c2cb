//! The Domains pages of the dashboard at HTTP level: list, add (with the service's validation
//! errors in the form), the domain page with its records, "Verify DNS records" against a real
//! DNS server, the tracking switches, the DMARC/BIMI panel, delete with confirmation, CSRF and
//! roles.

use std::time::Duration;

use herald::auth::api_keys::{self, KeyInput};
use herald::domains::{self, DomainInput};
use serde_json::Value;

use crate::dashboard::{sign_in_admin, sign_in_member, team_id};
use crate::dns_server::TestDns;
use crate::domains::spawn_configured;
use crate::helpers::{Options, TestApp};

/// Herald with its resolver pointed at a DNS server the test controls.
pub async fn spawn_with_dns() -> (TestApp, TestDns) {
    let dns = TestDns::start().await;
    let server = dns.server();
    let app = spawn_configured(Options {
        configure: Some(Box::new(move |settings| settings.dns_server = server)),
        ..Options::default()
    })
    .await;
    (app, dns)
}

/// Publishes every record the domain asks for, as its owner would.
pub async fn publish_records(app: &TestApp, dns: &TestDns, domain_id: &str) {
    let team = team_id(app).await;
    let domain = domains::get(&app.app, &team, domain_id).await.unwrap();
    for record in domains::records(&app.app, &domain).await.unwrap() {
        let r = record.expected;
        match r.rtype {
            "MX" => {
                dns.add_mx(&r.fqdn, r.priority.unwrap_or(10), &r.value)
                    .await
            }
            "CNAME" => dns.add_cname(&r.fqdn, &r.value).await,
            "CAA" => {
                // `0 issue "ca.example"`
                let issuer = r.value.split('"').nth(1).unwrap();
                dns.add_caa(&r.fqdn, 0, "issue", issuer).await
            }
            _ => dns.add_long_txt(&r.fqdn, &r.value).await,
        }
    }
}

/// The domain through the API.
async fn api_domain(app: &TestApp, id: &str) -> Value {
    let reply = app.get(&format!("/domains/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Runs the due verification jobs (the server's worker may hold one) until the domain has
/// `status`.
async fn wait_for_status(app: &TestApp, id: &str, status: &str) -> Value {
    for _ in 0..2000 {
        app.run_pending_jobs().await;
        let domain = api_domain(app, id).await;
        if domain["status"] == status {
            return domain;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("domain {id} never became {status}");
}

async fn create_domain(app: &TestApp, name: &str) -> String {
    let team = team_id(app).await;
    let input = DomainInput {
        name: Some(name.into()),
        ..Default::default()
    };
    domains::create(&app.app, &team, input).await.unwrap().id
}

/// The HTML of the element with `id`, up to the end of its line-level block.
fn section<'a>(html: &'a str, id: &str, end: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let stop = html[start..].find(end).map_or(html.len(), |at| start + at);
    &html[start..stop]
}

#[tokio::test]
async fn admin_adds_verifies_toggles_and_deletes_a_domain() {
    let (app, dns) = spawn_with_dns().await;
    let (visitor, csrf) = sign_in_admin(&app).await;

    let empty = visitor.get("/dashboard/domains").await;
    assert_eq!(empty.status, 200);
    assert!(empty.html.contains("No domains yet"));
    assert!(
        empty
            .html
            .contains("href=\"/dashboard/domains\" aria-current=\"page\"")
    );
    // The sidebar links the Domains page from the other pages too.
    let keys = visitor.get("/dashboard/api-keys").await;
    assert!(keys.html.contains("href=\"/dashboard/domains\""));

    let form = visitor.get("/dashboard/domains/new").await;
    assert_eq!(form.status, 200);
    for region in ["us-east-1", "eu-west-1", "sa-east-1", "ap-northeast-1"] {
        assert!(
            form.html.contains(&format!("value=\"{region}\"")),
            "{region}"
        );
    }
    assert!(form.html.contains("Advanced options"));
    assert!(!form.html.contains("<details class=\"advanced\" open"));

    // The service's validation errors come back in the form, with what was typed.
    let add = |name: &'static str, region: &'static str, path: &'static str| {
        let csrf = csrf.clone();
        let visitor = &visitor;
        async move {
            visitor
                .post(
                    "/dashboard/domains",
                    &[
                        ("csrf_token", &csrf),
                        ("name", name),
                        ("region", region),
                        ("custom_return_path", path),
                    ],
                )
                .await
        }
    };
    let bad_name = add("-updates.example.com", "us-east-1", "").await;
    assert_eq!(bad_name.status, 422);
    assert!(bad_name.html.contains("id=\"form-error\""));
    assert!(
        bad_name
            .html
            .contains("has a label starting or ending with a hyphen"),
        "{}",
        bad_name.html
    );
    assert_eq!(bad_name.input("name"), "-updates.example.com");
    let bad_path = add("updates.example.com", "sa-east-1", "1bounce").await;
    assert_eq!(bad_path.status, 422);
    assert!(
        bad_path
            .html
            .contains("<p class=\"field-error\" id=\"form-error\" role=\"alert\">Must start with a letter.</p>"),
        "{}",
        bad_path.html
    );
    assert!(bad_path.html.contains("<details class=\"advanced\" open"));
    assert!(bad_path.html.contains("value=\"sa-east-1\" selected"));
    let bad_region = add("updates.example.com", "mars-1", "").await;
    assert_eq!(bad_region.status, 422);
    assert!(
        bad_region
            .html
            .contains("id=\"form-error\" role=\"alert\">Must be one of")
    );
    let blank = add("  ", "us-east-1", "").await;
    assert_eq!(blank.status, 422);
    assert!(blank.html.contains("Fill in this field."));
    assert!(!blank.html.contains('`'), "no literal backticks");
    assert_eq!(
        app.get("/domains").await.body["data"],
        Value::Array(vec![]),
        "nothing was created"
    );

    // A valid one: off to its page.
    let added = add("Updates.Example.com", "eu-west-1", "bounces").await;
    assert_eq!(added.status, 303, "{}", added.html);
    let location = added.location().to_string();
    let id = location
        .strip_prefix("/dashboard/domains/")
        .and_then(|rest| rest.strip_suffix("?notice=added"))
        .unwrap_or_else(|| panic!("{location}"))
        .to_string();
    let api = api_domain(&app, &id).await;
    assert_eq!(api["name"], "updates.example.com");
    assert_eq!(api["region"], "eu-west-1");
    assert_eq!(api["custom_return_path"], "bounces");

    let page = visitor.get(&location).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Domain added."));
    assert!(section(&page.html, "domain-status", "</div>").contains("Not started"));
    assert!(page.html.contains("Ireland"));
    // Every record of the API, with its value, a copy button, type, priority and TTL.
    let records = api["records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    for record in records {
        assert!(
            page.html.contains(record["value"].as_str().unwrap()),
            "{record}"
        );
        assert!(
            page.html
                .contains(&format!(">{}<", record["name"].as_str().unwrap()))
        );
    }
    for key in ["spf_mx", "spf_txt", "dkim"] {
        let row = section(&page.html, &format!("record-{key}"), "</tr>");
        assert!(row.contains(&format!("data-copy=\"value-{key}\"")), "{row}");
        assert!(row.contains("id=\"value-"), "{row}");
        assert!(row.contains("Auto") && row.contains("Not started"), "{row}");
    }
    assert!(section(&page.html, "record-spf_mx", "</tr>").contains(">10<"));
    assert!(
        page.html.contains(">bounces.updates<"),
        "names relative to the zone"
    );
    assert!(
        page.html.contains("id=\"auth-empty\""),
        "no DMARC report yet"
    );
    assert!(page.html.contains("aria-checked=\"false\""));

    let list = visitor.get("/dashboard/domains").await;
    let row = section(&list.html, &format!("domain-{id}"), "</tr>");
    assert!(row.contains("updates.example.com") && row.contains("Not started"));
    assert!(row.contains("Ireland") && row.contains("eu-west-1"));
    assert!(row.contains("badge status not-started"));

    // Verify with nothing in DNS: pending, and the page says what Herald does.
    let verify = visitor
        .post(
            &format!("/dashboard/domains/{id}/verify"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(verify.status, 303);
    assert_eq!(
        verify.location(),
        format!("/dashboard/domains/{id}?notice=verifying")
    );
    let pending = visitor.get(verify.location()).await;
    assert!(section(&pending.html, "domain-status", "</div>").contains("Pending"));
    assert!(pending.html.contains("badge status pending"));
    // While pending, the status and records refresh by themselves, and the page says so
    // once (no separate notice repeating the status).
    assert!(pending.html.contains("hx-trigger=\"every 5s\""));
    assert!(pending.html.contains("This page updates by itself."));
    assert!(!pending.html.contains("id=\"notice\""));
    assert_eq!(api_domain(&app, &id).await["status"], "pending");
    let list = visitor.get("/dashboard/domains").await;
    assert!(section(&list.html, &format!("domain-{id}"), "</tr>").contains("Pending"));

    // The owner publishes the records, DMARC at p=none and a BIMI record; verify again.
    publish_records(&app, &dns, &id).await;
    dns.add_txt(
        "_dmarc.updates.example.com",
        &["v=DMARC1; p=none; rua=mailto:dmarc@example.com"],
    )
    .await;
    dns.add_txt(
        "default._bimi.updates.example.com",
        &["v=BIMI1; l=https://example.com/logo.svg"],
    )
    .await;
    visitor
        .post(
            &format!("/dashboard/domains/{id}/verify"),
            &[("csrf_token", &csrf)],
        )
        .await;
    wait_for_status(&app, &id, "verified").await;
    let verified = visitor.get(&format!("/dashboard/domains/{id}")).await;
    assert!(section(&verified.html, "domain-status", "</div>").contains("Verified"));
    assert!(section(&verified.html, "record-dkim", "</tr>").contains("Verified"));
    assert!(verified.html.contains("Last checked just now"));
    assert!(
        !verified.html.contains("hx-trigger=\"every"),
        "no refresh once verified"
    );
    // The DMARC/BIMI panel: what is in place, and what to fix.
    let dmarc = section(&verified.html, "dmarc", "id=\"bimi\"");
    assert!(dmarc.contains("A valid DMARC record is published at _dmarc.updates.example.com."));
    assert!(dmarc.contains("Aggregate reports go to mailto:dmarc@example.com."));
    assert!(dmarc.contains("The policy is p=none"), "{dmarc}");
    assert!(dmarc.contains("What to fix"));
    let bimi = section(&verified.html, "bimi", "</section>");
    assert!(bimi.contains("A BIMI record is published at default._bimi.updates.example.com."));
    assert!(bimi.contains(">Not ready<"));
    assert!(
        bimi.contains("BIMI needs a DMARC policy of p=quarantine or p=reject"),
        "{bimi}"
    );

    // Tracking switches: each button sends the new value of one flag.
    let toggle = |field: &'static str, value: &'static str| {
        let csrf = csrf.clone();
        let visitor = &visitor;
        let path = format!("/dashboard/domains/{id}/tracking");
        async move {
            visitor
                .post(&path, &[("csrf_token", &csrf), (field, value)])
                .await
        }
    };
    let on = toggle("open_tracking", "true").await;
    assert_eq!(on.status, 303);
    assert_eq!(
        on.location(),
        format!("/dashboard/domains/{id}?notice=tracking")
    );
    let api = api_domain(&app, &id).await;
    assert_eq!(
        (api["open_tracking"].clone(), api["click_tracking"].clone()),
        (Value::Bool(true), Value::Bool(false))
    );
    toggle("click_tracking", "true").await;
    toggle("open_tracking", "false").await;
    let api = api_domain(&app, &id).await;
    assert_eq!(api["open_tracking"], false);
    assert_eq!(api["click_tracking"], true);
    let page = visitor.get(&format!("/dashboard/domains/{id}")).await;
    let switches = section(&page.html, "tracking", "</section>");
    assert!(
        switches.contains("name=\"open_tracking\" value=\"true\""),
        "{switches}"
    );
    assert!(
        switches.contains("name=\"click_tracking\" value=\"false\""),
        "{switches}"
    );
    assert!(section(switches, "click-state", "</span>").contains("On"));
    let nothing = visitor
        .post(
            &format!("/dashboard/domains/{id}/tracking"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(nothing.status, 400);

    // Delete: a confirmation page (naming the sending key that goes too), then gone.
    let team = team_id(&app).await;
    let sending_key = KeyInput {
        name: Some("Newsletter sender".into()),
        permission: Some("sending_access".into()),
        domain_id: Some(Some(id.clone())),
    };
    api_keys::create(&app.app, &team, sending_key)
        .await
        .unwrap();
    let confirm = visitor
        .get(&format!("/dashboard/domains/{id}/delete"))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("Delete “updates.example.com”?"));
    assert!(confirm.html.contains("“Newsletter sender”"));
    assert_eq!(
        api_domain(&app, &id).await["id"],
        id.as_str(),
        "asking is not deleting"
    );
    let deleted = visitor
        .post(
            &format!("/dashboard/domains/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert_eq!(deleted.location(), "/dashboard/domains?notice=deleted");
    let list = visitor.get(deleted.location()).await;
    assert!(list.html.contains("Domain deleted."));
    assert!(!list.html.contains(&id));
    assert_eq!(app.get(&format!("/domains/{id}")).await.status, 404);
    let keys = app.get("/api-keys").await;
    assert_eq!(keys.body["data"].as_array().unwrap().len(), 1);
    let gone = visitor.get(&format!("/dashboard/domains/{id}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        visitor.get("/dashboard/domains/not-an-id").await.status,
        404
    );
    assert_eq!(
        visitor
            .get(&format!("/dashboard/domains/{id}/delete"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn domain_changes_need_the_session_csrf_token() {
    let (app, _dns) = spawn_with_dns().await;
    let (visitor, csrf) = sign_in_admin(&app).await;
    let id = create_domain(&app, "example.com").await;
    let forged = "a".repeat(csrf.len());
    let add = [("name", "other.example.com"), ("region", "us-east-1")];
    let verify = format!("/dashboard/domains/{id}/verify");
    let tracking = format!("/dashboard/domains/{id}/tracking");
    let delete = format!("/dashboard/domains/{id}/delete");

    for (path, fields) in [
        ("/dashboard/domains", &add[..]),
        (verify.as_str(), &[][..]),
        (tracking.as_str(), &[("open_tracking", "true")][..]),
        (delete.as_str(), &[][..]),
    ] {
        let missing = visitor.post(path, fields).await;
        assert_eq!(missing.status, 403, "{path}");
        assert!(missing.html.contains("This form has expired"));
        let mut wrong = fields.to_vec();
        wrong.push(("csrf_token", &forged));
        assert_eq!(visitor.post(path, &wrong).await.status, 403, "{path}");
        let mut right = fields.to_vec();
        right.push(("csrf_token", &csrf));
        let foreign = visitor
            .post_with(path, &right, &[("origin", "https://evil.example")])
            .await;
        assert_eq!(foreign.status, 403, "{path}");
        let cross_site = visitor
            .post_with(path, &right, &[("sec-fetch-site", "cross-site")])
            .await;
        assert_eq!(cross_site.status, 403, "{path}");
    }
    let domains = app.get("/domains").await.body;
    assert_eq!(domains["data"].as_array().unwrap().len(), 1);
    let domain = api_domain(&app, &id).await;
    assert_eq!(domain["status"], "not_started");
    assert_eq!(domain["open_tracking"], false);

    // htmx sends the token as a header instead of a field.
    let htmx = visitor
        .post_with(
            &tracking,
            &[("open_tracking", "true")],
            &[("x-csrf-token", csrf.as_str()), ("hx-request", "true")],
        )
        .await;
    assert_eq!(htmx.status, 303, "{}", htmx.html);
    assert_eq!(api_domain(&app, &id).await["open_tracking"], true);
}

#[tokio::test]
async fn members_see_domains_but_cannot_change_them() {
    let (app, _dns) = spawn_with_dns().await;
    let id = create_domain(&app, "updates.example.com").await;
    let (visitor, csrf) = sign_in_member(&app).await;

    let list = visitor.get("/dashboard/domains").await;
    assert_eq!(list.status, 200);
    assert!(list.html.contains("updates.example.com"));
    assert!(!list.html.contains("id=\"add-domain\""));
    let page = visitor.get(&format!("/dashboard/domains/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("data-copy=\"value-dkim\""),
        "members can copy records"
    );
    assert!(!page.html.contains("id=\"verify\""));
    assert!(!page.html.contains("id=\"delete-domain\""));
    assert!(!page.html.contains("role=\"switch\""));
    assert!(section(&page.html, "open-state", "</span>").contains("Off"));

    assert_eq!(visitor.get("/dashboard/domains/new").await.status, 403);
    assert_eq!(
        visitor
            .get(&format!("/dashboard/domains/{id}/delete"))
            .await
            .status,
        403
    );
    let add = visitor
        .post(
            "/dashboard/domains",
            &[("csrf_token", &csrf), ("name", "mine.example.com")],
        )
        .await;
    assert_eq!(add.status, 403);
    assert!(add.html.contains("Admins only"));
    for (path, fields) in [
        (format!("/dashboard/domains/{id}/verify"), vec![]),
        (
            format!("/dashboard/domains/{id}/tracking"),
            vec![("open_tracking", "true")],
        ),
        (format!("/dashboard/domains/{id}/delete"), vec![]),
    ] {
        let mut fields = fields;
        fields.push(("csrf_token", &csrf));
        assert_eq!(visitor.post(&path, &fields).await.status, 403, "{path}");
    }
    let domain = api_domain(&app, &id).await;
    assert_eq!(domain["status"], "not_started");
    assert_eq!(domain["open_tracking"], false);
    assert_eq!(
        app.get("/domains").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn tracking_records_show_with_their_status() {
    let (app, dns) = spawn_with_dns().await;
    let (visitor, _csrf) = sign_in_admin(&app).await;
    let team = team_id(&app).await;
    let input = DomainInput {
        name: Some("updates.example.com".into()),
        tracking_subdomain: Some(Some("links".into())),
        ..Default::default()
    };
    let id = domains::create(&app.app, &team, input).await.unwrap().id;
    let page = visitor.get(&format!("/dashboard/domains/{id}")).await;
    let cname = section(&page.html, "record-tracking", "</tr>");
    assert!(cname.contains(">links.updates<") && cname.contains("track.herald.test"));
    let caa = section(&page.html, "record-tracking_caa", "</tr>");
    assert!(caa.contains(">CAA<") && caa.contains(">updates<"), "{caa}");
    assert!(
        caa.contains("0 issue &#34;letsencrypt.org&#34;")
            || caa.contains("0 issue &quot;letsencrypt.org&quot;"),
        "{caa}"
    );
    assert!(caa.contains("data-copy=\"value-tracking_caa\"") && caa.contains("Not started"));
    assert!(
        page.html
            .contains("Needed only when your domain already has CAA records.")
    );

    // The apex allows another CA: the row says why and what to publish.
    dns.add_caa("example.com", 0, "issue", "sectigo.com").await;
    publish_records(&app, &dns, &id).await;
    dns.remove(
        "updates.example.com",
        hickory_server::proto::rr::RecordType::CAA,
    )
    .await;
    domains::start_verification(&app.app, &team, &id)
        .await
        .unwrap();
    wait_for_status(&app, &id, "verified").await;
    let page = visitor.get(&format!("/dashboard/domains/{id}")).await;
    assert!(section(&page.html, "record-tracking", "</tr>").contains("Verified"));
    let caa = section(&page.html, "record-tracking_caa", "</tr>");
    assert!(caa.contains("Pending"), "{caa}");
    assert!(
        caa.contains("allow only sectigo.com to issue certificates for links.updates.example.com"),
        "{caa}"
    );
}
