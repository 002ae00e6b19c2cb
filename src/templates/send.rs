//! Sending with a template (`template: {id, variables}` on `POST /emails` and each item of
//! `POST /emails/batch`). The template is resolved and rendered when the email is accepted,
//! into the request itself: the stored email holds the final html, text and subject, so
//! editing or deleting the template later never changes an email already accepted.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::emails::limits::MAX_RENDERED_PER_REQUEST;
use crate::emails::request::{Loose, Recipients, SendBody, SendEmailRequest, TemplateRef};

use super::error::{TemplateError, TemplateResult};
use super::service::{self, Template};
use super::substitute::{self, Target};
use super::variables::SendValues;
use crate::budget::Share;
use crate::handle::App;

/// Published templates looked up during one request (a batch often uses one template).
#[derive(Default)]
pub struct TemplateCache {
    found: HashMap<String, Template>,
    /// Bytes rendered so far in this request, against
    /// [`crate::emails::limits::MAX_RENDERED_PER_REQUEST`].
    rendered: usize,
    /// The request's share of the node's memory budget, which grows by what it renders
    /// (`None` when the request has none: Herald's own emails).
    share: Option<Share>,
}

impl TemplateCache {
    /// For a request holding `share` of the memory budget.
    pub fn new(share: Option<Share>) -> TemplateCache {
        TemplateCache {
            share,
            ..TemplateCache::default()
        }
    }

    /// Adds to the request's share of the memory budget what the templates of `items` will
    /// render, twice (the rendered text, and its copy in the statement that stores it), in
    /// one wait before anything is rendered: a request that waited again for each email of
    /// a batch, holding the shares of those before, could wait for requests that wait for
    /// it. Items that will be refused anyway (no such template, no id) count nothing; the
    /// total is at most [`MAX_RENDERED_PER_REQUEST`], beyond which [`apply`] refuses.
    pub async fn reserve(
        &mut self,
        app: &App,
        team_id: &str,
        items: &[SendBody],
    ) -> TemplateResult<()> {
        let Some(share) = self.share.clone() else {
            return Ok(());
        };
        let none = Map::new();
        let mut total = 0;
        'items: for item in items {
            let Loose::Given(request) = item else {
                continue;
            };
            let Some(Loose::Given(reference)) = &request.template else {
                continue;
            };
            let Some(Loose::Given(id)) = &reference.id else {
                continue;
            };
            let given = match &reference.variables {
                Some(Loose::Given(map)) => map,
                _ => &none,
            };
            let Ok(template) = published(&mut self.found, app, team_id, id.trim()).await else {
                continue;
            };
            let content = &template.content;
            let values = SendValues::unchecked(&content.variables, given);
            let subject = content
                .subject
                .as_ref()
                .filter(|_| request.subject.is_none());
            let sources = [
                Some((&content.html, Target::Html)),
                content.text.as_ref().map(|t| (t, Target::Text)),
                subject.map(|s| (s, Target::Text)),
            ];
            for (source, target) in sources.into_iter().flatten() {
                let left = MAX_RENDERED_PER_REQUEST - total;
                match substitute::rendered_len(source, target, &values, left) {
                    Some(len) => total += len,
                    None => {
                        total = MAX_RENDERED_PER_REQUEST;
                        break 'items;
                    }
                }
            }
        }
        Ok(share.grow(2 * total as u64).await?)
    }
}

/// A published template by id or alias, looked up once per request.
async fn published<'c>(
    found: &'c mut HashMap<String, Template>,
    app: &App,
    team_id: &str,
    id_or_alias: &str,
) -> TemplateResult<&'c Template> {
    if !found.contains_key(id_or_alias) {
        let template = service::published(app, team_id, id_or_alias).await?;
        found.insert(id_or_alias.to_string(), template);
    }
    Ok(&found[id_or_alias])
}

