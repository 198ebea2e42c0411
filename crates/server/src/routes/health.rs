//! `GET /healthz` (the process serves) and `GET /readyz` (and its store answers).

use actix_web::{web, HttpResponse};

use crate::error::{ApiError, ErrorBody};
use crate::startup::AppState;

/// Registers this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/healthz")
            .route(web::get().to(health_check))
            .default_service(web::to(super::method_not_allowed("GET"))),
    );
    cfg.service(
        web::resource("/readyz")
            .route(web::get().to(readiness_check))
            .default_service(web::to(super::method_not_allowed("GET"))),
    );
}

/// `GET /healthz`: the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    responses((status = 200, description = "Serving", body = HealthResponse))
)]
pub async fn health_check() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse { status: "ok" })
}

/// The health answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HealthResponse {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// `GET /readyz`: the session store answers a ping within its timeout.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Ready: the session store answers", body = ReadyResponse),
        (status = 503, description = "not_ready: the session store does not answer (with Retry-After)", body = ErrorBody),
    )
)]
pub async fn readiness_check(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ping().await.map_err(ApiError::NotReady)?;
    Ok(HttpResponse::Ok().json(ReadyResponse { status: "ready" }))
}

/// The readiness answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ReadyResponse {
    /// Always `ready`.
    #[schema(example = "ready")]
    status: &'static str,
}
