//! What the contact imports service refuses, in its own words and without HTTP: the outer
//! layer maps each case to Resend's status and error name (`http::error`), or to a page.

crate::service_error! {
    pub enum ImportError {
        /// A required field (the file) is absent.
        #[error("Missing `{0}` field.")]
        Missing(&'static str),
        /// The file, the column map or a parameter is refused; the message says which.
        #[error("{0}")]
        Invalid(String),
        /// The team has no such import.
        #[error("Contact import not found")]
        NotFound,
        /// The import was not found right after its upload was committed (cannot happen).
        #[error("The import vanished after its upload.")]
        Vanished,
    }
    passes [
        Property(crate::audience::properties::PropertyError),
        Segment(crate::audience::segments::SegmentError),
        Topic(crate::audience::topics::TopicError),
    ]
    fails [sqlx::Error, crate::store::sql::StoreError, serde_json::Error]
}

pub type ImportResult<T> = Result<T, ImportError>;
