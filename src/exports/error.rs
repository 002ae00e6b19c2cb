//! What the exports service refuses, in its own words and without HTTP: the outer layer
//! maps each case to a page (the dashboard, the only caller) or Resend's error body
//! (`http::error`).

crate::service_error! {
    pub enum ExportError {
        /// The team has no such export.
        #[error("Export not found")]
        NotFound,
        /// The export's file is gone (expired meanwhile).
        #[error("Export file not found")]
        FileNotFound,
    }
    passes [
        Property(crate::audience::properties::PropertyError),
        Contact(crate::audience::contacts::ContactError),
        Segment(crate::audience::segments::SegmentError),
        Auth(crate::auth::AuthError),
        Email(crate::emails::error::EmailError),
        Broadcast(crate::broadcasts::error::BroadcastError),
        Domain(crate::domains::DomainError),
    ]
    fails [sqlx::Error, crate::store::sql::StoreError]
}

pub type ExportResult<T> = Result<T, ExportError>;
