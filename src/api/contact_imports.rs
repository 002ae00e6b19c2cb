//! `/contacts/imports`: upload a CSV file (multipart, up to 50 MB) to import contacts in the
//! background, and follow its progress. The upload is stored and the job queued before the
//! `201`; see `audience::imports`.

use super::{Created, created};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audience::imports::upload::{Draft, ImportOptions};
use crate::audience::imports::{self, ContactImport, Failure, MAX_FILE_BYTES};
use crate::auth::api_keys::AuthKey;
use crate::clock::resend_timestamp;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::http::pagination::{ListQuery, Page};

/// Failed rows shown by `GET /contacts/imports/{id}`.
const LISTED_FAILURES: i64 = 100;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get))
        // The file may be 50 MB; the multipart framing and other fields come on top.
        .layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 1024 * 1024))
}

/// The multipart form of `POST /contacts/imports`.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the form; the handler reads the fields one by one
pub struct CreateContactImportOptions {
    /// The CSV file, at most 50 MB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// JSON: `{"email": "Email", "first_name": …, "properties": {"plan": {"column": "Plan",
    /// "type": "string"}}}`; without it, columns are matched by header name.
    column_map: Option<String>,
    /// `skip` (default) or `upsert`.
    on_conflict: Option<String>,
    /// JSON array of segments to add the contacts to: `[{"id": "…"}]`.
    segments: Option<String>,
    /// JSON array of topic choices: `[{"id": "…", "subscription": "opt_in"}]`.
    topics: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateContactImportResponseSuccess {
    object: &'static str,
    id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContactImportCounts {
    total: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    failed: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ContactImport)]
pub struct ContactImportView {
    object: &'static str,
    id: String,
    status: String,
    created_at: String,
    completed_at: Option<String>,
    counts: ContactImportCounts,
    /// Herald: the uploaded file's name and size.
    file_name: Option<String>,
    file_bytes: i64,
    /// Herald: why a failed import stopped.
    error: Option<String>,
    /// Herald: the first failed rows, by line number (on `GET /contacts/imports/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    failures: Option<Vec<Failure>>,
}

impl From<&ContactImport> for ContactImportView {
    fn from(i: &ContactImport) -> Self {
        Self {
            object: "contact_import",
            id: i.id.clone(),
            status: i.status.clone(),
            created_at: resend_timestamp(i.created_at),
            completed_at: i.completed_at.map(resend_timestamp),
            counts: ContactImportCounts {
                total: i.rows_done,
                created: i.created_count,
                updated: i.updated_count,
                skipped: i.skipped_count,
                failed: i.failed_count,
            },
            file_name: i.file_name.clone(),
            file_bytes: i.file_bytes,
            error: i.error.clone(),
            failures: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListContactImportsResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<ContactImportView>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ImportListQuery {
    limit: Option<String>,
    after: Option<String>,
    before: Option<String>,
    status: Option<String>,
}

fn bad_form(err: impl std::fmt::Display) -> AppError {
    AppError::validation(format!(
        "The request must be multipart/form-data with a `file` field: {err}"
    ))
}

/// Reads the form, storing the file as it arrives.
async fn receive(draft: &mut Draft, mut form: Multipart) -> AppResult<ImportOptions> {
    let mut options = ImportOptions::default();
    while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            draft.file_name = field.file_name().map(crate::files::clean_file_name);
            draft.file_received = true;
            while let Some(bytes) = field.chunk().await.map_err(bad_form)? {
                draft.push(&bytes).await?;
            }
            continue;
        }
        let slot = match name.as_str() {
            "column_map" => &mut options.column_map,
            "on_conflict" => &mut options.on_conflict,
            "segments" => &mut options.segments,
            "topics" => &mut options.topics,
            // A misspelt option would otherwise be ignored without a word.
            _ => {
                return Err(AppError::validation(format!(
                    "Unknown form field `{}`: the fields are `file`, `column_map`, \
                     `on_conflict`, `segments` and `topics`.",
                    name.replace('\0', "")
                )));
            }
        };
        let text = field.text().await.map_err(bad_form)?;
        if text.contains('\0') {
            return Err(AppError::validation(format!(
                "The `{name}` field must not contain NUL characters."
            )));
        }
        *slot = Some(text);
    }
    Ok(options)
}

const TAG: &str = "Contacts";

#[utoipa::path(post, path = "/contacts/imports", tag = TAG, operation_id = "contacts/create-import",
    request_body(content = CreateContactImportOptions, content_type = "multipart/form-data"),
    responses((status = 201, description = "OK", body = CreateContactImportResponseSuccess)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    charge: Option<Extension<crate::http::guard::BodyCharge>>,
    form: Result<Multipart, MultipartRejection>,
) -> AppResult<Created<CreateContactImportResponseSuccess>> {
    // The file is stored chunk by chunk as it arrives, not held whole.
    if let Some(Extension(charge)) = charge {
        charge.set(2 * crate::audience::imports::CHUNK_BYTES as u64);
    }
    let form = form.map_err(bad_form)?;
    let mut draft = Draft::begin(&app, &auth.team_id).await?;
    let result = match receive(&mut draft, form).await {
        Ok(options) => draft
            .finish(&options, app.now_ms())
            .await
            .map_err(AppError::from),
        Err(err) => Err(err),
    };
    match result {
        Ok(import) => Ok(created(CreateContactImportResponseSuccess {
            object: "contact_import",
            id: import.id,
        })),
        Err(err) => {
            draft.abandon().await;
            Err(err)
        }
    }
}

#[utoipa::path(get, path = "/contacts/imports", tag = TAG, operation_id = "contacts/list-imports",
    params(("status" = Option<String>, Query), ("limit" = Option<u32>, Query),
           ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListContactImportsResponseSuccess)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ImportListQuery>,
) -> AppResult<Json<ListContactImportsResponseSuccess>> {
    let page = Page::from_query(
        &ListQuery {
            limit: query.limit,
            after: query.after,
            before: query.before,
        },
        Some(20),
    )?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(imports::parse_status(s)?),
        None => None,
    };
    let list = imports::list(&app, &auth.team_id, &page, status).await?;
    Ok(Json(ListContactImportsResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list.data.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/contacts/imports/{id}", tag = TAG, operation_id = "contacts/get-import",
    params(("id" = String, Path, description = "The contact import ID.")),
    responses((status = 200, description = "OK", body = ContactImportView)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<ContactImportView>> {
    super::require_uuid(&id, "id")?;
    let import = imports::get(&app, &auth.team_id, &id).await?;
    let mut view = ContactImportView::from(&import);
    view.failures = Some(imports::failures(&app, &import.id, LISTED_FAILURES).await?);
    Ok(Json(view))
}
