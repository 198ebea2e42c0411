//! `POST /session/{id}/access`.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tiny_opentok_domain::{Role, TokenOptions, TokenParams};

use crate::error::{ApiError, ErrorBody};
use crate::json::ObjectWriter;
use crate::params::{Params, RawBody};
use crate::state::AppState;

/// Registers this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/session/{id}/access")
            .route(web::post().to(create_access))
            .default_service(web::to(super::method_not_allowed("POST"))),
    );
}

/// `POST /session/{id}/access`: mints a token for a stored session, locally, answers 201.
#[utoipa::path(
    post,
    path = "/session/{id}/access",
    params(("id" = String, Path, description = "A session id returned by POST /session")),
    request_body(
        description = "Every field is optional; an empty body takes every default.",
        content(
            (AccessRequest = "application/json"),
            (AccessRequest = "application/x-www-form-urlencoded")
        )
    ),
    responses(
        (status = 201, description = "Token minted", body = AccessResponse),
        (status = 400, description = "invalid_parameter", body = ErrorBody),
        (status = 401, description = "unauthorized (only when API keys are configured)", body = ErrorBody),
        (status = 404, description = "session_not_found: not created by this server", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 431, description = "headers_too_large", body = ErrorBody),
    )
)]
#[tracing::instrument(level = "debug", skip_all, fields(session_id = req.match_info().get("id")))]
pub async fn create_access(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    // Looked up before the body is judged: an unknown session is 404 whatever else is wrong.
    // The id is read in place rather than through `web::Path`, which would copy it.
    let id = req.match_info().get("id").unwrap_or_default();
    let session = state.find_session(id).await?;
    let now = state.clock.now();
    let options = token_options(&body.parse()?, now)?;
    let token = state.opentok.mint_token(&session.id, &options, now)?;
    let body = AccessResponse {
        token: &token,
        role: options.role(),
        expires_at: options.expire_time(),
        data: options.data(),
        session_id: session.id.as_str(),
        api_key: state.opentok.api_key().as_str(),
    }
    .to_json();
    Ok(HttpResponse::Created()
        .insert_header(ContentType::json())
        .body(body))
}

fn token_options(p: &Params, now: u64) -> Result<TokenOptions, ApiError> {
    let params = TokenParams {
        role: p.choice("role", Role::parse)?.unwrap_or_default(),
        expire_time: p.unix_seconds("expiresAt")?,
        data: p.string("data")?.unwrap_or_default().to_owned(),
        initial_layout_class_list: p.string_list("initialLayoutClassList")?.unwrap_or_default(),
    };
    Ok(TokenOptions::new(params, now)?)
}

/// `POST /session/{id}/access` parameters, for the OpenAPI document: [`Params`] reads the body
/// itself so that each error can name its field.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AccessRequest {
    /// `publisher` (default), `subscriber`, `moderator` or `publisheronly`.
    role: Option<Role>,
    /// Expiry in unix seconds (a digit string is accepted too): after now, at most 30 days ahead.
    /// Default: now + 86400.
    expires_at: Option<u64>,
    /// Connection data, at most 1000 characters.
    #[schema(max_length = 1000)]
    data: Option<String>,
    /// Layout classes (a space-separated string is accepted too).
    initial_layout_class_list: Option<Vec<String>>,
}

/// A minted token and what went into it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessResponse<'a> {
    /// The client token (T1 or JWT, per configuration).
    token: &'a str,
    /// The role in the token.
    role: Role,
    /// The expiry in the token, unix seconds.
    expires_at: u64,
    /// The connection data in the token.
    data: &'a str,
    /// The session.
    session_id: &'a str,
    /// The API key clients connect with.
    api_key: &'a str,
}

impl AccessResponse<'_> {
    /// The same bytes as `serde_json::to_vec(self)` (tested), without escaping the base64 token
    /// byte by byte.
    fn to_json(&self) -> Vec<u8> {
        let strings =
            self.token.len() + self.data.len() + self.session_id.len() + self.api_key.len();
        let mut w = ObjectWriter::with_capacity(strings + 96);
        w.string("token", self.token)
            .string("role", self.role.as_str())
            .unsigned("expiresAt", self.expires_at)
            .string("data", self.data)
            .string("sessionId", self.session_id)
            .string("apiKey", self.api_key);
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn to_json_is_what_serde_writes(
            token in "[A-Za-z0-9+/=._-]{0,600}",
            role in prop::sample::select(vec![Role::Publisher, Role::Subscriber, Role::Moderator, Role::PublisherOnly]),
            expires_at in any::<u64>(),
            data in any::<String>(),
            session_id in "[A-Za-z0-9_-]{0,100}",
        ) {
            let response = AccessResponse {
                token: &token,
                role,
                expires_at,
                data: &data,
                session_id: &session_id,
                api_key: "12345678",
            };
            prop_assert_eq!(response.to_json(), serde_json::to_vec(&response).unwrap());
        }
    }
}
