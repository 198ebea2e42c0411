//! One file per resource, each with a `configure`.

pub mod access;
pub mod health;
pub mod openapi;
pub mod params;
pub mod session;

use actix_web::{web, HttpRequest};

use crate::error::ApiError;

/// Registers every route, plus JSON answers for unknown routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The token route is the hot one; actix tries resources in order.
    access::configure(cfg);
    session::configure(cfg);
    health::configure(cfg);
    openapi::configure(cfg);
}

/// The resource exists but not with this method.
pub(crate) fn method_not_allowed(
    allow: &'static str,
) -> impl Fn(HttpRequest) -> std::future::Ready<Result<actix_web::HttpResponse, ApiError>> + Clone {
    move |req: HttpRequest| {
        std::future::ready(Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow,
        }))
    }
}

/// The error for a body actix could not collect: over the limit (`http.body_limit_bytes`), or
/// cut short.
pub(crate) fn body_error(e: &actix_web::Error, limit: usize) -> ApiError {
    use actix_web::http::StatusCode;
    if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit }
    } else {
        ApiError::BadRequest(format!("the request body could not be read: {e}"))
    }
}

/// No route matches.
pub async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound(req.path().to_owned()))
}
