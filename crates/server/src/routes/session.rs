//! `POST /session`.

use std::net::Ipv4Addr;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use tiny_opentok_domain::{parse_location, ArchiveMode, MediaMode, Session, SessionOptions};

use crate::error::{ApiError, ErrorBody};
use crate::params::{Params, RawBody};
use crate::state::AppState;

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
        (status = 503, description = "store_full", body = ErrorBody),
        (status = 504, description = "upstream_timeout", body = ErrorBody),
    )
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_session(
    state: web::Data<AppState>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    let options = session_options(&body.parse()?)?;
    let id = state.opentok.create_session(&options).await?;
    let session = Session {
        id,
        options,
        created_at: state.clock.now(),
    };
    state.store.insert(session.clone()).await?;
    tracing::debug!(session_id = %session.id, "session created");
    Ok(HttpResponse::Created().json(SessionResponse::from(&session)))
}

fn session_options(p: &Params) -> Result<SessionOptions, ApiError> {
    let media_mode = p.choice("mediaMode", MediaMode::parse)?.unwrap_or_default();
    let archive_mode = p
        .choice("archiveMode", ArchiveMode::parse)?
        .unwrap_or_default();
    let location = p.string("location")?.map(parse_location).transpose()?;
    let e2ee = p.boolean("e2ee")?.unwrap_or(false);
    Ok(SessionOptions::new(
        media_mode,
        archive_mode,
        location,
        e2ee,
    )?)
}

/// `POST /session` parameters, for the OpenAPI document: [`Params`] reads the body itself so that
/// each error can name its field.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SessionRequest {
    /// `routed` (default) or `relayed`.
    media_mode: Option<MediaMode>,
    /// A dotted-quad IPv4 location hint.
    #[schema(format = Ipv4, example = "12.34.56.78")]
    location: Option<String>,
    /// `manual` (default) or `always` (needs `routed`).
    archive_mode: Option<ArchiveMode>,
    /// End-to-end encryption (needs `routed`, not with `always`); `"true"`/`"false"` also accepted.
    e2ee: Option<bool>,
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
