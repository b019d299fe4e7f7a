//! The checks in front of every endpoint (issue 10 §4):
//! - `Host` must name this machine's loopback or the bound address (DNS-rebinding
//!   protection); a wildcard bind accepts any host, and can only start with a token;
//! - a request with an `Origin` must come from a page of this daemon or of a loopback
//!   origin; any other origin gets 403, the WebSocket upgrade too;
//! - with a token, `/api`, `/acp` and `/mcp` need it: `Authorization: Bearer TOKEN`,
//!   or, for a GET (a browser's WebSocket or EventSource cannot set headers), the
//!   query parameter `token=TOKEN`. The dashboard's own pages and assets hold no data
//!   and load without it; the page asks for the token and sends it on its calls.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

#[derive(Clone)]
pub(crate) struct Guard {
    token: Option<Arc<str>>,
    /// `None`: any host (wildcard bind).
    hosts: Option<Arc<[String]>>,
}

impl Guard {
    pub(crate) fn new(token: Option<&str>, bound: SocketAddr) -> Self {
        let ip = bound.ip();
        let hosts = (!ip.is_unspecified()).then(|| {
            let mut hosts = vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "[::1]".to_owned(),
            ];
            let bound = match ip {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                std::net::IpAddr::V4(v4) => v4.to_string(),
            };
            if !hosts.contains(&bound) {
                hosts.push(bound);
            }
            Arc::from(hosts)
        });
        Guard {
            token: token.map(Arc::from),
            hosts,
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        match &self.hosts {
            None => true,
            Some(hosts) => hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host_name(host))),
        }
    }

    /// Same origin as the request's `Host`, or a page served from loopback.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let Some(rest) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        if host.is_some_and(|h| h.eq_ignore_ascii_case(rest)) {
            return true;
        }
        matches!(
            host_name(rest).to_ascii_lowercase().as_str(),
            "localhost" | "127.0.0.1" | "[::1]"
        )
    }
}

/// `name` of `name:port` (`[v6]` kept with its brackets).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    host.split(':').next().unwrap_or(host)
}

fn needs_token(path: &str) -> bool {
    ["/api", "/acp", "/mcp"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

pub(crate) async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match &host {
        Some(h) if guard.host_allowed(h) => {}
        Some(h) => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("Host {h:?} is not this server's (DNS-rebinding protection)"),
            )
            .into_response();
        }
        None => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the request has no Host header",
            )
            .into_response();
        }
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !guard.origin_allowed(origin, host.as_deref()) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "Origin {origin:?} may not call this server: only its own pages and \
                     loopback pages may"
                ),
            )
            .into_response();
        }
    }
    if let Some(token) = &guard.token
        && needs_token(request.uri().path())
        && !presented(&request).is_some_and(|p| same(p, token))
    {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong token: send `Authorization: Bearer <token>` (or `?token=` on a \
             WebSocket or event stream)",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    next.run(request).await
}

/// The token a request presents: its bearer header, or `token=` of a GET.
fn presented(request: &Request) -> Option<String> {
    if let Some(bearer) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    {
        return Some(bearer.trim().to_owned());
    }
    if request.method() != Method::GET {
        return None;
    }
    let query = request.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
}

/// Constant-time comparison.
fn same(presented: String, token: &str) -> bool {
    let (a, b) = (presented.as_bytes(), token.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        let guard = Guard::new(None, "127.0.0.1:7420".parse().unwrap());
        assert!(guard.host_allowed("127.0.0.1:7420"));
        assert!(guard.host_allowed("localhost:7420"));
        assert!(guard.host_allowed("[::1]:7420"));
        assert!(!guard.host_allowed("evil.example:7420"));
        assert!(guard.origin_allowed("http://127.0.0.1:7420", Some("127.0.0.1:7420")));
        assert!(guard.origin_allowed("http://localhost:3000", Some("127.0.0.1:7420")));
        assert!(!guard.origin_allowed("http://evil.example", Some("127.0.0.1:7420")));
        assert!(!guard.origin_allowed("null", Some("127.0.0.1:7420")));
        assert!(!guard.origin_allowed("http://localhost.evil.example", Some("127.0.0.1:7420")));
        let wild = Guard::new(Some("t"), "0.0.0.0:7420".parse().unwrap());
        assert!(wild.host_allowed("192.0.2.7:7420"));
        assert!(wild.origin_allowed("http://192.0.2.7:7420", Some("192.0.2.7:7420")));
        assert!(!wild.origin_allowed("http://evil.example", Some("192.0.2.7:7420")));
    }

    #[test]
    fn tokens() {
        let request = |uri: &str, auth: Option<&str>, method: Method| {
            let mut b = Request::builder().uri(uri).method(method);
            if let Some(a) = auth {
                b = b.header(header::AUTHORIZATION, a);
            }
            b.body(axum::body::Body::empty()).unwrap()
        };
        assert_eq!(
            presented(&request("/api/x", Some("Bearer s3"), Method::GET)).as_deref(),
            Some("s3")
        );
        assert_eq!(
            presented(&request("/acp?token=a%20b", None, Method::GET)).as_deref(),
            Some("a b")
        );
        assert_eq!(
            presented(&request("/api/x?token=s3", None, Method::POST)),
            None
        );
        assert!(same("s3cret".into(), "s3cret"));
        assert!(!same("s3cre".into(), "s3cret"));
        assert!(needs_token("/api/sessions") && needs_token("/acp") && needs_token("/mcp"));
        assert!(!needs_token("/") && !needs_token("/apix"));
    }
}
