//! `GET /healthz`.

use actix_web::{web, HttpResponse};

/// Registers this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/healthz")
            .route(web::get().to(health_check))
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
