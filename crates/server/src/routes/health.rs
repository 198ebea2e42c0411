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
pub async fn health_check() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
