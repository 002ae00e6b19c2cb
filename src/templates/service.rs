//! The templates service: create, list, get (by id or alias), update, delete, publish and
//! duplicate. The API, the dashboard and the send path call these functions.
//!
//! Versions. A template's content (from, subject, reply_to, html, text, variables) lives in
//! `template_versions`; the template row points at its **current** version (what GET shows
//! and edits change) and at its **published** one (what sends use). Editing a template whose
//! current version is published writes a new version, so the published content never
//! changes until the next publish; further edits change that draft in place. Publishing
//! points both at the same version and drops the one it replaces. Name and alias are not
//! versioned: they name the template itself.

use serde_json::Value;
use sqlx::FromRow;

use super::error::{TemplateError, TemplateResult};
use super::variables::{self, Variable, VariableInput};
use crate::emails::address::Mailbox;
use crate::emails::request::Loose;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Stmt};

pub const DRAFT: &str = "draft";
pub const PUBLISHED: &str = "published";
pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_ALIAS_CHARS: usize = 100;

/// The versioned part of a template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Content {
    pub from: Option<String>,
    pub subject: Option<String>,
    /// Addresses, or text with placeholders filled at send time.
    pub reply_to: Vec<String>,
    pub html: String,
    pub text: Option<String>,
    pub variables: Vec<Variable>,
}

impl Content {
    /// Every text a send fills placeholders in.
    fn sources(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.html.as_str())
            .chain(self.text.as_deref())
            .chain(self.subject.as_deref())
            .chain(self.reply_to.iter().map(String::as_str))
    }
}

/// A template with one of its versions (the current one, unless it says otherwise).
#[derive(Debug, Clone)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub alias: Option<String>,
    pub status: String,
    pub current_version_id: String,
    pub published_version_id: Option<String>,
    pub published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub content: Content,
}

impl Template {
    /// Whether the current version differs from the published one (always, for a draft).
    pub fn has_unpublished_versions(&self) -> bool {
        self.published_version_id.as_deref() != Some(self.current_version_id.as_str())
    }
}

#[derive(FromRow)]
struct Row {
    id: String,
    name: String,
    alias: Option<String>,
    status: String,
    current_version_id: String,
    published_version_id: Option<String>,
    published_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    from_address: Option<String>,
    subject: Option<String>,
    reply_to: String,
    html: String,
    text: Option<String>,
    variables: String,
}

impl From<Row> for Template {
    fn from(r: Row) -> Self {
        Template {
            id: r.id,
            name: r.name,
            alias: r.alias,
            status: r.status,
            current_version_id: r.current_version_id,
            published_version_id: r.published_version_id,
            published_at: r.published_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            content: Content {
                from: r.from_address,
                subject: r.subject,
                reply_to: serde_json::from_str(&r.reply_to).unwrap_or_default(),
                html: r.html,
                text: r.text,
                variables: serde_json::from_str(&r.variables).unwrap_or_default(),
            },
        }
    }
}

/// A list item: the template without its content.
#[derive(Debug, Clone, FromRow)]
pub struct Summary {
    pub id: String,
    pub name: String,
    pub alias: Option<String>,
    pub status: String,
    pub published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const SUMMARY_COLUMNS: &str = "id, name, alias, status, published_at, created_at, updated_at";

/// What a create or an update asks for. For an update, `None` leaves a field as it is and
/// `Some(None)` (JSON `null`) clears it.
#[derive(Debug, Default, Clone)]
pub struct TemplateInput {
    pub name: Option<String>,
    pub alias: Option<Option<String>>,
    pub from: Option<Option<String>>,
    pub subject: Option<Option<String>>,
    /// A string or an array of strings.
    pub reply_to: Option<Option<Value>>,
    pub html: Option<String>,
    pub text: Option<Option<String>>,
    pub variables: Option<Option<Vec<VariableInput>>>,
}

impl TemplateInput {
    fn changes_content(&self) -> bool {
        self.from.is_some()
            || self.subject.is_some()
            || self.reply_to.is_some()
            || self.html.is_some()
            || self.text.is_some()
            || self.variables.is_some()
    }
}

fn validate_name(name: &str) -> TemplateResult<String> {
    Ok(crate::fields::required_name(Some(name), MAX_NAME_CHARS)?.to_string())
}

/// Letters, digits, `-`, `_` and `.`; never shaped like an id, so `/templates/{id or alias}`
/// is never ambiguous. An empty alias counts as none.
fn validate_alias(alias: Option<String>) -> TemplateResult<Option<String>> {
    let Some(alias) = alias
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
    else {
        return Ok(None);
    };
    let valid = alias.chars().count() <= MAX_ALIAS_CHARS
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(TemplateError::Invalid(format!(
            "Invalid `alias` `{alias}`: use only ASCII letters, digits, `-`, `_` and `.`, at \
             most {MAX_ALIAS_CHARS} characters."
        )));
    }
    if uuid::Uuid::parse_str(&alias).is_ok() {
        return Err(TemplateError::Invalid(
            "The `alias` field cannot be a UUID: templates are looked up by id or alias.".into(),
        ));
    }
    Ok(Some(alias))
}

