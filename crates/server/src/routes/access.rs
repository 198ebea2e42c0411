//! `POST /session/{id}/access`: mints a client token for a stored session.

use std::borrow::Cow;

use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tiny_opentok_domain::{DomainError, Role, TokenOptions, TokenParams};

use super::params;
use crate::body;
use crate::error::{ApiError, ErrorBody};
use crate::startup::AppState;

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
        (status = 503, description = "store_unavailable: the session store is down or slow (with Retry-After)", body = ErrorBody),
    )
)]
#[tracing::instrument(level = "debug", skip_all, fields(session_id = req.match_info().get("id")))]
pub async fn create_access(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    // Looked up before the body is judged: an unknown session is 404 whatever else is wrong.
    let id = req.match_info().get("id").unwrap_or_default();
    let session = state
        .store
        .find(id)
        .await?
        .ok_or(ApiError::SessionNotFound)?;
    let body = body.map_err(|e| super::body_error(&e, state.body_limit))?;
    let now = (state.now)();
    let request: AccessRequest<'_> = body::parse(&req, &body)?;
    let options = TokenOptions::new(request.into_params()?, now)?;
    let token = state.opentok.mint_token(&session.id, &options, now)?;
    let response = AccessResponse {
        token: &token,
        role: options.role(),
        expires_at: options.expire_time(),
        data: options.data(),
        session_id: session.id.as_str(),
        api_key: state.opentok.api_key().as_str(),
    };
    Ok(HttpResponse::Created()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body(response.to_json()))
}

/// `POST /session/{id}/access` parameters.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessRequest<'a> {
    /// `publisher` (default), `subscriber`, `moderator` or `publisheronly`.
    #[serde(borrow, deserialize_with = "params::text")]
    #[schema(value_type = Option<Role>)]
    role: Option<Cow<'a, str>>,
    /// Expiry in unix seconds (a digit string is accepted too): after now, at most 30 days ahead.
    /// Default: now + 86400.
    #[serde(deserialize_with = "params::unix_seconds")]
    #[schema(value_type = Option<u64>)]
    expires_at: Option<u64>,
    /// Connection data, at most 1000 characters.
    #[serde(borrow, deserialize_with = "params::text")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    data: Option<Cow<'a, str>>,
    /// Layout classes (a space-separated string is accepted too).
    #[serde(deserialize_with = "params::string_list")]
    #[schema(value_type = Option<Vec<String>>)]
    initial_layout_class_list: Option<Vec<String>>,
}

impl AccessRequest<'_> {
    fn into_params(self) -> Result<TokenParams, DomainError> {
        Ok(TokenParams {
            role: self
                .role
                .as_deref()
                .map(Role::parse)
                .transpose()?
                .unwrap_or_default(),
            expire_time: self.expires_at,
            data: self.data.map(Cow::into_owned).unwrap_or_default(),
            initial_layout_class_list: self.initial_layout_class_list.unwrap_or_default(),
        })
    }
}

/// A minted token and what went into it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessResponse<'a> {
    /// The client token: T1 or an HS256 JWT (per configuration) with OpenTok credentials, an RS256
    /// JWT with Vonage application credentials.
    token: &'a str,
    /// The role in the token.
    role: Role,
    /// The expiry in the token, unix seconds.
    expires_at: u64,
    /// The connection data in the token.
    data: &'a str,
    /// The session.
    session_id: &'a str,
    /// What clients connect with: the OpenTok API key, or the Vonage application id.
    api_key: &'a str,
}

impl AccessResponse<'_> {
    /// The bytes `serde_json::to_vec` writes for this response (a proptest holds them equal), with
    /// strings that need no escaping copied whole: serde_json checks the ~560-byte token one byte
    /// at a time. 2.9k fewer instructions per token request (59.7k to 56.8k, bench/callgrind.sh).
    fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.token.len() + 2 * self.data.len() + 256);
        out.extend_from_slice(b"{\"token\":");
        push_json_str(&mut out, self.token);
        out.extend_from_slice(b",\"role\":");
        push_json_str(&mut out, self.role.as_str());
        out.extend_from_slice(b",\"expiresAt\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.expires_at).as_bytes());
        out.extend_from_slice(b",\"data\":");
        push_json_str(&mut out, self.data);
        out.extend_from_slice(b",\"sessionId\":");
        push_json_str(&mut out, self.session_id);
        out.extend_from_slice(b",\"apiKey\":");
        push_json_str(&mut out, self.api_key);
        out.push(b'}');
        out
    }
}

/// `value` as a JSON string: copied between quotes when no byte needs escaping (a fold without
/// early exit, which compiles to wide compares), else written by serde_json.
fn push_json_str(out: &mut Vec<u8>, value: &str) {
    let plain = value
        .bytes()
        .fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn the_body_is_what_serde_json_writes(
            token in prop_oneof!["[A-Za-z0-9+/=._-]{0,600}", any::<String>()],
            role in prop::sample::select(vec![Role::Publisher, Role::Subscriber, Role::Moderator, Role::PublisherOnly]),
            expires_at in any::<u64>(),
            data in any::<String>(),
            session_id in prop_oneof!["[A-Za-z0-9_-]{0,100}", any::<String>()],
            api_key in "[A-Za-z0-9-]{1,64}",
        ) {
            let response = AccessResponse {
                token: &token,
                role,
                expires_at,
                data: &data,
                session_id: &session_id,
                api_key: &api_key,
            };
            prop_assert_eq!(response.to_json(), serde_json::to_vec(&response).unwrap());
        }
    }
}
