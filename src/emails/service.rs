//! Sending: from a request body to durably accepted emails. The API (and later the dashboard
//! and SMTP submission) call these functions.
//!
//! The accept path is: validate each email, check the sender rules, fetch `path`
//! attachments, then one transaction for everything (see [`store::insert_accepted`], grouped
//! with concurrent requests by [`group_commit`]). Only then is the response sent, so an
//! accepted email survives a crash.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::address::Mailbox;
use super::attachments;
use super::error::{EmailError, EmailResult};
use super::group_commit;
use super::idempotency::{self, Claim, Outcome};
use super::request::{BatchBody, Loose, SendBody, SendEmailRequest};
use super::store::{self, Accepted, NewEmail};
use super::test_recipients;
use super::validate::{self, parse_draft};
use crate::auth::api_keys::AuthKey;
use crate::budget::Share;
use crate::clock::Millis;
use crate::domains::reads::sends_from;
use crate::handle::App;
use crate::store::new_id;
use crate::templates::send::{self as template_send, TemplateCache};

/// Most emails in one batch request.
pub const MAX_BATCH: usize = 100;

/// `x-batch-validation`: `strict` fails the whole batch on the first invalid email;
/// `permissive` accepts the valid ones and lists the others in `errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    Strict,
    Permissive,
}

impl BatchMode {
    pub fn parse(header: Option<&str>) -> EmailResult<BatchMode> {
        match header.map(|h| h.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("strict") => Ok(BatchMode::Strict),
            Some("permissive") => Ok(BatchMode::Permissive),
            Some(_) => Err(EmailError::Invalid(
                "The `x-batch-validation` header must be `strict` or `permissive`.".into(),
            )),
        }
    }
}

/// `POST /emails`: accepts one email; the answer is `{"id": …}`. `share` is the request's
/// share of the node's memory budget, grown by what a template renders.
pub async fn send(
    app: &App,
    auth: &AuthKey,
    request: SendBody,
    idempotency_key: Option<String>,
    share: Option<Share>,
) -> EmailResult<Value> {
    idempotent(
        app,
        auth,
        idempotency_key,
        "emails",
        request,
        async |request, claim| {
            let mut senders = SenderCheck::new(app, auth);
            let mut templates = TemplateCache::new(share);
            templates
                .reserve(app, &auth.team_id, std::slice::from_ref(&request))
                .await?;
            let email = prepare(
                app,
                auth,
                request,
                app.now_ms(),
                &mut senders,
                &mut templates,
            )
            .await?;
            let body = json!({ "id": email.id });
            commit(app, vec![email], claim, &body).await?;
            Ok(body)
        },
    )
    .await
}

/// `POST /emails/batch`: accepts up to 100 emails in one transaction; the answer is
/// `{"data": [{"id"}…]}`, plus `errors: [{index, message}]` in permissive mode.
pub async fn send_batch(
    app: &App,
    auth: &AuthKey,
    request: BatchBody,
    mode: BatchMode,
    idempotency_key: Option<String>,
    share: Option<Share>,
) -> EmailResult<Value> {
    let route = match mode {
        BatchMode::Strict => "batch:strict",
        BatchMode::Permissive => "batch:permissive",
    };
    idempotent(
        app,
        auth,
        idempotency_key,
        route,
        request,
        async |request, claim| {
            let items = batch_items(request)?;
            let now = app.now_ms();
            let mut senders = SenderCheck::new(app, auth);
            let mut templates = TemplateCache::new(share);
            templates.reserve(app, &auth.team_id, &items).await?;
            let mut emails = Vec::with_capacity(items.len());
            let mut errors = Vec::new();
            for (index, item) in items.into_iter().enumerate() {
                match prepare(app, auth, item, now, &mut senders, &mut templates).await {
                    Ok(email) => emails.push(email),
                    Err(err) if mode == BatchMode::Strict => {
                        return Err(EmailError::AtIndex(index, Box::new(err)));
                    }
                    Err(err) => errors.push(json!({ "index": index, "message": err.to_string() })),
                }
            }
            let data: Vec<Value> = emails.iter().map(|e| json!({ "id": e.id })).collect();
            let body = match mode {
                BatchMode::Strict => json!({ "data": data }),
                BatchMode::Permissive => json!({ "data": data, "errors": errors }),
            };
            commit(app, emails, claim, &body).await?;
            Ok(body)
        },
    )
    .await
}