/// Replaces `template` in a send request by the rendered content of the published template:
/// `html` and `text`, plus `from`, `subject` and `reply_to` where the request has none.
/// Returns the template's id. A request without a template is left as it is.
pub async fn apply(
    app: &App,
    team_id: &str,
    request: &mut SendEmailRequest,
    cache: &mut TemplateCache,
) -> TemplateResult<Option<String>> {
    let Some(reference) = request.template.take() else {
        return Ok(None);
    };
    let (id, given) = parse_reference(reference)?;
    if request.html.is_some() || request.text.is_some() {
        return Err(TemplateError::Invalid(
            "The `template` field cannot be combined with `html` or `text`: the template \
             provides the content. Send one or the other."
                .into(),
        ));
    }
    let TemplateCache {
        found, rendered, ..
    } = cache;
    let template = published(found, app, team_id, &id).await?;
    let content = &template.content;
    let values = SendValues::check(&template.name, &content.variables, given)?;
    // Measure before rendering: a few bytes of placeholders can stand for gigabytes.
    {
        use crate::emails::limits;
        let budget = MAX_RENDERED_PER_REQUEST.saturating_sub(*rendered);
        let measure = |field: &str, source: &str, target: Target, limit: usize| {
            substitute::rendered_len(source, target, &values, limit.min(budget)).ok_or_else(|| {
                if limit <= budget {
                    TemplateError::from(limits::too_large(field, limit))
                } else {
                    TemplateError::Invalid(format!(
                        "The template renders more than {} MB in this request (emails of \
                             one batch count together).",
                        MAX_RENDERED_PER_REQUEST / (1024 * 1024)
                    ))
                }
            })
        };
        let mut total = measure("html", &content.html, Target::Html, limits::MAX_HTML_BYTES)?;
        if let Some(text) = &content.text {
            total += measure("text", text, Target::Text, limits::MAX_TEXT_BYTES)?;
        }
        if request.subject.is_none()
            && let Some(subject) = &content.subject
        {
            total += measure("subject", subject, Target::Text, limits::MAX_TEXT_BYTES)?;
        }
        if total > budget {
            return Err(TemplateError::Invalid(format!(
                "The template renders more than {} MB in this request (emails of one batch \
                 count together).",
                MAX_RENDERED_PER_REQUEST / (1024 * 1024)
            )));
        }
        *rendered += total;
    }
    let fill = |source: &str, target: Target| {
        substitute::render(source, target, &values).map_err(|missing| {
            TemplateError::Invalid(format!(
                "The template variable `{}` needs a value: it is used in the template and has \
                 no fallback value.",
                missing.0
            ))
        })
    };
    request.html = Some(Loose::Given(fill(&content.html, Target::Html)?));
    if let Some(text) = &content.text {
        request.text = Some(Loose::Given(fill(text, Target::Text)?));
    }
    if request.subject.is_none()
        && let Some(subject) = &content.subject
    {
        request.subject = Some(Loose::Given(fill(subject, Target::Text)?));
    }
    if request.from.is_none()
        && let Some(from) = &content.from
    {
        request.from = Some(Loose::Given(from.clone()));
    }
    if request.reply_to.is_none() && !content.reply_to.is_empty() {
        let reply_to = content
            .reply_to
            .iter()
            .map(|r| fill(r, Target::Text).map(Loose::Given))
            .collect::<TemplateResult<Vec<_>>>()?;
        request.reply_to = Some(Loose::Given(Recipients::Many(reply_to)));
    }
    Ok(Some(template.id.clone()))
}

/// `{id, variables?}`: the id or alias, and the variables as an object.
fn parse_reference(reference: Loose<TemplateRef>) -> TemplateResult<(String, Map<String, Value>)> {
    let Loose::Given(reference) = reference else {
        return Err(TemplateError::Invalid(
            "The `template` field must be an object such as `{\"id\": \"…\", \"variables\": {…}}`."
                .into(),
        ));
    };
    let id = match reference.id {
        Some(Loose::Given(id)) if !id.trim().is_empty() => id.trim().to_string(),
        None | Some(Loose::Given(_)) => {
            return Err(TemplateError::Missing("template.id"));
        }
        Some(Loose::Wrong(_)) => {
            return Err(TemplateError::Invalid(
                "The `template.id` field must be a string: the template's id or alias.".into(),
            ));
        }
    };
    let variables = match reference.variables {
        None => Map::new(),
        Some(Loose::Given(map)) => map,
        Some(Loose::Wrong(_)) => {
            return Err(TemplateError::Invalid(
                "The `template.variables` field must be an object of variable names to values."
                    .into(),
            ));
        }
    };
    Ok((id, variables))
}
