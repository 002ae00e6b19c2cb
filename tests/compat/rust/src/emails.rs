//! Emails, batches, templates and webhooks (with real deliveries to a local receiver).

use std::collections::HashMap;
use std::time::Duration;

use resend_rs::Resend;
use resend_rs::events::{EmailEventType, Event, try_parse_event};
use resend_rs::idempotent::IdempotentTrait;
use resend_rs::list_opts::ListOptions;
use resend_rs::types::{
    BatchValidation, CreateAttachment, CreateEmailBaseOptions, CreateTemplateOptions,
    CreateWebhookOptions, EmailEvent, EmailTemplate, TemplateEvent, UpdateEmailOptions,
    UpdateTemplateOptions, UpdateWebhookOptions, Variable, VariableType, WebhookStatus,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::{Runner, UNKNOWN_ID, ensure, ensure_eq, expect_error, is_resource_time, need, sdk};

const FROM: &str = "Acme <onboarding@example.com>";

fn mail(subject: &str) -> CreateEmailBaseOptions {
    CreateEmailBaseOptions::new(FROM, ["delivered@resend.dev"], subject)
        .with_html("<p>Hello from the Rust SDK</p>")
        .with_tag(resend_rs::types::Tag::new("category", "compat_test"))
}

/// A moment `hours` from now in RFC 3339, for `scheduled_at`.
fn hours_from_now(hours: u64) -> String {
    let at = std::time::SystemTime::now() + Duration::from_secs(hours * 3600);
    let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub async fn emails(r: &mut Runner, resend: &Resend) {
    let sent = r
        .check("emails: send to a test recipient", async {
            Ok(sdk(resend.emails.send(mail("Rust compat")).await)?.id)
        })
        .await;

    r.check(
        "emails: get decodes (from, to, subject, last_event, created_at)",
        async {
            let id = need(&sent)?;
            let email = sdk(resend.emails.get(&id).await)?;
            ensure_eq(email.from.as_str(), FROM, "from")?;
            ensure_eq(email.to, vec!["delivered@resend.dev".to_string()], "to")?;
            ensure_eq(email.subject.as_str(), "Rust compat", "subject")?;
            ensure(
                is_resource_time(&email.created_at),
                format!("created_at {}", email.created_at),
            )?;
            ensure(
                matches!(
                    email.last_event,
                    EmailEvent::Queued | EmailEvent::Sent | EmailEvent::Delivered
                ),
                format!("last_event {:?}", email.last_event),
            )
        },
    )
    .await;

    r.check("emails: list with a cursor", async {
        let id = need(&sent)?;
        sdk(resend.emails.send(mail("Rust compat second")).await)?;
        let page = sdk(resend
            .emails
            .list(ListOptions::default().with_limit(1))
            .await)?;
        ensure(page.has_more && page.len() == 1, "limit 1 pages")?;
        let all = sdk(resend
            .emails
            .list(ListOptions::default().with_limit(100))
            .await)?;
        ensure(
            all.data.iter().any(|e| e.id == id),
            "the sent email is listed",
        )
    })
    .await;

    r.check(
        "emails: Idempotency-Key replays the first answer, a changed body conflicts",
        async {
            let first = sdk(resend
                .emails
                .send(mail("Idempotent").with_idempotency_key("rust-compat-1"))
                .await)?;
            let again = sdk(resend
                .emails
                .send(mail("Idempotent").with_idempotency_key("rust-compat-1"))
                .await)?;
            ensure_eq(&again.id, &first.id, "replayed id")?;
            let changed = resend
                .emails
                .send(mail("Changed").with_idempotency_key("rust-compat-1"))
                .await;
            expect_error(changed, 409, &["invalid_idempotent_request"])?;
            Ok(())
        },
    )
    .await;

    let scheduled = r
        .check("emails: scheduled_at \"in 1 hour\" → scheduled", async {
            let id = sdk(resend
                .emails
                .send(mail("Later").with_scheduled_at("in 1 hour"))
                .await)?
            .id;
            let email = sdk(resend.emails.get(&id).await)?;
            ensure(
                matches!(email.last_event, EmailEvent::Scheduled),
                format!("{:?}", email.last_event),
            )?;
            ensure(email.scheduled_at.is_some(), "scheduled_at")?;
            Ok(id)
        })
        .await;

    r.check("emails: reschedule (update)", async {
        let id = need(&scheduled)?;
        let later = hours_from_now(3);
        let updated = sdk(resend
            .emails
            .update(&id, UpdateEmailOptions::new().with_scheduled_at(&later))
            .await)?;
        ensure_eq(&updated.id, &id, "id")
    })
    .await;

    r.check("emails: cancel → canceled", async {
        let id = need(&scheduled)?;
        let canceled = sdk(resend.emails.cancel(&id).await)?;
        ensure_eq(&canceled.id, &id, "id")?;
        let email = sdk(resend.emails.get(&id).await)?;
        ensure(
            matches!(email.last_event, EmailEvent::Canceled),
            format!("{:?}", email.last_event),
        )
    })
    .await;

    r.check("emails: cancel an unknown id → 404 not_found", async {
        expect_error(resend.emails.cancel(UNKNOWN_ID).await, 404, &["not_found"])?;
        Ok(())
    })
    .await;

    r.check(
        "emails: scheduled more than 30 days ahead → 422 validation_error",
        async {
            let too_late = hours_from_now(24 * 40);
            expect_error(
                resend
                    .emails
                    .send(mail("Too late").with_scheduled_at(&too_late))
                    .await,
                422,
                &["validation_error"],
            )?;
            Ok(())
        },
    )
    .await;

    r.check("emails: invalid from → 422 invalid_from_address", async {
        let bad = CreateEmailBaseOptions::new("not an address", ["delivered@resend.dev"], "x")
            .with_text("x");
        expect_error(
            resend.emails.send(bad).await,
            422,
            &["invalid_from_address"],
        )?;
        Ok(())
    })
    .await;

    r.check("emails: get an unknown id → 404 not_found", async {
        expect_error(resend.emails.get(UNKNOWN_ID).await, 404, &["not_found"])?;
        Ok(())
    })
    .await;

    let with_attachment = r
        .check(
            "attachments: content as the SDK's byte list is accepted",
            async {
                let attachment = CreateAttachment::from_content(b"hello".to_vec())
                    .with_filename("hello.txt")
                    .with_content_type("text/plain");
                Ok(sdk(resend
                    .emails
                    .send(mail("With attachment").with_attachment(attachment))
                    .await)?
                .id)
            },
        )
        .await;

    r.check(
        "attachments: list and get (size, content type, download URL)",
        async {
            let id = need(&with_attachment)?;
            let list = sdk(resend
                .emails
                .list_attachments(&id, ListOptions::default())
                .await)?;
            ensure_eq(list.len(), 1, "attachments")?;
            let listed = &list[0];
            ensure_eq(listed.filename.as_deref(), Some("hello.txt"), "filename")?;
            ensure_eq(listed.size, 5, "size")?;
            ensure_eq(listed.content_type.as_str(), "text/plain", "content_type")?;
            let got = sdk(resend.emails.get_attachment(&id, &listed.id).await)?;
            ensure(
                got.download_url.contains("http"),
                format!("download_url {}", got.download_url),
            )?;
            expect_error(
                resend.emails.get_attachment(&id, UNKNOWN_ID).await,
                404,
                &["not_found"],
            )?;
            Ok(())
        },
    )
    .await;
}

pub async fn batch(r: &mut Runner, resend: &Resend) {
    r.check("batch: strict sends every email", async {
        let sent = sdk(resend
            .batch
            .send(vec![mail("Batch one"), mail("Batch two")])
            .await)?;
        ensure_eq(sent.len(), 2, "ids")
    })
    .await;

    r.check(
        "batch: strict with one invalid email → 422, nothing sent",
        async {
            let bad =
                CreateEmailBaseOptions::new("nope", ["delivered@resend.dev"], "x").with_text("x");
            expect_error(
                resend.batch.send(vec![mail("Batch ok"), bad]).await,
                422,
                &["invalid_from_address"],
            )?;
            Ok(())
        },
    )
    .await;

    r.check(
        "batch: permissive returns data and errors[{index, message}]",
        async {
            let bad =
                CreateEmailBaseOptions::new("nope", ["delivered@resend.dev"], "x").with_text("x");
            let reply = sdk(resend
                .batch
                .send_with_batch_validation(
                    vec![mail("Batch ok"), bad],
                    BatchValidation::Permissive,
                )
                .await)?;
            ensure_eq(reply.data.len(), 1, "sent")?;
            ensure_eq(reply.errors.len(), 1, "errors")?;
            ensure_eq(reply.errors[0].index, 1, "error index")
        },
    )
    .await;

    r.check("batch: Idempotency-Key replays the batch", async {
        let first = sdk(resend
            .batch
            .send(vec![mail("Batch idem")].with_idempotency_key("rust-compat-batch"))
            .await)?;
        let again = sdk(resend
            .batch
            .send(vec![mail("Batch idem")].with_idempotency_key("rust-compat-batch"))
            .await)?;
        ensure_eq(
            again[0].id.to_string(),
            first[0].id.to_string(),
            "replayed id",
        )
    })
    .await;
}

pub async fn templates(r: &mut Runner, resend: &Resend) {
    let created = r
        .check(
            "templates: create with alias, from, subject, reply-to and variables",
            async {
                let options = CreateTemplateOptions::new(
                    "Rust welcome",
                    "<p>Hi {{{NAME}}}, {{{COUNT}}} new</p>",
                )
                .with_alias("rust-welcome")
                .with_from("Acme <hi@example.com>")
                .with_subject("Hi {{{NAME}}}")
                .with_reply_to("help@example.com")
                .with_variable(Variable::new("NAME", VariableType::String).with_fallback("friend"))
                .with_variable(Variable::new("COUNT", VariableType::Number).with_fallback(0));
                Ok(sdk(resend.templates.create(options).await)?.id.to_string())
            },
        )
        .await;

    r.check(
        "templates: get by id and by alias (draft, variables)",
        async {
            let id = need(&created)?;
            let by_id = sdk(resend.templates.get(&id).await)?;
            ensure_eq(by_id.status, TemplateEvent::Draft, "status")?;
            ensure_eq(by_id.variables.len(), 2, "variables")?;
            ensure_eq(by_id.subject.as_deref(), Some("Hi {{{NAME}}}"), "subject")?;
            let by_alias = sdk(resend.templates.get("rust-welcome").await)?;
            ensure_eq(by_alias.id.to_string(), id, "id by alias")
        },
    )
    .await;

    r.check("templates: send before publishing → 422", async {
        let id = need(&created)?;
        let email = mail("Template").with_template(EmailTemplate::new(&id));
        expect_error(
            resend.emails.send(email).await,
            422,
            &["validation_error", "invalid_parameter", "not_found"],
        )?;
        Ok(())
    })
    .await;

    r.check(
        "templates: publish, then send with variables renders them",
        async {
            let id = need(&created)?;
            let published = sdk(resend.templates.publish(&id).await)?;
            ensure_eq(published.id.to_string(), id.clone(), "id")?;
            let email = CreateEmailBaseOptions::new(FROM, ["delivered@resend.dev"], "Templated")
                .with_template(
                    EmailTemplate::new(&id)
                        .with_variable("NAME", json!("Ann"))
                        .with_variable("COUNT", json!(3)),
                );
            let sent = sdk(resend.emails.send(email).await)?;
            let got = sdk(resend.emails.get(&sent.id).await)?;
            ensure_eq(
                got.html.as_deref(),
                Some("<p>Hi Ann, 3 new</p>"),
                "rendered html",
            )
        },
    )
    .await;

    r.check("templates: update makes a draft; list pages", async {
        let id = need(&created)?;
        let update = UpdateTemplateOptions::new("Rust welcome", "<p>Hello {{{NAME}}}</p>");
        let updated = sdk(resend.templates.update(&id, update).await)?;
        ensure_eq(updated.id.to_string(), id.clone(), "id")?;
        let list = sdk(resend
            .templates
            .list(ListOptions::default().with_limit(1))
            .await)?;
        ensure_eq(list.len(), 1, "page size")
    })
    .await;

    r.check("templates: duplicate, then remove both", async {
        let id = need(&created)?;
        let copy = sdk(resend.templates.duplicate(&id).await)?;
        ensure(copy.id.to_string() != id, "a new id")?;
        let removed = sdk(resend.templates.delete(&copy.id).await)?;
        ensure(removed.deleted, "deleted copy")?;
        let removed = sdk(resend.templates.delete(&id).await)?;
        ensure(removed.deleted, "deleted")?;
        expect_error(resend.templates.get(&id).await, 404, &["not_found"])?;
        Ok(())
    })
    .await;

    r.check("templates: missing html → 422", async {
        expect_error(
            resend
                .templates
                .create(CreateTemplateOptions::new("No html", ""))
                .await,
            422,
            &["missing_required_field", "validation_error"],
        )?;
        Ok(())
    })
    .await;
}

/// A local webhook endpoint: every request's body goes to the channel, each answered 200.
async fn receiver() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data);
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if data.len() >= end + 4 + length {
                        let body =
                            String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
                        let _ = tx.send(body);
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

pub async fn webhooks(r: &mut Runner, resend: &Resend) {
    let (url, mut bodies) = receiver().await;
    let created = r
        .check("webhooks: create (id and signing secret)", async {
            let events = [EmailEventType::EmailSent, EmailEventType::EmailDelivered];
            let created = sdk(resend
                .webhooks
                .create(CreateWebhookOptions::new(url.clone(), events))
                .await)?;
            ensure(
                created.signing_secret.starts_with("whsec_"),
                format!("secret {}", created.signing_secret),
            )?;
            Ok(created.id.to_string())
        })
        .await;

    r.check("webhooks: get and list", async {
        let id = need(&created)?;
        let got = sdk(resend.webhooks.get(&id).await)?;
        ensure_eq(got.endpoint.as_str(), url.as_str(), "endpoint")?;
        ensure_eq(got.events.len(), 2, "events")?;
        let list = sdk(resend.webhooks.list(ListOptions::default()).await)?;
        ensure(list.data.iter().any(|w| w.id.to_string() == id), "listed")
    })
    .await;

    r.check(
        "webhooks: a delivery parses as the SDK's Event (email.sent / email.delivered)",
        async {
            need(&created)?;
            let sent = sdk(resend.emails.send(mail("Webhook")).await)?;
            let mut seen = HashMap::new();
            while seen.len() < 2 {
                let body = tokio::time::timeout(Duration::from_secs(60), bodies.recv())
                    .await
                    .map_err(|_| {
                        format!(
                            "no delivery after 60 s; got {:?}",
                            seen.keys().collect::<Vec<_>>()
                        )
                    })?
                    .ok_or("receiver closed")?;
                let event = try_parse_event(&body).map_err(|e| format!("{e}: {body}"))?;
                let Event::EmailEvent(event) = event else {
                    return Err(format!("not an email event: {body}"));
                };
                if event.data.email_id == sent.id {
                    seen.insert(format!("{:?}", event.r#type), event);
                }
            }
            ensure(
                seen.contains_key(&format!("{:?}", EmailEventType::EmailDelivered)),
                "email.delivered",
            )
        },
    )
    .await;

    r.check("webhooks: update (disable, change events)", async {
        let id = need(&created)?;
        let update = UpdateWebhookOptions::default()
            .with_status(WebhookStatus::Disabled)
            .with_events([EmailEventType::EmailBounced]);
        let updated = sdk(resend.webhooks.update(&id, update).await)?;
        ensure_eq(updated.id.to_string(), id.clone(), "id")?;
        let got = sdk(resend.webhooks.get(&id).await)?;
        ensure_eq(got.status.as_str(), "disabled", "status")
    })
    .await;

    r.check("webhooks: unknown event type → 422", async {
        let reply = resend
            .send_raw(
                resend_rs::Method::POST,
                "/webhooks",
                None::<()>,
                Some(json!({"endpoint": url, "events": ["email.nope"]})),
                None,
            )
            .await;
        expect_error(reply, 422, &["validation_error", "invalid_parameter"])?;
        Ok(())
    })
    .await;

    r.check("webhooks: remove, then get → 404 not_found", async {
        let id = need(&created)?;
        ensure(sdk(resend.webhooks.delete(&id).await)?, "deleted")?;
        expect_error(resend.webhooks.get(&id).await, 404, &["not_found"])?;
        Ok(())
    })
    .await;
}
