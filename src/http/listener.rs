//! The HTTP listener: a TCP listener whose connections give the answers hyper writes by
//! itself Resend's error body. hyper refuses a request it cannot parse (a URI over 64 KB:
//! 414, headers over its buffer: 431, a malformed request line or header: 400) before any
//! of Herald's code runs, with an empty body. Those answers are recognised as they are
//! written (an error status line with `content-length: 0`, which Herald's own answers never
//! have) and replaced by the same answer with a JSON body. [`serve`] runs the connections
//! with hyper's HTTP/1 and a timer, for the header read timeout.
//!
//! Each connection holds a file descriptor: [`raise_open_files_limit`] lifts the process's
//! soft `RLIMIT_NOFILE` (often 1,024) towards its hard limit at start-up, so thousands of
//! keep-alive clients can stay connected.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

pub struct JsonErrorListener(pub TcpListener);

impl axum::serve::Listener for JsonErrorListener {
    type Io = JsonErrorIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (
            JsonErrorIo {
                inner: stream,
                pending: None,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

pub struct JsonErrorIo {
    inner: TcpStream,
    /// A replacement being written, how much of it is out, and the length of what it
    /// replaces (reported to hyper once it is all out).
    pending: Option<(Vec<u8>, usize, usize)>,
}

/// The JSON answer standing for hyper's bare `head`, if it is one of hyper's own.
pub fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let status: u16 = match head.get(..13)? {
        b"HTTP/1.1 400 " | b"HTTP/1.0 400 " => 400,
        b"HTTP/1.1 414 " | b"HTTP/1.0 414 " => 414,
        b"HTTP/1.1 431 " | b"HTTP/1.0 431 " => 431,
        _ => return None,
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if end != head.len() {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    if !text.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let (name, message) = match status {
        414 => (
            "uri_too_long",
            "The request URL is too long (the limit is 64 KB).",
        ),
        431 => (
            "request_header_fields_too_large",
            "The request headers are too large.",
        ),
        _ => (
            "validation_error",
            "The request could not be parsed as HTTP/1.1.",
        ),
    };
    let body =
        serde_json::json!({"statusCode": status, "message": message, "name": name}).to_string();
    let reason = std::str::from_utf8(&head[13..head.iter().position(|b| *b == b'\r')?]).ok()?;
    let date = std::str::from_utf8(head)
        .ok()?
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("date:"))
        .map(|l| format!("{l}\r\n"))
        .unwrap_or_default();
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n{date}\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl AsyncRead for JsonErrorIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for JsonErrorIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match replacement(buf) {
                Some(json) => this.pending = Some((json, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        loop {
            let (json, written, replaced) = this.pending.as_mut().expect("set above");
            if *written == json.len() {
                let replaced = *replaced;
                this.pending = None;
                return Poll::Ready(Ok(replaced));
            }
            match Pin::new(&mut this.inner).poll_write(cx, &json[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let head_only = bufs.iter().skip(1).all(|b| b.is_empty());
        match bufs.first() {
            Some(first) if self.pending.is_some() || head_only && replacement(first).is_some() => {
                self.poll_write(cx, first)
            }
            _ => Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// How long a client has to send a request's headers, counted from when the connection is
/// ready for the next request (so it is also how long an idle keep-alive connection stays
/// open). A client trickling its headers cannot hold a connection longer.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves HTTP/1.1 connections from `listener` with `service` until `stop`, then lets the
/// open connections finish their requests (graceful shutdown). Requests carry
/// `ConnectInfo<SocketAddr>`. hyper runs with a timer, so [`HEADER_READ_TIMEOUT`] applies;
/// request bodies have their own deadline in [`crate::http::guard`].
pub async fn serve<S>(
    mut listener: JsonErrorListener,
    service: S,
    stop: tokio_util::sync::CancellationToken,
) where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        let (io, peer) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            _ = stop.cancelled() => break,
        };
        let service = service.clone();
        let per_request =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower::ServiceExt::oneshot(service.clone(), req.map(axum::body::Body::new))
            });
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(io), per_request);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::trace!(error = %err, "HTTP connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The soft limit of open files `herald serve` asks for (capped by the hard limit).
pub const WANTED_OPEN_FILES: u64 = 65_536;

/// Raises the soft limit of open files (`RLIMIT_NOFILE`) to `wanted`, or to the hard limit
/// when that is lower; never lowers it. Returns the soft limit in effect.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // `rlim_t` is not `u64` everywhere
pub fn raise_open_files_limit(wanted: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let target = (wanted as libc::rlim_t).min(limit.rlim_max);
    if limit.rlim_cur >= target {
        return Ok(limit.rlim_cur as u64);
    }
    limit.rlim_cur = target;
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(target as u64)
}

#[cfg(not(unix))]
pub fn raise_open_files_limit(_wanted: u64) -> io::Result<u64> {
    Ok(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_error_heads_are_replaced() {
        let bare = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 07:00:00 GMT\r\n\r\n";
        let json = String::from_utf8(replacement(bare).unwrap()).unwrap();
        assert!(json.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{json}");
        assert!(json.contains("date: Sun, 06 Dec 2026"), "{json}");
        assert!(json.contains("\"name\":\"uri_too_long\""), "{json}");
        assert!(json.contains("connection: close"), "{json}");
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(bare).is_some());
        // Herald's own answers have bodies; other statuses and partial heads are left alone.
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 52\r\n\r\n{}").is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n").is_none());
    }
}