fn alias_taken(alias: &str) -> TemplateError {
    TemplateError::Invalid(format!(
        "Another template of this team already has the alias `{alias}`."
    ))
}

fn validate_from(from: Option<String>) -> TemplateResult<Option<String>> {
    let Some(from) = from.map(|f| f.trim().to_string()).filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    crate::emails::validate::parse_from(&from)?;
    Ok(Some(from))
}

fn validate_subject(subject: Option<String>) -> TemplateResult<Option<String>> {
    let Some(subject) = subject.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    crate::emails::validate::check_subject(&subject)?;
    Ok(Some(subject))
}

/// A string or an array of strings; each an address, or text with placeholders (checked
/// as an address once filled, when an email is sent).
fn validate_reply_to(value: Option<Value>) -> TemplateResult<Vec<String>> {
    use crate::emails::validate::{address_list, invalid_address};
    let value = value.filter(|v| !v.is_null()).map(Loose::from_json);
    Ok(address_list("reply_to", value, |s| {
        let s = s.trim().to_string();
        if super::substitute::placeholders(&s).is_empty() {
            Mailbox::parse(&s).map_err(|why| invalid_address("reply_to", &why))?;
        }
        Ok(s)
    })?)
}

/// Applies the content fields of `input` to `content` and checks the result as a whole.
fn apply_content(content: &mut Content, input: TemplateInput, now: i64) -> TemplateResult<()> {
    if let Some(from) = input.from {
        content.from = validate_from(from)?;
    }
    if let Some(subject) = input.subject {
        content.subject = validate_subject(subject)?;
    }
    if let Some(reply_to) = input.reply_to {
        content.reply_to = validate_reply_to(reply_to)?;
    }
    if let Some(html) = input.html {
        if html.trim().is_empty() {
            return Err(TemplateError::Missing("html"));
        }
        content.html = html;
    }
    if let Some(text) = input.text {
        content.text = text;
    }
    if let Some(variables) = input.variables {
        content.variables =
            variables::declare(&variables.unwrap_or_default(), &content.variables, now)?;
    }
    variables::check_used(&content.variables, content.sources())
}

fn insert_version(
    template_id: &str,
    version_id: &str,
    content: &Content,
    now: i64,
) -> TemplateResult<Stmt> {
    Ok(Stmt::new(
        "INSERT INTO template_versions (id, template_id, from_address, subject, reply_to, html, \
         text, variables, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .text(version_id)
    .text(template_id)
    .opt_text(content.from.clone())
    .opt_text(content.subject.clone())
    .text(serde_json::to_string(&content.reply_to)?)
    .text(content.html.clone())
    .opt_text(content.text.clone())
    .text(serde_json::to_string(&content.variables)?)
    .int(now))
}

/// Inserts a new template row and its first version; `alias` conflicts become a 422.
async fn insert(app: &App, team_id: &str, template: &Template) -> TemplateResult<()> {
    let stmts = vec![
        // The only unique column a fresh id can meet is the alias.
        Stmt::new(
            "INSERT INTO templates (id, team_id, name, alias, status, current_version_id, \
             published_version_id, published_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $7) ON CONFLICT DO NOTHING",
        )
        .text(&template.id)
        .text(team_id)
        .text(&template.name)
        .opt_text(template.alias.clone())
        .text(&template.status)
        .text(&template.current_version_id)
        .int(template.created_at)
        .expect_rows(1),
        insert_version(
            &template.id,
            &template.current_version_id,
            &template.content,
            template.created_at,
        )?,
    ];
    match sql::run(app.db(), &stmts).await {
        Err(err) if sql::is_conflict(&err) => {
            Err(alias_taken(template.alias.as_deref().unwrap_or_default()))
        }
        other => Ok(other.map(|_| ())?),
    }
}

/// A new draft template named `name` (and `alias`) whose first version holds `content`.
async fn insert_draft(
    app: &App,
    team_id: &str,
    (name, alias): (String, Option<String>),
    content: Content,
    now: i64,
) -> TemplateResult<Template> {
    let template = Template {
        id: new_id(),
        name,
        alias,
        status: DRAFT.to_string(),
        current_version_id: new_id(),
        published_version_id: None,
        published_at: None,
        created_at: now,
        updated_at: now,
        content,
    };
    insert(app, team_id, &template).await?;
    Ok(template)
}

async fn alias_in_use(app: &App, team_id: &str, alias: &str, except: &str) -> TemplateResult<bool> {
    let found: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM templates WHERE team_id = $1 AND alias = $2 AND id <> $3"
    )
    .bind(team_id)
    .bind(alias)
    .bind(except)
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}

