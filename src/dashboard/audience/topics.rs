//! The Topics page: what contacts can opt in to or out of; admins create topics (the
//! default subscription is fixed then), edit name, description and visibility, and delete.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::super::csrf::FormFields;
use super::super::format;
use super::super::pages::{PageError, PageResult, Shell, render};
use super::super::session::{AdminForm, AdminSession, CurrentSession, Item};
use super::{AudienceConfirm, Notice, SECTION, Tab, after_change, done, tabs};
use crate::audience::topics::{self, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, Topic, TopicInput};
use crate::auth::sessions::Session;
use crate::handle::App;

const LIST: &str = "/dashboard/audience/topics";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page).post(create))
        .route(
            "/dashboard/audience/topics/{id}/edit",
            get(edit_form).post(update),
        )
        .route(
            "/dashboard/audience/topics/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

pub struct TopicRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub opt_in: bool,
    pub public: bool,
    pub created: String,
}

impl From<Topic> for TopicRow {
    fn from(t: Topic) -> Self {
        Self {
            opt_in: t.default_subscription == topics::OPT_IN,
            public: t.visibility == "public",
            created: format::date(t.created_at),
            id: t.id,
            name: t.name,
            description: t.description.unwrap_or_default(),
        }
    }
}

/// The create or edit form's values.
pub struct TopicForm {
    pub name: String,
    pub description: String,
    pub opt_in: bool,
    pub public: bool,
}

impl TopicForm {
    fn empty() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            opt_in: true,
            public: false,
        }
    }
    fn of(fields: &FormFields) -> Self {
        Self {
            name: fields.text("name").to_string(),
            description: fields.text("description").to_string(),
            opt_in: fields.text("default_subscription") != topics::OPT_OUT,
            public: fields.text("visibility") == "public",
        }
    }
    fn input(&self, with_default: bool) -> TopicInput {
        TopicInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            default_subscription: with_default.then(|| {
                if self.opt_in {
                    topics::OPT_IN
                } else {
                    topics::OPT_OUT
                }
                .to_string()
            }),
            visibility: Some(if self.public { "public" } else { "private" }.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "audience/topics.html")]
struct ListPage {
    shell: Shell,
    tabs: Vec<Tab>,
    rows: Vec<TopicRow>,
    form: TopicForm,
    max_name_len: usize,
    max_description_len: usize,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "audience/topic_edit.html")]
struct EditPage {
    shell: Shell,
    tabs: Vec<Tab>,
    id: String,
    form: TopicForm,
    max_name_len: usize,
    max_description_len: usize,
    error: Option<String>,
}

impl EditPage {
    fn new(session: &Session, id: String, form: TopicForm, error: Option<String>) -> Self {
        Self {
            shell: Shell::in_section(session, SECTION),
            tabs: tabs("Topics"),
            id,
            form,
            max_name_len: MAX_NAME_LEN,
            max_description_len: MAX_DESCRIPTION_LEN,
            error,
        }
    }
}

async fn list_response(
    app: &App,
    session: &Session,
    status: StatusCode,
    form: TopicForm,
    error: Option<String>,
    notice: Option<&'static str>,
) -> PageResult {
    let rows = topics::all(app, &session.user.team_id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let page = ListPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Topics"),
        rows,
        form,
        max_name_len: MAX_NAME_LEN,
        max_description_len: MAX_DESCRIPTION_LEN,
        error,
        notice,
    };
    Ok(render(status, &page))
}

async fn list_page(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let notice = notice.message(&[
        ("created", "Topic created."),
        ("updated", "Topic saved."),
        ("deleted", "Topic deleted."),
    ]);
    list_response(
        &app,
        &current.session,
        StatusCode::OK,
        TopicForm::empty(),
        None,
        notice,
    )
    .await
}

async fn create(State(app): State<App>, form: AdminForm) -> PageResult {
    let session = &form.session;
    let typed = TopicForm::of(&form.fields);
    let result = topics::create(&app, &session.user.team_id, typed.input(true)).await;
    after_change(result, LIST, "created", |error| {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        list_response(&app, session, status, typed, Some(error), None)
    })
    .await
}

async fn edit_form(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let topic = topics::find(&app, &session.user.team_id, &current.id)
        .await?
        .ok_or(PageError::NotFound)?;
    let row = TopicRow::from(topic);
    let form = TopicForm {
        name: row.name,
        description: row.description,
        opt_in: row.opt_in,
        public: row.public,
    };
    Ok(render(
        StatusCode::OK,
        &EditPage::new(session, row.id, form, None),
    ))
}

async fn update(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    let team = &session.user.team_id;
    let topic = topics::find(&app, team, &form.id)
        .await?
        .ok_or(PageError::NotFound)?;
    let mut typed = TopicForm::of(&form.fields);
    typed.opt_in = topic.default_subscription == topics::OPT_IN;
    let result = topics::update(&app, team, &form.id, typed.input(false)).await;
    after_change(result, LIST, "updated", |error| async move {
        let page = EditPage::new(session, topic.id, typed, Some(error));
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    })
    .await
}

async fn confirm_delete(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let topic = topics::find(&app, &session.user.team_id, &current.id)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(AudienceConfirm::delete_page(
        session,
        ("Topics", LIST),
        &current.id,
        ("topic", &topic.name),
        "Contacts' choices for this topic are removed too.",
    ))
}

async fn delete(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    topics::delete(&app, &session.user.team_id, &form.id)
        .await
        .map_err(|_| PageError::NotFound)?;
    Ok(done(LIST, "deleted"))
}
