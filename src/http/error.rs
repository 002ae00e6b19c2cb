//! Renders [`AppError`] as Resend's error body: `{"statusCode", "message", "name"}`, and maps
//! the services' own error types to it: a service says what went wrong in its terms (a
//! `DomainError::NotFound`), and this layer chooses Resend's status and error name.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::audience::contacts::ContactError;
use crate::audience::imports::ImportError;
use crate::audience::properties::PropertyError;
use crate::audience::segments::SegmentError;
use crate::audience::topics::TopicError;
use crate::auth::AuthError;
use crate::branding::BrandingError;
use crate::broadcasts::error::BroadcastError;
use crate::domains::DomainError;
use crate::emails::error::EmailError;
use crate::error::AppError;
use crate::exports::ExportError;
use crate::fields::FieldError;
use crate::metrics::MetricsError;
use crate::suppressions::SuppressionError;
use crate::templates::error::TemplateError;
use crate::webhooks::WebhookError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "statusCode": self.status,
            "message": self.message,
            "name": self.name,
        });
        (status, Json(body)).into_response()
    }
}

impl From<FieldError> for AppError {
    fn from(err: FieldError) -> Self {
        match err {
            FieldError::Missing(field) => AppError::missing_field(field),
            FieldError::Invalid(message) => AppError::validation(message),
            FieldError::Unknown(message) => AppError::not_found(message),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(err: DomainError) -> Self {
        let message = err.to_string();
        match err {
            DomainError::Missing(field) => AppError::missing_field(field),
            DomainError::Invalid(_) | DomainError::AlreadyAdded(_) => AppError::validation(message),
            DomainError::UnknownRegion => AppError::new(422, "invalid_region", message),
            DomainError::NotFound => AppError::not_found(message),
            DomainError::KeyGeneration(_) => AppError::internal(message),
            DomainError::Failed(err) => err.into(),
        }
    }
}

impl From<ContactError> for AppError {
    fn from(err: ContactError) -> Self {
        let message = err.to_string();
        match err {
            ContactError::Invalid(_) | ContactError::EmailTaken(_) => AppError::validation(message),
            ContactError::BadKey => AppError::invalid_parameter(message),
            ContactError::NotFound => AppError::not_found(message),
            ContactError::Field(err) => err.into(),
            ContactError::Property(err) => err.into(),
            ContactError::Segment(err) => err.into(),
            ContactError::Topic(err) => err.into(),
            ContactError::Failed(err) => err.into(),
        }
    }
}

impl From<SuppressionError> for AppError {
    fn from(err: SuppressionError) -> Self {
        let message = err.to_string();
        match err {
            SuppressionError::Invalid(_) => AppError::validation(message),
            SuppressionError::BadKey => AppError::invalid_parameter(message),
            SuppressionError::NotFound => AppError::not_found(message),
            SuppressionError::NotStored => AppError::internal(message),
            SuppressionError::Failed(err) => err.into(),
        }
    }
}

impl From<WebhookError> for AppError {
    fn from(err: WebhookError) -> Self {
        let message = err.to_string();
        match err {
            WebhookError::Missing(field) => AppError::missing_field(field),
            WebhookError::Invalid(_) => AppError::validation(message),
            WebhookError::NotFound => AppError::not_found(message),
            WebhookError::Failed(err) => err.into(),
        }
    }
}

impl From<AuthError> for AppError {
    fn from(err: AuthError) -> Self {
        let message = err.to_string();
        match err {
            AuthError::Invalid(_) => AppError::validation(message),
            AuthError::InvalidAccess => AppError::new(422, "invalid_access", message),
            AuthError::Throttled(_) => AppError::new(429, "rate_limit_exceeded", message),
            AuthError::LastAdmin => AppError::new(409, "validation_error", message),
            AuthError::UnusableInvitation | AuthError::NotFound(_) => AppError::not_found(message),
            AuthError::Field(err) => err.into(),
            AuthError::Email(err) => err.into(),
            AuthError::Failed(err) => err.into(),
        }
    }
}

impl From<ImportError> for AppError {
    fn from(err: ImportError) -> Self {
        let message = err.to_string();
        match err {
            ImportError::Missing(field) => AppError::missing_field(field),
            ImportError::Invalid(_) => AppError::validation(message),
            ImportError::NotFound => AppError::not_found(message),
            ImportError::Vanished => AppError::internal(message),
            ImportError::Property(err) => err.into(),
            ImportError::Segment(err) => err.into(),
            ImportError::Topic(err) => err.into(),
            ImportError::Failed(err) => err.into(),
        }
    }
}

impl From<ExportError> for AppError {
    fn from(err: ExportError) -> Self {
        let message = err.to_string();
        match err {
            ExportError::NotFound | ExportError::FileNotFound => AppError::not_found(message),
            ExportError::Property(err) => err.into(),
            ExportError::Contact(err) => err.into(),
            ExportError::Segment(err) => err.into(),
            ExportError::Auth(err) => err.into(),
            ExportError::Email(err) => err.into(),
            ExportError::Broadcast(err) => err.into(),
            ExportError::Domain(err) => err.into(),
            ExportError::Failed(err) => err.into(),
        }
    }
}

impl From<MetricsError> for AppError {
    fn from(err: MetricsError) -> Self {
        let message = err.to_string();
        match err {
            MetricsError::Invalid(_) => AppError::validation(message),
            MetricsError::Failed(err) => err.into(),
        }
    }
}

impl From<BrandingError> for AppError {
    fn from(err: BrandingError) -> Self {
        let message = err.to_string();
        match err {
            BrandingError::Invalid(_) => AppError::validation(message),
            BrandingError::TeamNotFound => AppError::not_found(message),
            BrandingError::Failed(err) => err.into(),
        }
    }
}

impl From<PropertyError> for AppError {
    fn from(err: PropertyError) -> Self {
        let message = err.to_string();
        match err {
            PropertyError::Missing(field) => AppError::missing_field(field),
            PropertyError::Invalid(_) => AppError::validation(message),
            PropertyError::NotFound => AppError::not_found(message),
            PropertyError::Failed(err) => err.into(),
        }
    }
}

impl From<SegmentError> for AppError {
    fn from(err: SegmentError) -> Self {
        let message = err.to_string();
        match err {
            SegmentError::Invalid(_) => AppError::validation(message),
            SegmentError::NotFound => AppError::not_found(message),
            SegmentError::Field(err) => err.into(),
            SegmentError::Failed(err) => err.into(),
        }
    }
}

impl From<TopicError> for AppError {
    fn from(err: TopicError) -> Self {
        let message = err.to_string();
        match err {
            TopicError::Missing(field) => AppError::missing_field(field),
            TopicError::Invalid(_) => AppError::validation(message),
            TopicError::NotFound => AppError::not_found(message),
            TopicError::Field(err) => err.into(),
            TopicError::Failed(err) => err.into(),
        }
    }
}

impl From<TemplateError> for AppError {
    fn from(err: TemplateError) -> Self {
        let message = err.to_string();
        match err {
            TemplateError::Missing(field) => AppError::missing_field(field),
            TemplateError::Invalid(_) => AppError::validation(message),
            TemplateError::NotFound | TemplateError::Unknown(_) => AppError::not_found(message),
            TemplateError::Field(err) => err.into(),
            TemplateError::Email(err) => (*err).into(),
            TemplateError::Failed(err) => err.into(),
        }
    }
}

impl From<BroadcastError> for AppError {
    fn from(err: BroadcastError) -> Self {
        let message = err.to_string();
        match err {
            BroadcastError::Missing(field) => AppError::missing_field(field),
            BroadcastError::NoContent(_) => AppError::new(422, "missing_required_field", message),
            BroadcastError::Invalid(_) => AppError::validation(message),
            BroadcastError::InvalidFrom(_) => AppError::new(422, "invalid_from_address", message),
            BroadcastError::UnverifiedDomain(_) => AppError::new(403, "validation_error", message),
            BroadcastError::NotFound | BroadcastError::LinkNotFound => AppError::not_found(message),
            BroadcastError::Email(err) => err.into(),
            BroadcastError::Contact(err) => err.into(),
            BroadcastError::Property(err) => err.into(),
            BroadcastError::Segment(err) => err.into(),
            BroadcastError::Topic(err) => err.into(),
            BroadcastError::Failed(err) => err.into(),
        }
    }
}

impl From<EmailError> for AppError {
    fn from(err: EmailError) -> Self {
        let message = err.to_string();
        match err {
            EmailError::Missing(field) => AppError::missing_field(field),
            EmailError::MissingContent => AppError::new(422, "missing_required_field", message),
            EmailError::Invalid(_) => AppError::validation(message),
            EmailError::InvalidFrom(_) => AppError::new(422, "invalid_from_address", message),
            EmailError::InvalidAttachment(_) => AppError::new(422, "invalid_attachment", message),
            EmailError::NotAllowed(_) => AppError::new(403, "validation_error", message),
            EmailError::InvalidIdempotencyKey => {
                AppError::new(400, "invalid_idempotency_key", message)
            }
            EmailError::IdempotencyKeyReused => {
                AppError::new(409, "invalid_idempotent_request", message)
            }
            EmailError::IdempotencyInProgress => {
                AppError::new(409, "concurrent_idempotent_requests", message)
            }
            EmailError::NotFound | EmailError::AttachmentNotFound => AppError::not_found(message),
            EmailError::NotStored => AppError::internal(message),
            // The email's own refusal, with the batch's index in front of its message.
            EmailError::AtIndex(_, cause) => AppError {
                message,
                ..AppError::from(*cause)
            },
            EmailError::Template(err) => (*err).into(),
            EmailError::Contact(err) => err.into(),
            EmailError::Failed(err) => err.into(),
        }
    }
}

pub async fn not_found() -> AppError {
    AppError::not_found("The requested endpoint does not exist.")
}

pub async fn method_not_allowed() -> AppError {
    AppError::new(
        405,
        "method_not_allowed",
        "Method is not allowed for the requested path.",
    )
}
