//! rmcp's streamable HTTP client transport over the reqwest 0.12 cairn already
//! builds (rustls). rmcp's own reqwest client wants reqwest 0.13; this is the part of
//! it cairn needs: POST a message (answered by JSON, an SSE stream or 202), GET the
//! server's SSE stream, DELETE the session. Bodies are bounded so a hostile server
//! cannot grow cairn's memory without limit.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::common::http_header::{
    EVENT_STREAM_MIME_TYPE, HEADER_LAST_EVENT_ID, HEADER_SESSION_ID, JSON_MIME_TYPE,
};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, SseError, StreamableHttpClient, StreamableHttpError,
    StreamableHttpPostResponse,
};
use sse_stream::{Sse, SseStream};

/// Largest JSON answer read (rmcp's own limit).
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;
/// Largest error body read for the message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// reqwest 0.12 as rmcp's [`StreamableHttpClient`].
#[derive(Clone)]
pub(crate) struct HttpClient(pub(crate) reqwest::Client);

/// What can go wrong below the MCP layer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error(transparent)]
    Request(#[from] reqwest::Error),
    #[error("the server's answer is larger than {0} bytes")]
    TooLarge(usize),
}

type Result<T> = std::result::Result<T, StreamableHttpError<HttpError>>;

fn client_error(e: reqwest::Error) -> StreamableHttpError<HttpError> {
    StreamableHttpError::Client(HttpError::Request(e))
}

impl HttpClient {
    /// A client that follows no redirect: a redirect to another host would carry
    /// the bearer token and the session there.
    pub(crate) fn new() -> std::result::Result<Self, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map(HttpClient)
    }

    fn request(
        &self,
        method: reqwest::Method,
        uri: &str,
        session_id: Option<&str>,
        auth: Option<String>,
        headers: HashMap<HeaderName, HeaderValue>,
    ) -> reqwest::RequestBuilder {
        let mut request = self.0.request(method, uri);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        if let Some(id) = session_id {
            request = request.header(HEADER_SESSION_ID, id);
        }
        request
    }
}

/// 401 with a challenge: the server wants credentials (the token is wrong or missing).
fn auth_required(response: &reqwest::Response) -> Option<StreamableHttpError<HttpError>> {
    if response.status() != StatusCode::UNAUTHORIZED {
        return None;
    }
    let header = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("Bearer")
        .to_owned();
    Some(StreamableHttpError::AuthRequired(AuthRequiredError::new(
        header,
    )))
}

fn content_type(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(CONTENT_TYPE)
        .map(|ct| String::from_utf8_lossy(ct.as_bytes()).into_owned())
}

/// The body, or an error once it passes `max` bytes.
async fn bounded_body(response: reqwest::Response, max: usize) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(client_error)?;
        if body.len() + chunk.len() > max {
            return Err(StreamableHttpError::Client(HttpError::TooLarge(max)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An SSE body as events, failing when one event passes `max` bytes.
fn sse_events(
    response: reqwest::Response,
    max: usize,
) -> BoxStream<'static, std::result::Result<Sse, SseError>> {
    let mut since_blank_line = 0usize;
    let mut last = 0u8;
    let bounded = response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        for &b in chunk.iter() {
            match b {
                b'\r' => continue,
                b'\n' if last == b'\n' => since_blank_line = 0,
                _ => since_blank_line += 1,
            }
            last = b;
            if since_blank_line > max {
                return Err(std::io::Error::other(format!(
                    "an SSE event of the server is larger than {max} bytes"
                )));
            }
        }
        Ok(chunk)
    });
    SseStream::from_bytes_stream(bounded).boxed()
}

