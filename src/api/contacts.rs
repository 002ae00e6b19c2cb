//! `/contacts`: create, list (optionally by segment), get, update, delete, where `{id}` is
//! the contact id or its email address (raw or URL-encoded); plus a contact's segments
//! (`/contacts/{id}/segments[/{segment_id}]`) and topic subscriptions (`/contacts/{id}/topics`).
//! The helpers here also serve the deprecated `/audiences/{id}/contacts…` routes.

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audience::contacts::{self, Contact, ContactInput, ListFilter};
use crate::audience::history::{self, HistoryEntry};
use crate::audience::topics::{self, Choice};
use crate::audience::{properties, segments};
use crate::auth::api_keys::AuthKey;
use crate::clock::resend_timestamp;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, Page};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, remove))
        .routes(routes!(list_segments))
        .routes(routes!(add_segment, remove_segment))
        .routes(routes!(list_topics, update_topics))
}

/// A segment reference: the spec sends ids, the Node SDK sends `{id}` objects.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SegmentRef {
    Id(String),
    Object(crate::serde_util::Object<crate::serde_util::IdObject>),
}

impl SegmentRef {
    fn into_id(self) -> String {
        match self {
            Self::Id(id)
            | Self::Object(crate::serde_util::Object(crate::serde_util::IdObject { id })) => id,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TopicSubscription {
    /// The topic ID.
    id: Option<String>,
    /// `opt_in` or `opt_out`.
    subscription: Option<String>,
}

impl From<TopicSubscription> for Choice {
    fn from(t: TopicSubscription) -> Self {
        Choice {
            id: t.id,
            subscription: t.subscription,
        }
    }
}

/// Declares a contact request body: the fields `POST /contacts` and `PATCH /contacts/{id}`
/// share, each named once in the body (`email`, `properties`, with that body's attributes),
/// then the body's own fields. Not a `#[serde(flatten)]`ed struct: serde reads flattened
/// fields outside [`crate::serde_util::strict`], and utoipa shows them as `allOf`.
macro_rules! contact_body {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $(#[$email:meta])*
            email,
            $(#[$properties:meta])*
            properties,
            $($own:tt)*
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Default, Deserialize, ToSchema)]
        pub struct $name {
            $(#[$email])*
            email: Option<String>,
            #[serde(default, deserialize_with = "crate::serde_util::double_option")]
            #[schema(value_type = Option<String>)]
            first_name: Option<Option<String>>,
            #[serde(default, deserialize_with = "crate::serde_util::double_option")]
            #[schema(value_type = Option<String>)]
            last_name: Option<Option<String>>,
            unsubscribed: Option<bool>,
            $(#[$properties])*
            #[schema(value_type = Option<Object>)]
            properties: Option<Map<String, Value>>,
            $($own)*
        }
    };
}

contact_body! {
    pub struct CreateContactOptions {
        #[schema(required = true)]
        email,
        /// Values of existing contact properties, by key.
        properties,
        /// Segment ids (or `{"id"}` objects) to add the contact to.
        #[schema(value_type = Option<Vec<String>>)]
        segments: Option<Vec<SegmentRef>>,
        topics: Option<Vec<TopicSubscription>>,
        /// Deprecated: an audience (segment) to add the contact to.
        audience_id: Option<String>,
    }
}

impl CreateContactOptions {
    pub fn into_input(self, extra_segment: Option<String>) -> ContactInput {
        let mut segments: Vec<String> = self
            .segments
            .unwrap_or_default()
            .into_iter()
            .map(SegmentRef::into_id)
            .collect();
        segments.extend(self.audience_id.filter(|a| !a.is_empty()));
        segments.extend(extra_segment);
        ContactInput {
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            unsubscribed: self.unsubscribed,
            properties: self.properties,
            segments,
            topics: self
                .topics
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        }
    }
}

contact_body! {
    pub struct UpdateContactOptions {
        email,
        /// Values to set (`null` removes one); other stored values stay.
        properties,
    }
}

impl From<UpdateContactOptions> for ContactInput {
    fn from(b: UpdateContactOptions) -> Self {
        ContactInput {
            email: b.email,
            first_name: b.first_name,
            last_name: b.last_name,
            unsubscribed: b.unsubscribed,
            properties: b.properties,
            ..ContactInput::default()
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreateContactResponseSuccess {
    object: &'static str,
    id: String,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateContactResponseSuccess {
    object: &'static str,
    id: String,
}

/// Resend answers with `contact` (the id or email as given); the spec says `id`: both.
#[derive(Serialize, ToSchema)]
pub struct RemoveContactResponseSuccess {
    object: &'static str,
    id: String,
    contact: String,
    deleted: bool,
}

/// A contact in lists.
#[derive(Serialize, ToSchema)]
pub struct ContactListItem {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    created_at: String,
    unsubscribed: bool,
}

impl From<&Contact> for ContactListItem {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.clone(),
            email: c.email.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            created_at: resend_timestamp(c.created_at),
            unsubscribed: c.unsubscribed,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListContactsResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<ContactListItem>,
}

/// A contact: its list item's fields, its properties and its history.
#[derive(Serialize, ToSchema)]
pub struct GetContactResponseSuccess {
    object: &'static str,
    #[serde(flatten)]
    contact: ContactListItem,
    /// Each custom property's value with its type: `{"plan": {"type": "string", "value": "pro"}}`.
    #[schema(value_type = Object)]
    properties: Map<String, Value>,
    /// Herald: the contact's latest marketing interactions, newest first.
    history: Vec<HistoryEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactSegmentItem {
    id: String,
    name: String,
    /// When the contact was added to the segment.
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ListContactSegmentsResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<ContactSegmentItem>,
}

#[derive(Serialize, ToSchema)]
pub struct AddContactToSegmentResponseSuccess {
    /// The segment's id, as Resend's docs show (the Rust SDK reads it).
    id: String,
    object: &'static str,
    contact_id: String,
    segment_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct RemoveContactFromSegmentResponseSuccess {
    /// The segment's id, as Resend's docs show (the Rust SDK reads it).
    id: String,
    object: &'static str,
    contact_id: String,
    segment_id: String,
    deleted: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ContactTopicItem {
    id: String,
    name: String,
    description: Option<String>,
    subscription: String,
    /// When the topic was created (the Rust SDK reads it).
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct GetContactTopicsResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<ContactTopicItem>,
}

/// `{"topics": […]}` as the spec says, or the bare array both SDKs send (each an object:
/// see [`crate::serde_util::Object`]).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum UpdateContactTopicsBody {
    Wrapped(crate::serde_util::Object<UpdateContactTopicsOptions>),
    Bare(Vec<crate::serde_util::Object<TopicSubscription>>),
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateContactTopicsOptions {
    #[schema(required = true)]
    topics: Option<Vec<TopicSubscription>>,
}

#[derive(Serialize, ToSchema)]
pub struct UpdatedTopic {
    id: String,
    subscription: String,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateContactTopicsResponseSuccess {
    /// The contact's id, as Resend's docs show (the Rust SDK reads it).
    id: String,
    object: &'static str,
    contact_id: String,
    topics: Vec<UpdatedTopic>,
}

/// `GET /contacts` query: the pagination parameters and a segment.
#[derive(Debug, Default, Deserialize)]
pub struct ContactListQuery {
    limit: Option<String>,
    after: Option<String>,
    before: Option<String>,
    segment_id: Option<String>,
}

impl ContactListQuery {
    fn page(&self) -> AppResult<Page> {
        let query = ListQuery {
            limit: self.limit.clone(),
            after: self.after.clone(),
            before: self.before.clone(),
        };
        Page::from_query(&query, None)
    }
}

// Shared with the deprecated audience routes.

pub async fn create_contact(
    app: &App,
    team_id: &str,
    body: CreateContactOptions,
    extra_segment: Option<String>,
) -> AppResult<Created<CreateContactResponseSuccess>> {
    let (contact, _) = contacts::create(app, team_id, body.into_input(extra_segment)).await?;
    Ok(created(CreateContactResponseSuccess {
        object: "contact",
        id: contact.id,
    }))
}

/// Lists contacts, all or one segment's (an unknown segment is a 404).
pub async fn list_contacts(
    app: &App,
    team_id: &str,
    query: &ContactListQuery,
    segment_id: Option<&str>,
) -> AppResult<Json<ListContactsResponseSuccess>> {
    let page = query.page()?;
    if let Some(segment) = segment_id {
        super::require_uuid(segment, "segment_id")?;
        segments::get(app, team_id, segment).await?;
    }
    let filter = ListFilter {
        segment_id: segment_id.map(str::to_string),
        ..ListFilter::default()
    };
    let list = contacts::list(app, team_id, &page, &filter).await?;
    Ok(Json(ListContactsResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list.data.iter().map(Into::into).collect(),
    }))
}

pub async fn get_contact(
    app: &App,
    team_id: &str,
    id: &str,
) -> AppResult<Json<GetContactResponseSuccess>> {
    let contact = contacts::get(app, team_id, id).await?;
    let history = history::recent(app, &contact.id, contact.created_at).await?;
    let schema = properties::Schema::load(app, team_id).await?;
    Ok(Json(GetContactResponseSuccess {
        object: "contact",
        properties: schema.typed(contact.properties_map()),
        contact: ContactListItem::from(&contact),
        history,
    }))
}

pub async fn update_contact(
    app: &App,
    team_id: &str,
    id: &str,
    body: UpdateContactOptions,
) -> AppResult<Json<UpdateContactResponseSuccess>> {
    let contact = contacts::update(app, team_id, id, body.into()).await?;
    Ok(Json(UpdateContactResponseSuccess {
        object: "contact",
        id: contact.id,
    }))
}

pub async fn remove_contact(
    app: &App,
    team_id: &str,
    id: &str,
) -> AppResult<Json<RemoveContactResponseSuccess>> {
    let found = contacts::find(app, team_id, id).await?;
    contacts::delete(app, team_id, id).await?;
    Ok(Json(RemoveContactResponseSuccess {
        object: "contact",
        id: found.map(|c| c.id).unwrap_or_else(|| id.to_string()),
        contact: id.to_string(),
        deleted: true,
    }))
}

const TAG: &str = "Contacts";

#[utoipa::path(post, path = "/contacts", tag = TAG, operation_id = "contacts/create",
    request_body = CreateContactOptions,
    responses((status = 201, description = "OK", body = CreateContactResponseSuccess)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateContactOptions>,
) -> AppResult<Created<CreateContactResponseSuccess>> {
    create_contact(&app, &auth.team_id, body, None).await
}

#[utoipa::path(get, path = "/contacts", tag = TAG, operation_id = "contacts/list",
    params(("segment_id" = Option<String>, Query), ("limit" = Option<u32>, Query),
           ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListContactsResponseSuccess)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ContactListQuery>,
) -> AppResult<Json<ListContactsResponseSuccess>> {
    let segment = query.segment_id.clone().filter(|s| !s.is_empty());
    list_contacts(&app, &auth.team_id, &query, segment.as_deref()).await
}

#[utoipa::path(get, path = "/contacts/{id}", tag = TAG, operation_id = "contacts/get",
    params(("id" = String, Path, description = "The contact ID or email address.")),
    responses((status = 200, description = "OK", body = GetContactResponseSuccess)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<GetContactResponseSuccess>> {
    get_contact(&app, &auth.team_id, &id).await
}

#[utoipa::path(patch, path = "/contacts/{id}", tag = TAG, operation_id = "contacts/update",
    params(("id" = String, Path, description = "The contact ID or email address.")),
    request_body = UpdateContactOptions,
    responses((status = 200, description = "OK", body = UpdateContactResponseSuccess)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateContactOptions>,
) -> AppResult<Json<UpdateContactResponseSuccess>> {
    update_contact(&app, &auth.team_id, &id, body).await
}

#[utoipa::path(delete, path = "/contacts/{id}", tag = TAG, operation_id = "contacts/remove",
    params(("id" = String, Path, description = "The contact ID or email address.")),
    responses((status = 200, description = "OK", body = RemoveContactResponseSuccess)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<RemoveContactResponseSuccess>> {
    remove_contact(&app, &auth.team_id, &id).await
}

#[utoipa::path(get, path = "/contacts/{contact_id}/segments", tag = TAG, operation_id = "contacts/list-segments",
    params(("contact_id" = String, Path, description = "The contact ID or email address."),
           ("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListContactSegmentsResponseSuccess)))]
async fn list_segments(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(contact_id): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListContactSegmentsResponseSuccess>> {
    let (contact, page) = contact_page(&app, &auth.team_id, &contact_id, &query).await?;
    let list = segments::of_contact(&app, &auth.team_id, &contact.id, &page).await?;
    Ok(Json(ListContactSegmentsResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list
            .data
            .into_iter()
            .map(|s| ContactSegmentItem {
                id: s.id,
                name: s.name,
                created_at: resend_timestamp(s.added_at),
            })
            .collect(),
    }))
}

/// What a list about one contact (its segments, its topics) reads: the contact named by id
/// or email, and the page asked for.
async fn contact_page(
    app: &App,
    team_id: &str,
    contact_id: &str,
    query: &ListQuery,
) -> AppResult<(Contact, Page)> {
    let page = Page::from_query(query, None)?;
    let contact = contacts::get(app, team_id, contact_id).await?;
    Ok((contact, page))
}

/// The contact and segment a membership route names.
async fn membership(
    app: &App,
    team_id: &str,
    contact_id: &str,
    segment_id: &str,
) -> AppResult<(Contact, segments::Segment)> {
    super::require_uuid(segment_id, "segment_id")?;
    let contact = contacts::get(app, team_id, contact_id).await?;
    let segment = segments::get(app, team_id, segment_id).await?;
    Ok((contact, segment))
}

#[utoipa::path(post, path = "/contacts/{contact_id}/segments/{segment_id}", tag = TAG, operation_id = "contacts/add-segment",
    params(("contact_id" = String, Path, description = "The contact ID or email address."),
           ("segment_id" = String, Path, description = "The segment ID.")),
    responses((status = 200, description = "OK", body = AddContactToSegmentResponseSuccess)))]
async fn add_segment(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path((contact_id, segment_id)): Path<(String, String)>,
) -> AppResult<Json<AddContactToSegmentResponseSuccess>> {
    let (contact, segment) = membership(&app, &auth.team_id, &contact_id, &segment_id).await?;
    segments::add_contact(&app, &auth.team_id, &contact, &segment).await?;
    Ok(Json(AddContactToSegmentResponseSuccess {
        id: segment.id.clone(),
        object: "contact_segment",
        contact_id: contact.id,
        segment_id: segment.id,
    }))
}

#[utoipa::path(delete, path = "/contacts/{contact_id}/segments/{segment_id}", tag = TAG, operation_id = "contacts/remove-segment",
    params(("contact_id" = String, Path, description = "The contact ID or email address."),
           ("segment_id" = String, Path, description = "The segment ID.")),
    responses((status = 200, description = "OK", body = RemoveContactFromSegmentResponseSuccess)))]
async fn remove_segment(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path((contact_id, segment_id)): Path<(String, String)>,
) -> AppResult<Json<RemoveContactFromSegmentResponseSuccess>> {
    let (contact, segment) = membership(&app, &auth.team_id, &contact_id, &segment_id).await?;
    segments::remove_contact(&app, &auth.team_id, &contact, &segment).await?;
    Ok(Json(RemoveContactFromSegmentResponseSuccess {
        id: segment.id.clone(),
        object: "contact_segment",
        contact_id: contact.id,
        segment_id: segment.id,
        deleted: true,
    }))
}

#[utoipa::path(get, path = "/contacts/{contact_id}/topics", tag = TAG, operation_id = "contacts/list-topics",
    params(("contact_id" = String, Path, description = "The contact ID or email address."),
           ("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = GetContactTopicsResponseSuccess)))]
async fn list_topics(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(contact_id): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<GetContactTopicsResponseSuccess>> {
    let (contact, page) = contact_page(&app, &auth.team_id, &contact_id, &query).await?;
    let list = topics::of_contact(&app, &auth.team_id, &contact.id, &page).await?;
    Ok(Json(GetContactTopicsResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list
            .data
            .into_iter()
            .map(|t| ContactTopicItem {
                id: t.id,
                name: t.name,
                description: t.description,
                subscription: t.subscription,
                created_at: resend_timestamp(t.created_at),
            })
            .collect(),
    }))
}

#[utoipa::path(patch, path = "/contacts/{contact_id}/topics", tag = TAG, operation_id = "contacts/update-topics",
    params(("contact_id" = String, Path, description = "The contact ID or email address.")),
    request_body = UpdateContactTopicsOptions,
    responses((status = 200, description = "OK", body = UpdateContactTopicsResponseSuccess)))]
async fn update_topics(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(contact_id): Path<String>,
    LenientJson(body): LenientJson<UpdateContactTopicsBody>,
) -> AppResult<Json<UpdateContactTopicsResponseSuccess>> {
    let requested = match body {
        UpdateContactTopicsBody::Bare(list) => list.into_iter().map(|item| item.0).collect(),
        UpdateContactTopicsBody::Wrapped(w) => {
            w.0.topics
                .ok_or_else(|| AppError::missing_field("topics"))?
        }
    };
    let contact = contacts::get(&app, &auth.team_id, &contact_id).await?;
    let choices: Vec<Choice> = requested.into_iter().map(Into::into).collect();
    let applied = topics::set_for_contact(&app, &auth.team_id, &contact.id, &choices).await?;
    Ok(Json(UpdateContactTopicsResponseSuccess {
        id: contact.id.clone(),
        object: "contact_topics",
        contact_id: contact.id,
        topics: applied
            .into_iter()
            .map(|c| UpdatedTopic {
                id: c.topic.id,
                subscription: c.subscription.to_string(),
            })
            .collect(),
    }))
}
