//! `POST /session`.

use std::net::Ipv4Addr;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use tiny_opentok_domain::{parse_location, ArchiveMode, MediaMode, Session, SessionOptions};

use crate::error::ApiError;
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
#[tracing::instrument(skip_all)]
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
    tracing::info!(session_id = %session.id, "session created");
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionResponse<'a> {
    id: &'a str,
    media_mode: MediaMode,
    location: Option<Ipv4Addr>,
    archive_mode: ArchiveMode,
    e2ee: bool,
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
