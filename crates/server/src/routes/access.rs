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
    // The token is minted straight into the response body.
    let body = access_json(
        |buf| {
            state
                .opentok
                .mint_token_into(&session.id, &options, now, buf)
        },
        options.role(),
        options.expire_time(),
        options.data(),
        session.id.as_str(),
        state.opentok.api_key().as_str(),
    )?;
    Ok(HttpResponse::Created()
        .insert_header(ContentType::json())
        .body(body))
}

/// The [`AccessResponse`] body, with the token written by `token`: the same bytes as
/// `serde_json::to_vec` of the response (tested), without escaping the base64 token byte by byte.
fn access_json<E>(
    token: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    role: Role,
    expires_at: u64,
    data: &str,
    session_id: &str,
    api_key: &str,
) -> Result<Vec<u8>, E> {
    // Room for a T1 token (4/3 of a plaintext of about 240 bytes of fields and signature, the id and
    // the data, which escaping may triple), the id once more, the key and the names.
    let guess = 4 * (3 * data.len() + 2 * session_id.len() + 240) / 3 + api_key.len() + 96;
    let mut w = ObjectWriter::with_capacity(guess);
    w.string_from("token", token)?
        .string("role", role.as_str())
        .unsigned("expiresAt", expires_at)
        .string("data", data)
        .string("sessionId", session_id)
        .string("apiKey", api_key);
    Ok(w.finish())
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_body_is_what_serde_writes(
            token in prop_oneof!["[A-Za-z0-9+/=._-]{0,600}", any::<String>()],
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
            let written = access_json(
                |buf| {
                    buf.extend_from_slice(token.as_bytes());
                    Ok::<_, ()>(())
                },
                role,
                expires_at,
                &data,
                &session_id,
                "12345678",
            )
            .unwrap();
            prop_assert_eq!(written, serde_json::to_vec(&response).unwrap());
        }
    }
}
