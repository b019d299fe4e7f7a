//! The web dashboard of `cairn serve`: plain HTML, JavaScript modules and CSS,
//! embedded in the binary (no build step, nothing fetched from elsewhere), served
//! with a Content-Security-Policy that allows only these files to run.
//!
//! The pages carry no data: they read it from `/api` with the token the person gives
//! once (kept in the tab's session storage), so the pages themselves need no token.
//! Session text is untrusted (models, tools and imported files wrote it); the scripts
//! only ever put it into text nodes — see `assets/dom.js` and `assets/markdown.js`.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Scripts, styles, images and connections: this origin only; no inline script or
/// style, no plugins, no framing, no `<base>` games. `blob:` images are the
/// attachments the page fetched with its token.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($name:literal, $mime:expr) => {
        Asset {
            name: $name,
            mime: $mime,
            body: include_str!(concat!("../assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file the pages load, by name; nothing else is served from `/assets`.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("acp.js", JS),
    asset!("dom.js", JS),
    asset!("markdown.js", JS),
    asset!("chart.js", JS),
    asset!("timeline.js", JS),
    asset!("sessions.js", JS),
    asset!("session.js", JS),
    asset!("progress.js", JS),
    asset!("pool.js", JS),
    asset!("usage.js", JS),
];

/// `/` (the page) and `/assets/{file}` (its scripts and styles).
pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(|| async { serve("index.html") }))
        .route(
            "/assets/{file}",
            get(|Path(file): Path<String>| async move { serve(&file) }),
        )
}

fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such dashboard file").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A new binary may bring new files: the browser asks again (they are small).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The modules `body` imports (`from "./name.js"`).
    fn imports(body: &str) -> Vec<&str> {
        body.split("from \"./")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect()
    }

    #[test]
    fn every_module_a_page_imports_is_served() {
        // A module missing from ASSETS would 404 and leave a blank page.
        let mut count = 0;
        for asset in ASSETS {
            for wanted in imports(asset.body) {
                count += 1;
                assert!(
                    ASSETS.iter().any(|a| a.name == wanted),
                    "{} imports {wanted}, which is not served",
                    asset.name
                );
            }
        }
        assert!(
            count > 20,
            "only {count} imports found: is the pattern stale?"
        );
    }

    #[test]
    fn no_page_script_parses_text_as_html() {
        // Session text is untrusted: the scripts build nodes, never HTML strings.
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
            ] {
                assert!(!asset.body.contains(banned), "{} uses {banned}", asset.name);
            }
        }
    }

    #[test]
    fn unknown_files_are_not_found() {
        assert_eq!(serve("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        assert_eq!(serve("secret.js").status(), StatusCode::NOT_FOUND);
        let page = serve("index.html");
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }
}
