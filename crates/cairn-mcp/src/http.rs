//! Serving over streamable HTTP (`cairn mcp --http ADDR`), closed by default
//! (ARCHITECTURE.md invariant 8):
//! - binds 127.0.0.1 unless told otherwise; any other address needs a bearer
//!   token, and without one the server refuses to start and says why;
//! - a request without the right `Authorization: Bearer` token gets 401;
//! - `Host` and `Origin` are checked against loopback names (DNS-rebinding
//!   protection, which the MCP spec requires);
//! - request bodies are bounded; an oversize or unparsable body gets a
//!   JSON-RPC error naming the limit, and never reaches a tool;
//! - connections, header/body read times and live sessions are bounded
//!   (`[mcp]` limits), so no client can hold the server's descriptors or memory.
//!
//! [`router`] is what `cairn serve` mounts; [`serve_http`] runs it alone.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use cairn_core::list_param::human_bytes;
use cairn_core::settings::McpHttpLimits;
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::handler::CairnMcpFactory;
use crate::http_serve::{ConnectionLimits, serve_connections};
use crate::http_sessions::{SessionGate, SessionLimits};

/// The header that names a legacy (`initialize`) session.
const SESSION_HEADER: &str = "mcp-session-id";
/// Longest client name kept for the per-client session count.
const MAX_CLIENT_NAME_CHARS: usize = 128;

/// The path the MCP endpoint is served at.
pub const MCP_PATH: &str = "/mcp";

/// Why an HTTP server was not started.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "refusing to serve MCP on {addr} without a bearer token: any address other than \
         127.0.0.1/::1 is reachable from other machines. Set --token or CAIRN_TOKEN (clients then \
         send `Authorization: Bearer <token>`), or bind 127.0.0.1"
    )]
    TokenRequired { addr: SocketAddr },
    #[error("the bearer token must not be empty")]
    EmptyToken,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// How the endpoint is exposed.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub addr: SocketAddr,
    /// Required for any non-loopback address.
    pub token: Option<String>,
    pub max_body_bytes: usize,
    pub limits: McpHttpLimits,
}

impl HttpOptions {
    /// Refuse unsafe combinations before anything listens.
    pub fn check(&self) -> Result<(), HttpError> {
        match &self.token {
            Some(token) if token.trim().is_empty() => Err(HttpError::EmptyToken),
            Some(_) => Ok(()),
            None if self.addr.ip().is_loopback() => Ok(()),
            None => Err(HttpError::TokenRequired { addr: self.addr }),
        }
    }

    /// `Host` values accepted: loopback names, plus the bound address itself
    /// when it is a specific one. A wildcard bind (0.0.0.0) accepts any host;
    /// it can only be started with a token, which is what protects it then.
    fn allowed_hosts(&self) -> Option<Vec<String>> {
        let ip = self.addr.ip();
        if ip.is_unspecified() {
            return None;
        }
        let mut hosts = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        // The bound address is how clients reach it (127.0.0.2 is loopback too).
        let bound = ip.to_string();
        if !hosts.contains(&bound) {
            hosts.push(bound);
        }
        Some(hosts)
    }
}

#[derive(Clone)]
struct Guard {
    token: Option<Arc<str>>,
    max_body_bytes: usize,
    body_timeout: Duration,
    sessions: Arc<SessionGate>,
}

