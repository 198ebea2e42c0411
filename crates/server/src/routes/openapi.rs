//! `GET /openapi.json`.

use actix_web::{web, HttpResponse};

/// Registers this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/openapi.json")
            .route(web::get().to(openapi_json))
            .default_service(web::to(super::method_not_allowed("GET"))),
    );
}

/// `GET /openapi.json`: the OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::document())
}