pub async fn create(app: &App, team_id: &str, input: TemplateInput) -> TemplateResult<Template> {
    let name = validate_name(input.name.as_deref().unwrap_or(""))?;
    if input.html.as_deref().is_none_or(|h| h.trim().is_empty()) {
        return Err(TemplateError::Missing("html"));
    }
    let alias = validate_alias(input.alias.clone().flatten())?;
    let now = app.now_ms();
    let mut content = Content::default();
    apply_content(&mut content, input, now)?;
    insert_draft(app, team_id, (name, alias), content, now).await
}

pub async fn list(app: &App, team_id: &str, page: &Page) -> TemplateResult<ListResponse<Summary>> {
    Ok(
        crate::store::team_rows::list(app.db(), ("templates", SUMMARY_COLUMNS), team_id, page)
            .await?,
    )
}

/// Which version to load with the template.
#[derive(Debug, Clone, Copy)]
enum Version {
    Current,
    Published,
}

async fn find(
    app: &App,
    team_id: &str,
    id_or_alias: &str,
    version: Version,
) -> TemplateResult<Option<Template>> {
    let key = match uuid::Uuid::parse_str(id_or_alias) {
        Ok(id) => id.to_string(),
        Err(_) => id_or_alias.to_string(),
    };
    let join = match version {
        Version::Current => "t.current_version_id",
        Version::Published => "t.published_version_id",
    };
    let sql = format!(
        "SELECT t.id, t.name, t.alias, t.status, t.current_version_id, t.published_version_id, \
         t.published_at, t.created_at, t.updated_at, v.from_address, v.subject, v.reply_to, \
         v.html, v.text, v.variables FROM templates t JOIN template_versions v ON v.id = {join} \
         WHERE t.team_id = $1 AND (t.id = $2 OR t.alias = $2)"
    );
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, Row>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(team_id)
    .bind(&key)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(Template::from))
}

/// The template (with its current version) by id or alias.
pub async fn get(app: &App, team_id: &str, id_or_alias: &str) -> TemplateResult<Template> {
    find(app, team_id, id_or_alias, Version::Current)
        .await?
        .ok_or(TemplateError::NotFound)
}

/// The published version of a template, for sending; a draft is refused.
pub async fn published(app: &App, team_id: &str, id_or_alias: &str) -> TemplateResult<Template> {
    if let Some(template) = find(app, team_id, id_or_alias, Version::Published).await? {
        return Ok(template);
    }
    if find(app, team_id, id_or_alias, Version::Current)
        .await?
        .is_some()
    {
        return Err(TemplateError::Invalid(format!(
            "The template `{id_or_alias}` is a draft: publish it before sending with it."
        )));
    }
    Err(TemplateError::Unknown(id_or_alias.to_string()))
}

