//! `POST /session`: creates a session through OpenTok and stores it.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tiny_opentok_domain::{
    parse_location, ArchiveMode, DomainError, MediaMode, Session, SessionOptions,
};

use super::params;
use crate::body;
use crate::error::{ApiError, ErrorBody};
use crate::startup::AppState;

/// Registers this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/session")
            .route(web::post().to(create_session))
            .default_service(web::to(super::method_not_allowed("POST"))),
    );
}

/// `POST /session`: creates a session through OpenTok, stores it, answers 201.
#[utoipa::path(
    post,
    path = "/session",
    request_body(
        description = "Every field is optional; an empty body takes every default.",
        content(
            (SessionRequest = "application/json"),
            (SessionRequest = "application/x-www-form-urlencoded")
        )
    ),
    responses(
        (status = 201, description = "Created and stored", body = SessionResponse),
        (status = 400, description = "invalid_parameter", body = ErrorBody),
        (status = 401, description = "unauthorized (only when API keys are configured)", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 431, description = "headers_too_large", body = ErrorBody),
        (status = 502, description = "upstream_error", body = ErrorBody),
        (status = 503, description = "store_full, or store_unavailable (with Retry-After)", body = ErrorBody),
        (status = 504, description = "upstream_timeout", body = ErrorBody),
    )
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map_err(|e| super::body_error(&e, state.body_limit))?;
    let request: SessionRequest<'_> = body::parse(&req, &body)?;
    let options = request.into_options()?;
    let id = state.opentok.create_session(&options).await?;
    let session = Session {
        id,
        options,
        created_at: (state.now)(),
    };
    state.store.insert(session.clone()).await?;
    tracing::debug!(session_id = %session.id, "session created");
    Ok(HttpResponse::Created().json(SessionResponse::from(&session)))
}

/// `POST /session` parameters.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionRequest<'a> {
    /// `routed` (default) or `relayed`.
    #[serde(borrow, deserialize_with = "params::text")]
    #[schema(value_type = Option<MediaMode>)]
    media_mode: Option<Cow<'a, str>>,
    /// A dotted-quad IPv4 location hint.
    #[serde(borrow, deserialize_with = "params::text")]
    #[schema(value_type = Option<String>, format = Ipv4, example = "12.34.56.78")]
    location: Option<Cow<'a, str>>,
    /// `manual` (default) or `always` (needs `routed`).
    #[serde(borrow, deserialize_with = "params::text")]
    #[schema(value_type = Option<ArchiveMode>)]
    archive_mode: Option<Cow<'a, str>>,
    /// End-to-end encryption (needs `routed`, not with `always`); `"true"`/`"false"` also accepted.
    #[serde(deserialize_with = "params::flag")]
    #[schema(value_type = Option<bool>)]
    e2ee: Option<bool>,
}

impl SessionRequest<'_> {
    fn into_options(self) -> Result<SessionOptions, DomainError> {
        SessionOptions::new(
            choice(self.media_mode, MediaMode::parse)?,
            choice(self.archive_mode, ArchiveMode::parse)?,
            self.location.as_deref().map(parse_location).transpose()?,
            self.e2ee.unwrap_or(false),
        )
    }
}

fn choice<T: Default>(
    value: Option<Cow<'_, str>>,
    parse: fn(&str) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    Ok(value.as_deref().map(parse).transpose()?.unwrap_or_default())
}

/// A created session.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse<'a> {
    /// The OpenTok session id.
    id: &'a str,
    /// As requested.
    media_mode: MediaMode,
    /// As requested, or null.
    #[schema(value_type = Option<String>, format = Ipv4)]
    location: Option<Ipv4Addr>,
    /// As requested.
    archive_mode: ArchiveMode,
    /// As requested.
    e2ee: bool,
    /// Creation time, unix seconds.
    created_at: u64,
}

impl<'a> From<&'a Session> for SessionResponse<'a> {
    fn from(s: &'a Session) -> Self {
        Self {
            id: s.id.as_str(),
            media_mode: s.options.media_mode(),
            location: s.options.location(),
            archive_mode: s.options.archive_mode(),
            e2ee: s.options.e2ee(),
            created_at: s.created_at,
        }
    }
}
