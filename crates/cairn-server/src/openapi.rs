//! The OpenAPI document of `/api`, generated from the handlers' types (utoipa), served
//! at `/api/openapi.json`.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "cairn serve API", description = "cairn's sessions, progress, pool and usage over HTTP. With a token, send `Authorization: Bearer <token>` (or `?token=` on an event stream)."),
    paths(
        crate::api::list_sessions,
        crate::api::show_session,
        crate::api::events,
        crate::stream::stream,
        crate::messages::post,
        crate::api::search,
        crate::api::progress_list,
        crate::api::progress_of,
        crate::api::pool,
        crate::usage::usage,
        crate::attachments::attachment,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerToken)
)]
pub(crate) struct ApiDoc;

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
