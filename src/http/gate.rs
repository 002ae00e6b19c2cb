//! The gate every API request passes: bearer-key authentication, permission check, the
//! team's rate limit, and the request log. Handlers then read the [`AuthKey`] from the
//! request extensions.

use std::time::Instant;

use axum::body::{Body, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::api_keys::{self, AuthKey, Permission};
use crate::error::AppError;
use crate::handle::App;
use crate::http::request_log::{Bodies, BodyTap, LogEntry};

/// Routes a `sending_access` key may call.
const SENDING_ROUTES: &[(Method, &str)] =
    &[(Method::POST, "/emails"), (Method::POST, "/emails/batch")];

fn bearer_token(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// What authentication needs from the request, taken out before any await
/// (a request body is not `Sync`, so the request itself cannot be held across one).
struct Credentials {
    token: Option<String>,
    method: Method,
    route: Option<String>,
}

async fn authenticate(app: &App, creds: Credentials) -> Result<AuthKey, AppError> {
    let Some(token) = creds.token else {
        return Err(AppError::new(
            401,
            "missing_api_key",
            "Missing API key in the authorization header. Include the following header \
             Authorization: Bearer re_123 in the request.",
        ));
    };
    let key = api_keys::authenticate(app, &token)
        .await?
        .ok_or_else(|| AppError::new(403, "invalid_api_key", "API key is invalid"))?;
    if key.permission == Permission::SendingAccess {
        let allowed = SENDING_ROUTES
            .iter()
            .any(|(method, path)| creds.method == method && creds.route.as_deref() == Some(*path));
        if !allowed {
            return Err(AppError::restricted_api_key());
        }
    }
    Ok(key)
}

pub async fn api_gate(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let creds = Credentials {
        token: bearer_token(&req),
        method: req.method().clone(),
        route: req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string()),
    };
    let key = match authenticate(&app, creds).await {
        Ok(key) => key,
        Err(err) => return err.into_response(),
    };
    let decision = app.rate_limiter().check(&key.team_id, app.now_ms()).await;
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let team_id = key.team_id.clone();
    let key_id = key.id.clone();
    let tap = app.settings().logs.enabled.then(BodyTap::default);
    if let Some(tap) = &tap
        && req.body().size_hint().exact() != Some(0)
    {
        let body = std::mem::take(req.body_mut());
        *req.body_mut() = tap.wrap(body);
        req.extensions_mut().insert(tap.clone());
    }

    let mut response = if decision.allowed {
        req.extensions_mut().insert(key);
        next.run(req).await
    } else {
        AppError::new(
            429,
            "rate_limit_exceeded",
            "Too many requests. Please limit the number of requests per second. Or contact \
             support to increase rate limit.",
        )
        .into_response()
    };
    decision.write_headers(response.headers_mut());
    let bodies = match tap {
        Some(tap) => {
            let (parts, body) = response.into_parts();
            // API answers are one buffer already (JSON); reading it out copies nothing.
            let (body, kept) = if body.size_hint().exact().is_some() {
                let bytes = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                (Body::from(bytes.clone()), Some(bytes))
            } else {
                (body, None)
            };
            response = Response::from_parts(parts, body);
            Some(Bodies {
                request: tap.take().await,
                response: kept,
                dropped: false,
            })
        }
        None => None,
    };
    app.request_log().record(LogEntry {
        team_id,
        api_key_id: Some(key_id),
        method,
        path,
        status: response.status().as_u16(),
        user_agent,
        duration_us: started.elapsed().as_micros() as i64,
        created_at: app.now_ms(),
        bodies,
    });
    response
}
