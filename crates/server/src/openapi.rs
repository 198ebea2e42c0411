//! The OpenAPI 3.1 description, generated from the handlers and DTOs, served at `/openapi.json` and
//! committed as `docs/openapi.json` (a test fails when the two drift).

use std::sync::OnceLock;

use utoipa::OpenApi;

use crate::routes::{access, health, openapi, session};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tiny-opentok-server",
        description = "Creates OpenTok sessions and mints client tokens. Request bodies may be JSON, \
                       urlencoded, or empty (all defaults). Every error is {\"error\", \"message\"}."
    ),
    paths(
        session::create_session,
        access::create_access,
        health::health_check,
        health::readiness_check,
        openapi::openapi_json
    ),
    components(schemas(crate::error::ErrorBody))
)]
pub struct ApiDoc;

/// The document as pretty JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut text = ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"internal\",\"message\":\"{e}\"}}"));
        text.push('\n');
        text
    })
}