impl StreamableHttpClient for HttpClient {
    type Error = HttpError;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse> {
        self.post_message_with_max_sse_event_size(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            MAX_JSON_BODY,
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse> {
        let had_session = session_id.is_some();
        let response = self
            .request(
                reqwest::Method::POST,
                &uri,
                session_id.as_deref(),
                auth_header,
                custom_headers,
            )
            .header(
                ACCEPT,
                format!("{EVENT_STREAM_MIME_TYPE}, {JSON_MIME_TYPE}"),
            )
            .json(&message)
            .send()
            .await
            .map_err(client_error)?;
        if let Some(e) = auth_required(&response) {
            return Err(e);
        }
        let status = response.status();
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && had_session {
            return Err(StreamableHttpError::SessionExpired);
        }
        let new_session = response
            .headers()
            .get(HEADER_SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let kind = content_type(&response);
        let is_json = kind
            .as_deref()
            .is_some_and(|ct| ct.starts_with(JSON_MIME_TYPE));
        if !status.is_success() {
            let body = bounded_body(response, MAX_ERROR_BODY)
                .await
                .unwrap_or_default();
            // A JSON-RPC error in a failed answer is the server's message: keep it.
            if is_json
                && let Ok(error @ ServerJsonRpcMessage::Error(_)) =
                    serde_json::from_slice::<ServerJsonRpcMessage>(&body)
            {
                return Ok(StreamableHttpPostResponse::Json(error, new_session));
            }
            let body = String::from_utf8_lossy(&body);
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!(
                    "HTTP {status}: {}",
                    body.chars().take(300).collect::<String>()
                ),
            )));
        }
        let is_reply = !matches!(message, ClientJsonRpcMessage::Request(_));
        match kind.as_deref() {
            Some(ct) if ct.starts_with(EVENT_STREAM_MIME_TYPE) => {
                Ok(StreamableHttpPostResponse::Sse(
                    sse_events(response, max_sse_event_size),
                    new_session,
                ))
            }
            Some(ct) if ct.starts_with(JSON_MIME_TYPE) => {
                let body = bounded_body(response, MAX_JSON_BODY).await?;
                match serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
                    Ok(parsed) => Ok(StreamableHttpPostResponse::Json(parsed, new_session)),
                    // A notification needs no answer; some servers send `{}` anyway.
                    Err(_) if is_reply => Ok(StreamableHttpPostResponse::Accepted),
                    Err(e) => Err(StreamableHttpError::Deserialize(e)),
                }
            }
            // An empty 200 to a notification is an acceptance too.
            _ if is_reply => Ok(StreamableHttpPostResponse::Accepted),
            _ => Err(StreamableHttpError::UnexpectedContentType(kind)),
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<()> {
        let response = self
            .request(
                reqwest::Method::DELETE,
                &uri,
                Some(&session_id),
                auth_header,
                custom_headers,
            )
            .send()
            .await
            .map_err(client_error)?;
        // 405: the server keeps sessions until they expire; nothing to do.
        if response.status() != StatusCode::METHOD_NOT_ALLOWED {
            response.error_for_status().map_err(client_error)?;
        }
        Ok(())
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, std::result::Result<Sse, SseError>>> {
        self.get_stream_with_max_sse_event_size(
            uri,
            session_id,
            last_event_id,
            auth_header,
            custom_headers,
            MAX_JSON_BODY,
        )
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, std::result::Result<Sse, SseError>>> {
        let mut request = self
            .request(
                reqwest::Method::GET,
                &uri,
                session_id.as_deref(),
                auth_header,
                custom_headers,
            )
            .header(
                ACCEPT,
                format!("{EVENT_STREAM_MIME_TYPE}, {JSON_MIME_TYPE}"),
            );
        if let Some(id) = last_event_id {
            request = request.header(HEADER_LAST_EVENT_ID, id);
        }
        let response = request.send().await.map_err(client_error)?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if let Some(e) = auth_required(&response) {
            return Err(e);
        }
        let response = response.error_for_status().map_err(client_error)?;
        match content_type(&response) {
            Some(ct) if ct.starts_with(EVENT_STREAM_MIME_TYPE) => {
                Ok(sse_events(response, max_sse_event_size))
            }
            other => Err(StreamableHttpError::UnexpectedContentType(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server answering one request with `content_type` and `body`.
    async fn answer_once(content_type: &'static str, body: Vec<u8>) -> reqwest::Response {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                request.extend_from_slice(&buf[..n]);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        });
        reqwest::get(url).await.unwrap()
    }

    #[tokio::test]
    async fn an_sse_event_larger_than_the_limit_ends_the_stream_with_an_error() {
        let mut body = b"data: small\n\n".to_vec();
        body.extend(b"data: ");
        body.extend(vec![b'x'; 5000]);
        body.extend(b"\n\n");
        let response = answer_once("text/event-stream", body).await;
        let events: Vec<_> = sse_events(response, 1024).collect().await;
        let large = |e: &&std::result::Result<Sse, SseError>| {
            e.as_ref()
                .is_ok_and(|e| e.data.as_ref().is_some_and(|d| d.len() > 1024))
        };
        assert!(!events.iter().any(|e| large(&e)), "{events:?}");
        let last = events.last().expect("an item").as_ref().unwrap_err();
        assert!(
            last.to_string().contains("larger than 1024 bytes"),
            "{last}"
        );
    }

    #[tokio::test]
    async fn a_body_larger_than_the_limit_is_refused() {
        let response = answer_once(JSON_MIME_TYPE, vec![b' '; 100]).await;
        let error = bounded_body(response, 10).await.unwrap_err();
        assert!(
            matches!(error, StreamableHttpError::Client(HttpError::TooLarge(10))),
            "{error}"
        );
    }
}