/// The MCP endpoint at [`MCP_PATH`], with the token, body and Host/Origin checks.
pub fn router(
    factory: CairnMcpFactory,
    options: &HttpOptions,
    cancel: CancellationToken,
) -> Router {
    let sweep_cancel = cancel.clone();
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(cancel)
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        // Browsers on this machine may call; pages of other sites may not.
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"])
        .enforce_origin_validation();
    config = match options.allowed_hosts() {
        Some(hosts) => config.with_allowed_hosts(hosts),
        None => config.disable_allowed_hosts(),
    };
    let mut sessions = SessionConfig::default();
    // The handshake comes with the request that creates the session.
    sessions.init_timeout = Some(Duration::from_secs(
        options.limits.header_timeout_secs.max(1),
    ));
    let mut manager = LocalSessionManager::default();
    manager.session_config = sessions;
    let manager = Arc::new(manager);
    let gate = SessionGate::new(
        Arc::clone(&manager),
        SessionLimits {
            max_sessions: options.limits.max_sessions,
            max_per_client: options.limits.max_sessions_per_client,
            unused_ttl: Duration::from_secs(options.limits.unused_session_secs),
        },
    );
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(Arc::clone(&gate).sweep_until(sweep_cancel));
        }
        Err(_) => tracing::warn!("no async runtime: unused MCP sessions are not swept"),
    }
    let service = StreamableHttpService::new(move || Ok(factory.handler()), manager, config);
    let guard = Guard {
        token: options.token.as_deref().map(Arc::from),
        max_body_bytes: options.max_body_bytes,
        body_timeout: Duration::from_secs(options.limits.header_timeout_secs.max(1)),
        sessions: gate,
    };
    Router::new()
        .nest_service(MCP_PATH, service)
        .layer(middleware::from_fn_with_state(guard, check_request))
}

/// Listen on `options.addr` and serve until `shutdown` resolves.
pub async fn serve_http(
    factory: CairnMcpFactory,
    options: HttpOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), HttpError> {
    options.check()?;
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|source| HttpError::Bind {
            addr: options.addr,
            source,
        })?;
    let local = listener.local_addr().map_err(HttpError::Serve)?;
    // Tests and scripts read this line to learn the port of `127.0.0.1:0`.
    tracing::info!("cairn MCP listening on http://{local}{MCP_PATH}");
    eprintln!("cairn mcp: listening on http://{local}{MCP_PATH}");
    let cancel = CancellationToken::new();
    let app = router(factory, &options, cancel.clone());
    let limits = ConnectionLimits {
        max_connections: options.limits.max_connections,
        header_timeout: Duration::from_secs(options.limits.header_timeout_secs.max(1)),
    };
    serve_connections(listener, app, limits, async move {
        shutdown.await;
        cancel.cancel();
    })
    .await;
    Ok(())
}

/// A JSON-RPC error as an HTTP response (no request id is known here).
fn rpc_error(status: StatusCode, code: i64, message: String, data: Value) -> Response {
    rpc_error_for(Value::Null, status, code, message, data)
}

/// A JSON-RPC error answering the request with `id`.
fn rpc_error_for(
    id: Value,
    status: StatusCode,
    code: i64,
    message: String,
    data: Value,
) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message, "data": data }
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn check_request(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if let Some(token) = &guard.token
        && !bearer_matches(&request, token)
    {
        let mut response = rpc_error(
            StatusCode::UNAUTHORIZED,
            -32001,
            "missing or wrong bearer token: send `Authorization: Bearer <token>`".into(),
            json!({ "field": "Authorization" }),
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    if request.method() != Method::POST {
        // A client opening its event stream is a real client, not a flood of
        // bare handshakes: its session is kept like one that calls tools.
        if request.method() == Method::GET
            && let Some(id) = request
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
        {
            guard.sessions.used(id);
        }
        return next.run(request).await;
    }
    let limit = guard.max_body_bytes;
    let too_large = || {
        rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            -32600,
            format!(
                "request body exceeds the limit of {}; nothing was done",
                human_bytes(limit)
            ),
            json!({ "field": "body", "limit": limit }),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    // A client that stops sending half-way through its body is not waited for.
    let bytes = match tokio::time::timeout(guard.body_timeout, to_bytes(body, limit)).await {
        Err(_) => {
            return rpc_error(
                StatusCode::REQUEST_TIMEOUT,
                -32600,
                format!(
                    "the request body did not arrive within {} s; nothing was done",
                    guard.body_timeout.as_secs()
                ),
                json!({ "field": "body" }),
            );
        }
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) if e.to_string().contains("length limit") => return too_large(),
        Ok(Err(e)) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                -32700,
                format!("cannot read the request body: {e}"),
                json!({ "field": "body" }),
            );
        }
    };
    // One typed parse of the body on the way in; the slow path below only
    // words the refusal of a body that is not a message.
    if serde_json::from_slice::<ClientJsonRpcMessage>(&bytes).is_err()
        && let Some(refusal) = refuse_body(&bytes)
    {
        return refusal;
    }
    let peek = serde_json::from_slice::<Peek<'_>>(&bytes).unwrap_or_default();
    let session = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = peek.method.as_deref();
    let admission = match (&session, method) {
        (None, Some("initialize")) => {
            let client = serde_json::from_slice::<InitializePeek<'_>>(&bytes)
                .ok()
                .and_then(|i| i.params.client_info)
                .and_then(|c| c.name)
                .unwrap_or_default();
            let client = client
                .trim()
                .chars()
                .take(MAX_CLIENT_NAME_CHARS)
                .collect::<String>();
            match guard.sessions.admit(&client) {
                Ok(admission) => Some(admission),
                Err(refused) => {
                    let mut response = rpc_error_for(
                        peek.id.unwrap_or(Value::Null),
                        StatusCode::SERVICE_UNAVAILABLE,
                        -32000,
                        refused.to_string(),
                        json!({ "field": "sessions" }),
                    );
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                    return response;
                }
            }
        }
        (Some(id), Some(method)) if method != "notifications/initialized" => {
            guard.sessions.used(id);
            None
        }
        _ => None,
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Some(admission) = admission
        && let Some(id) = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
    {
        admission.opened(id);
    }
    response
}

/// What the gate needs of a JSON-RPC message (its other fields are skipped).
#[derive(Default, Deserialize)]
struct Peek<'a> {
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    id: Option<Value>,
}

