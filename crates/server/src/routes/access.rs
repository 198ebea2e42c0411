//! `POST /session/{id}/access`.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use tiny_opentok_domain::{Role, TokenOptions, TokenParams};

use crate::error::ApiError;
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
#[tracing::instrument(skip_all, fields(session_id = %path))]
pub async fn create_access(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    // Looked up before the body is judged: an unknown session is 404 whatever else is wrong.
    let session = state.find_session(&path).await?;
    let now = state.clock.now();
    let options = token_options(&body.parse()?, now)?;
    let token = state.opentok.mint_token(&session.id, &options, now)?;
    Ok(HttpResponse::Created().json(AccessResponse {
        token: &token,
        role: options.role(),
        expires_at: options.expire_time(),
        data: options.data(),
        session_id: session.id.as_str(),
        api_key: state.opentok.api_key().as_str(),
    }))
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccessResponse<'a> {
    token: &'a str,
    role: Role,
    expires_at: u64,
    data: &'a str,
    session_id: &'a str,
    api_key: &'a str,
}