/// Changes a template. Content changes go to the draft version (made from the published one
/// when there is no draft yet); name and alias change at once.
pub async fn update(
    app: &App,
    team_id: &str,
    id_or_alias: &str,
    input: TemplateInput,
) -> TemplateResult<Template> {
    let mut template = get(app, team_id, id_or_alias).await?;
    let now = app.now_ms();
    if let Some(name) = &input.name {
        template.name = validate_name(name)?;
    }
    if let Some(alias) = input.alias.clone() {
        template.alias = validate_alias(alias)?;
        if let Some(alias) = &template.alias
            && alias_in_use(app, team_id, alias, &template.id).await?
        {
            return Err(alias_taken(alias));
        }
    }
    let mut stmts = Vec::new();
    let before = template.content.clone();
    if input.changes_content() {
        apply_content(&mut template.content, input, now)?;
    }
    // A save that changes nothing (the dashboard sends every field) makes no version.
    if template.content != before {
        let old_version = template.current_version_id.clone();
        if template.published_version_id.as_deref() == Some(old_version.as_str()) {
            // The current version is the published one: keep it, edit a new draft.
            template.current_version_id = new_id();
            stmts.push(insert_version(
                &template.id,
                &template.current_version_id,
                &template.content,
                now,
            )?);
            stmts.push(
                Stmt::new(
                    "UPDATE templates SET current_version_id = $3 WHERE id = $1 AND \
                     current_version_id = $2",
                )
                .text(&template.id)
                .text(&old_version)
                .text(&template.current_version_id)
                .expect_rows(1),
            );
        } else {
            // Never the published version, even if a publish ran since we read it.
            stmts.push(
                Stmt::new(
                    "UPDATE template_versions SET from_address = $3, subject = $4, reply_to = $5, \
                     html = $6, text = $7, variables = $8, updated_at = $9 WHERE id = $2 AND \
                     template_id = $1 AND id = (SELECT current_version_id FROM templates WHERE \
                     id = $1) AND id <> COALESCE((SELECT published_version_id FROM templates \
                     WHERE id = $1), '')",
                )
                .text(&template.id)
                .text(&old_version)
                .opt_text(template.content.from.clone())
                .opt_text(template.content.subject.clone())
                .text(serde_json::to_string(&template.content.reply_to)?)
                .text(template.content.html.clone())
                .opt_text(template.content.text.clone())
                .text(serde_json::to_string(&template.content.variables)?)
                .int(now)
                .expect_rows(1),
            );
        }
    }
    template.updated_at = now;
    stmts.push(
        Stmt::new(
            "UPDATE templates SET name = $3, alias = $4, updated_at = $5 WHERE id = $1 AND \
             team_id = $2",
        )
        .text(&template.id)
        .text(team_id)
        .text(&template.name)
        .opt_text(template.alias.clone())
        .int(now)
        .expect_rows(1),
    );
    sql::run(app.db(), &stmts).await?;
    Ok(template)
}

/// Makes the current version the one sends use.
pub async fn publish(app: &App, team_id: &str, id_or_alias: &str) -> TemplateResult<Template> {
    let mut template = get(app, team_id, id_or_alias).await?;
    let now = app.now_ms();
    let stmts = vec![
        Stmt::new(
            "UPDATE templates SET published_version_id = current_version_id, status = $3, \
             published_at = $4, updated_at = $4 WHERE id = $1 AND team_id = $2 AND \
             current_version_id = $5",
        )
        .text(&template.id)
        .text(team_id)
        .text(PUBLISHED)
        .int(now)
        .text(&template.current_version_id)
        .expect_rows(1),
        // The version it replaces is no longer reachable.
        Stmt::new("DELETE FROM template_versions WHERE template_id = $1 AND id <> $2")
            .text(&template.id)
            .text(&template.current_version_id),
    ];
    sql::run(app.db(), &stmts).await?;
    template.status = PUBLISHED.to_string();
    template.published_version_id = Some(template.current_version_id.clone());
    template.published_at = Some(now);
    template.updated_at = now;
    Ok(template)
}

/// A new draft template with the current content of another; its name says it is a copy
/// and it has no alias (aliases are unique).
pub async fn duplicate(app: &App, team_id: &str, id_or_alias: &str) -> TemplateResult<Template> {
    let source = get(app, team_id, id_or_alias).await?;
    let now = app.now_ms();
    let mut content = source.content.clone();
    for variable in &mut content.variables {
        variable.id = new_id();
        variable.created_at = now;
        variable.updated_at = now;
    }
    let mut name = format!("{} (copy)", source.name);
    if name.chars().count() > MAX_NAME_CHARS {
        name = name.chars().take(MAX_NAME_CHARS).collect();
    }
    insert_draft(app, team_id, (name, None), content, now).await
}

/// Deletes a template and its versions; emails sent with it keep their content.
pub async fn delete(app: &App, team_id: &str, id_or_alias: &str) -> TemplateResult<String> {
    let template = get(app, team_id, id_or_alias).await?;
    let stmts = vec![
        Stmt::new("DELETE FROM template_versions WHERE template_id = $1").text(&template.id),
        Stmt::new("DELETE FROM templates WHERE id = $1 AND team_id = $2")
            .text(&template.id)
            .text(team_id)
            .expect_rows(1),
    ];
    match sql::run(app.db(), &stmts).await {
        Err(err) if sql::is_conflict(&err) => Err(TemplateError::NotFound),
        other => Ok(other.map(|_| template.id)?),
    }
}
