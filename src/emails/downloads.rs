//! Signed, expiring links to attachment content, like the `download_url` Resend returns.
//! The link carries its expiry and an HMAC of (attachment id, expiry) under the instance
//! secret, so the public download route needs no API key and no stored state.

use super::error::{EmailError, EmailResult};
use crate::auth::tokens::{keyed_hash, same};
use crate::clock::Millis;
use crate::handle::App;

/// How long a download link works.
pub const LINK_TTL_MS: Millis = 60 * 60 * 1000;

/// The public route serving attachment content.
pub const ROUTE: &str = "/downloads/attachments/{attachment_id}";

fn signature(app: &App, attachment_id: &str, expires: Millis) -> String {
    keyed_hash(
        app.secret_key(),
        &format!("attachment-download:v1:{attachment_id}:{expires}"),
    )
}

/// A link valid until the returned expiry.
pub fn signed_url(app: &App, attachment_id: &str, now: Millis) -> (String, Millis) {
    let expires = now + LINK_TTL_MS;
    let url = format!(
        "{}/downloads/attachments/{attachment_id}?expires={expires}&signature={}",
        app.public_base_url(),
        signature(app, attachment_id, expires)
    );
    (url, expires)
}

/// Checks a link's signature and expiry.
pub fn verify(
    app: &App,
    attachment_id: &str,
    expires: Millis,
    given: &str,
    now: Millis,
) -> EmailResult<()> {
    let expected = signature(app, attachment_id, expires);
    if !same(&expected, given) || expires < now {
        return Err(EmailError::NotAllowed(
            "The download link is invalid or has expired. Request the attachment again for a \
             fresh link."
                .into(),
        ));
    }
    Ok(())
}
