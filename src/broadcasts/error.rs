//! What the broadcasts service refuses, in its own words and without HTTP: the outer layer
//! maps each case to Resend's status and error name (`http::error`), or to a page.

crate::service_error! {
    pub enum BroadcastError {
        /// A required field is empty or absent.
        #[error("Missing `{0}` field.")]
        Missing(&'static str),
        /// The broadcast has neither html nor text; says what to do (`before sending`, `first`).
        #[error("The broadcast has no content: give it `html` or `text` {0}.")]
        NoContent(&'static str),
        /// A field or a state the rules refuse; the message names the field or says why.
        #[error("{0}")]
        Invalid(String),
        /// The sender cannot be read as an address.
        #[error("Invalid `from` field ({0}).")]
        InvalidFrom(String),
        /// The sender's domain is not verified (or has sending disabled); the message says so.
        #[error("{0}")]
        UnverifiedDomain(String),
        /// The team has no such broadcast.
        #[error("Broadcast not found")]
        NotFound,
        /// An unsubscribe link that names no contact (any more).
        #[error("Link not found.")]
        LinkNotFound,
    }
    passes [
        Email(crate::emails::error::EmailError),
        Contact(crate::audience::contacts::ContactError),
        Property(crate::audience::properties::PropertyError),
        Segment(crate::audience::segments::SegmentError),
        Topic(crate::audience::topics::TopicError),
    ]
    fails [sqlx::Error, crate::store::sql::StoreError, serde_json::Error]
}

pub type BroadcastResult<T> = Result<T, BroadcastError>;