/// The client's name in an `initialize` request.
#[derive(Deserialize)]
struct InitializePeek<'a> {
    #[serde(borrow)]
    params: PeekParams<'a>,
}

#[derive(Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow, rename = "clientInfo")]
    client_info: Option<PeekClient<'a>>,
}

#[derive(Deserialize)]
struct PeekClient<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

/// The refusal of a body that is not one MCP JSON-RPC message.
fn refuse_body(bytes: &[u8]) -> Option<Response> {
    let value = match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => value,
        Err(e) => {
            return Some(rpc_error(
                StatusCode::BAD_REQUEST,
                -32700,
                format!("parse error: the body is not JSON ({e})"),
                json!({ "field": "body" }),
            ));
        }
    };
    // JSON that is not one JSON-RPC message: the SDK would answer 415 text.
    let problem = serde_json::from_value::<ClientJsonRpcMessage>(value.clone()).err()?;
    let id = match value.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        _ => Value::Null,
    };
    Some(rpc_error_for(
        id,
        StatusCode::BAD_REQUEST,
        -32600,
        format!(
            "invalid request: the body is JSON but not a JSON-RPC 2.0 request, notification \
             or response of MCP ({problem})"
        ),
        json!({ "field": "body" }),
    ))
}

/// Constant-time comparison of the presented bearer token.
fn bearer_matches(request: &Request, token: &str) -> bool {
    let Some(presented) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    else {
        return false;
    };
    let (a, b) = (presented.trim().as_bytes(), token.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(addr: &str, token: Option<&str>) -> HttpOptions {
        HttpOptions {
            addr: addr.parse().unwrap(),
            token: token.map(str::to_owned),
            max_body_bytes: 1024,
            limits: McpHttpLimits::default(),
        }
    }

    #[test]
    fn non_loopback_needs_a_token() {
        assert!(options("127.0.0.1:0", None).check().is_ok());
        assert!(options("[::1]:0", None).check().is_ok());
        let err = options("0.0.0.0:7777", None)
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("0.0.0.0:7777") && err.contains("CAIRN_TOKEN"),
            "{err}"
        );
        assert!(options("0.0.0.0:7777", Some("s3cret")).check().is_ok());
        assert!(options("0.0.0.0:7777", Some(" ")).check().is_err());
    }

    #[test]
    fn bearer_tokens_compare_exactly() {
        let request = |value: &str| {
            Request::builder()
                .header(header::AUTHORIZATION, value)
                .body(Body::empty())
                .unwrap()
        };
        assert!(bearer_matches(&request("Bearer s3cret"), "s3cret"));
        assert!(!bearer_matches(&request("Bearer s3cre"), "s3cret"));
        assert!(!bearer_matches(&request("Bearer s3cretx"), "s3cret"));
        assert!(!bearer_matches(&request("Basic s3cret"), "s3cret"));
    }
}