/// An email Herald itself sends to a team's people (an invitation, a finished export), from
/// `[notifications] from`: the same accept path, rules and delivery as `POST /emails` (the
/// sender's domain must be a verified domain of the team), recorded without an API key.
/// Returns the email's id.
pub async fn send_notice(
    app: &App,
    team_id: &str,
    to: &[String],
    subject: &str,
    text: &str,
) -> EmailResult<String> {
    let from = app.settings().notifications.from.clone();
    send_notice_from(app, &from, team_id, to, subject, text).await
}

/// [`send_notice`] from another configured sender (`[exports] from`); empty `from` is
/// refused the same way.
pub async fn send_notice_from(
    app: &App,
    from: &str,
    team_id: &str,
    to: &[String],
    subject: &str,
    text: &str,
) -> EmailResult<String> {
    let from = from.trim().to_string();
    if from.is_empty() {
        return Err(EmailError::Invalid(
            "No sender is configured for Herald's own emails ([notifications] from).".into(),
        ));
    }
    let auth = AuthKey {
        id: String::new(),
        team_id: team_id.to_string(),
        permission: crate::auth::api_keys::Permission::FullAccess,
        domain_name: None,
    };
    let request = Loose::Given(SendEmailRequest::text(&from, to, subject, text));
    let mut senders = SenderCheck::new(app, &auth);
    let mut templates = TemplateCache::default();
    let now = app.now_ms();
    let mut email = prepare(app, &auth, request, now, &mut senders, &mut templates).await?;
    email.api_key_id = None;
    let id = email.id.clone();
    commit(app, vec![email], None, &Value::Null).await?;
    Ok(id)
}

/// Runs `run` under the idempotency key, if one was given: a stored response is replayed
/// instead, and a failure releases the key.
async fn idempotent<R: serde::Serialize>(
    app: &App,
    auth: &AuthKey,
    key: Option<String>,
    route: &str,
    request: R,
    run: impl AsyncFnOnce(R, Option<Claim>) -> EmailResult<Value>,
) -> EmailResult<Value> {
    let claim = match key {
        None => None,
        Some(key) => {
            let hash = idempotency::request_hash(route, &serde_json::to_value(&request)?);
            match idempotency::claim(app, &auth.team_id, &key, &hash).await? {
                Outcome::Claimed(claim) => Some(claim),
                Outcome::Replay(body) => return Ok(body),
            }
        }
    };
    let result = run(request, claim.clone()).await;
    if let (Some(claim), Err(_)) = (&claim, &result)
        && let Err(err) = idempotency::release(app, claim).await
    {
        tracing::warn!(error = %err, "could not release an idempotency key");
    }
    result
}

/// Makes accepted emails durable (with the response `body` for a claimed key) and wakes
/// the workers that have something to do.
async fn commit(
    app: &App,
    emails: Vec<NewEmail>,
    claim: Option<Claim>,
    body: &Value,
) -> EmailResult<()> {
    if emails.is_empty() {
        // Nothing accepted, nothing to replay.
        if let Some(claim) = &claim {
            idempotency::release(app, claim).await?;
        }
        return Ok(());
    }
    // What the wake needs of each email, before the emails move into the commit.
    let jobs: Vec<(&'static str, bool)> = emails
        .iter()
        .map(|e| (e.job_kind, e.scheduled_at.is_some()))
        .collect();
    let accepted = Accepted {
        emails,
        idempotent: claim.map(|c| (c, body.to_string())),
    };
    let regions = group_commit::commit(app, accepted).await?;
    app.notify_job_kinds(wakes_workers(app, &jobs, &regions));
    Ok(())
}

/// The job kinds to which accepting emails gives something to do now: only their workers
/// are woken. `jobs` are each email's job kind and whether it is scheduled for later;
/// `regions` are the regions the store gave their jobs. Waking a kind with nothing new (or
/// one no worker runs here) would only make its worker look at the queue, a query each,
/// which on SQLite competes with the accept path. A delivery counts only when this node
/// serves its job's region (or it has none): a node serving other regions would wake to
/// claim nothing.
fn wakes_workers(
    app: &App,
    jobs: &[(&'static str, bool)],
    regions: &[Option<String>],
) -> Vec<&'static str> {
    let handled = app.job_kinds();
    let served = &app.settings().regions;
    let mut kinds: Vec<&'static str> = Vec::new();
    for (&(kind, scheduled), region) in jobs.iter().zip(regions) {
        if scheduled || !handled.contains(kind) || kinds.contains(&kind) {
            continue;
        }
        if kind == super::DELIVER_JOB && region.as_ref().is_some_and(|r| !served.contains(r)) {
            continue;
        }
        kinds.push(kind);
    }
    kinds
}

fn batch_items(request: BatchBody) -> EmailResult<Vec<SendBody>> {
    let Loose::Given(items) = request else {
        return Err(EmailError::Invalid(
            "The request body must be an array of emails.".into(),
        ));
    };
    if items.is_empty() {
        return Err(EmailError::Invalid(
            "The batch is empty; send between 1 and 100 emails.".into(),
        ));
    }
    if items.len() > MAX_BATCH {
        return Err(EmailError::Invalid(format!(
            "A batch can hold at most {MAX_BATCH} emails; this one has {}.",
            items.len()
        )));
    }
    Ok(items)
}

/// Validates one email (rendering its template, if it names one) and turns it into a row
/// to insert.
async fn prepare(
    app: &App,
    auth: &AuthKey,
    request: SendBody,
    now: Millis,
    senders: &mut SenderCheck<'_>,
    templates: &mut TemplateCache,
) -> EmailResult<NewEmail> {
    let mut request = validate::object(request)?;
    let template_id = template_send::apply(app, &auth.team_id, &mut request, templates).await?;
    let draft = parse_draft(request, now)?;
    let test_only = draft
        .recipients()
        .all(|m| test_recipients::outcome(&m.email).is_some());
    senders.check(&draft.from, test_only).await?;
    let mut draft = draft;
    let attachments = attachments::resolve(app, std::mem::take(&mut draft.attachments)).await?;
    if let Some(topic_id) = &draft.topic_id
        && let ([only], true, true) = (
            draft.to.as_slice(),
            draft.cc.is_empty(),
            draft.bcc.is_empty(),
        )
    {
        unsubscribe_link(
            app,
            &auth.team_id,
            &draft.from,
            only,
            topic_id,
            (&mut draft.html, &mut draft.text, &mut draft.headers),
        )
        .await?;
    }
    let id = new_id();
    let headers: Vec<Value> = draft
        .headers
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let body_zstd = super::body::pack(draft.html.as_deref(), draft.text.as_deref());
    Ok(NewEmail {
        message_id: format!("<{id}@{}>", draft.from.domain()),
        id,
        team_id: auth.team_id.clone(),
        api_key_id: Some(auth.id.clone()),
        from: draft.from.to_string(),
        to: address_list(&draft.to),
        cc: address_list(&draft.cc),
        bcc: address_list(&draft.bcc),
        reply_to: address_list(&draft.reply_to),
        subject: draft.subject,
        html: draft.html,
        text: draft.text,
        body_zstd,
        headers: Value::Array(headers).to_string(),
        tags: serde_json::to_string(&draft.tags)?,
        topic_id: draft.topic_id,
        template_id,
        scheduled_at: draft.scheduled_at,
        created_at: now,
        attachments,
        job_kind: if test_only {
            super::SIMULATE_JOB
        } else {
            super::DELIVER_JOB
        },
        broadcast_id: None,
        contact_id: None,
    })
}

/// An email sent with a `topic_id` to one recipient who is a contact of the team gets that
/// contact's unsubscribe link, as broadcasts do: `List-Unsubscribe` and
/// `List-Unsubscribe-Post` (unless the request set its own) and `{{{RESEND_UNSUBSCRIBE_URL}}}`
/// filled in the HTML (escaped) and the text.
async fn unsubscribe_link(
    app: &App,
    team_id: &str,
    from: &Mailbox,
    to: &Mailbox,
    topic_id: &str,
    (html, text, headers): (
        &mut Option<String>,
        &mut Option<String>,
        &mut Vec<(String, String)>,
    ),
) -> EmailResult<()> {
    use crate::audience::unsubscribe_link::{self, Subscriber};
    let Some(contact) = crate::audience::contacts::find(app, team_id, &to.email).await? else {
        return Ok(());
    };
    let base = crate::domains::reads::link_base(app, team_id, from.domain()).await?;
    let subscriber = Subscriber {
        team_id: team_id.to_string(),
        contact_id: contact.id,
        broadcast_id: None,
        topic_id: Some(topic_id.to_string()),
    };
    let url = unsubscribe_link::url(&base, app.secret_key(), &subscriber);
    const PLACEHOLDER: &str = "{{{RESEND_UNSUBSCRIBE_URL}}}";
    if let Some(html) = html {
        let mut escaped = String::new();
        crate::templates::substitute::escape_html_into(&mut escaped, &url);
        *html = html.replace(PLACEHOLDER, &escaped);
    }
    if let Some(text) = text {
        *text = text.replace(PLACEHOLDER, &url);
    }
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("list-unsubscribe"))
    {
        headers.extend(
            unsubscribe_link::headers(&url)
                .into_iter()
                .map(|(name, value)| (name.to_string(), value)),
        );
    }
    Ok(())
}

fn address_list(list: &[Mailbox]) -> String {
    let strings: Vec<String> = list.iter().map(Mailbox::to_string).collect();
    serde_json::to_string(&strings).unwrap_or_else(|_| "[]".into())
}

/// The sender rules: a key restricted to a domain sends only from it, and mail to real
/// recipients needs a verified domain of the team. Domain look-ups are remembered for the
/// rest of the request (a batch usually sends from one domain), and positive ones for 10 s
/// on this node (`domains::reads::sends_from`).
struct SenderCheck<'a> {
    app: &'a App,
    auth: &'a AuthKey,
    verified: HashMap<String, bool>,
}

impl<'a> SenderCheck<'a> {
    fn new(app: &'a App, auth: &'a AuthKey) -> Self {
        Self {
            app,
            auth,
            verified: HashMap::new(),
        }
    }

    async fn check(&mut self, from: &Mailbox, test_only: bool) -> EmailResult<()> {
        let domain = from.domain();
        if let Some(allowed) = &self.auth.domain_name {
            let allowed = idna::domain_to_ascii(allowed).unwrap_or_else(|_| allowed.clone());
            if !allowed.eq_ignore_ascii_case(domain) {
                return Err(EmailError::NotAllowed(format!(
                    "This API key can only send from the {allowed} domain, not from {domain}."
                )));
            }
        }
        if test_only {
            return Ok(());
        }
        let verified = match self.verified.get(domain) {
            Some(known) => *known,
            None => {
                let found = sends_from(self.app, &self.auth.team_id, domain).await?;
                self.verified.insert(domain.to_string(), found);
                found
            }
        };
        if !verified {
            return Err(EmailError::NotAllowed(format!(
                "The {domain} domain is not verified (or has sending disabled). Add it on \
                     the Domains page and verify its DNS records before sending from it; until \
                     then you can send to test addresses such as delivered@resend.dev."
            )));
        }
        Ok(())
    }
}

/// `PATCH /emails/{id}`: moves a scheduled email to a new time.
pub async fn reschedule(
    app: &App,
    team_id: &str,
    id: &str,
    scheduled_at: Value,
) -> EmailResult<()> {
    let input = match scheduled_at {
        Value::Null => return Err(EmailError::Missing("scheduled_at")),
        Value::String(s) if s.trim().is_empty() => {
            return Err(EmailError::Missing("scheduled_at"));
        }
        Value::String(s) => s,
        _ => {
            return Err(EmailError::Invalid(
                "The `scheduled_at` field must be a string.".into(),
            ));
        }
    };
    let at =
        super::schedule::parse_scheduled_at(&input, app.now_ms()).map_err(EmailError::Invalid)?;
    store::reschedule(app, team_id, id, at).await
}

/// `POST /emails/{id}/cancel`.
pub async fn cancel(app: &App, team_id: &str, id: &str) -> EmailResult<()> {
    store::cancel(app, team_id, id).await
}
