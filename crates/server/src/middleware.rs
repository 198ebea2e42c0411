//! Cross-cutting request handling, outermost first: the request log, a JSON safety net for error
//! answers written outside our handlers (CORS refusals), CORS, and the gate (header-size limit and
//! optional API-key auth).

use std::sync::Arc;
use std::time::Instant;

use actix_cors::{Cors, CorsError};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::ResponseError as _;
use secrecy::{ExposeSecret as _, SecretString};
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;

/// What every request must pass before it reaches a route.
pub struct Gate {
    /// Client API keys; auth is off when there are none.
    keys: Vec<Box<[u8]>>,
    /// Largest request line plus headers, in bytes.
    max_header_bytes: usize,
}

impl Gate {
    /// A gate for these client keys (trimmed and non-empty, as settings give them) and this
    /// head-size limit.
    pub fn new(keys: &[SecretString], max_header_bytes: usize) -> Self {
        let keys = keys.iter().map(|k| k.expose_secret().as_bytes().into());
        Self {
            keys: keys.collect(),
            max_header_bytes,
        }
    }

    /// 431 for an oversized request head; then, when keys are configured, 401 unless the request
    /// sends `Authorization: Bearer <key>` (not needed for `/healthz`, `/readyz` and CORS preflights).
    fn refusal(&self, req: &ServiceRequest) -> Option<ApiError> {
        let uri = req.uri();
        let head = req.method().as_str().len()
            + uri.path().len()
            + uri.query().map_or(0, |q| q.len() + 1)
            + req
                .headers()
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len() + 4)
                .sum::<usize>();
        if head > self.max_header_bytes {
            return Some(ApiError::HeadersTooLarge {
                limit: self.max_header_bytes,
            });
        }
        // Probes carry no key: /healthz and /readyz say nothing a caller could use.
        if self.keys.is_empty()
            || matches!(req.path(), "/healthz" | "/readyz")
            || req.method() == Method::OPTIONS
        {
            return None;
        }
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .map(<[u8]>::trim_ascii);
        match presented {
            Some(key) if self.accepts(key) => None,
            _ => Some(ApiError::Unauthorized),
        }
    }

    /// Compares against every key in constant time per key, without stopping at a match, so the
    /// time taken does not tell which key (or how much of one) matched.
    fn accepts(&self, presented: &[u8]) -> bool {
        self.keys.iter().fold(0u8, |found, key| {
            found | key.as_ref().ct_eq(presented).unwrap_u8()
        }) == 1
    }
}

/// The [`Gate`] as a `from_fn` middleware.
pub async fn gate<B: MessageBody + 'static>(
    gate: Arc<Gate>,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match gate.refusal(&req) {
        Some(error) => Ok(req.error_response(error).map_into_right_body()),
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

/// CORS for the configured origins (trimmed and non-empty, as settings give them): GET/POST,
/// `Content-Type` and `Authorization`, cached an hour.
pub fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| {
            if origin == "*" {
                cors.allow_any_origin()
            } else {
                cors.allowed_origin(origin)
            }
        })
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(3600)
}

/// Rewrites error answers that did not come from an [`ApiError`] (actix-cors writes plain text)
/// into one, so every answer is JSON with a documented code.
pub fn json_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let error = match res.response().error() {
        Some(e) if e.as_error::<CorsError>().is_some() => ApiError::CorsRejected(e.to_string()),
        other => ApiError::Internal(
            format!(
                "a {} answer without a JSON body: {}",
                res.status(),
                other.map_or_else(String::new, ToString::to_string)
            )
            .into(),
        ),
    };
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, error.error_response()).map_into_right_body(),
    ))
}

/// One log line per request: method, path, status, latency. Never headers or bodies.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let result = next.call(req).await;
    let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    match &result {
        Ok(res) => tracing::info!(
            method = res.request().method().as_str(),
            path = res.request().path(),
            status = res.status().as_u16(),
            latency_us,
            "request"
        ),
        Err(e) => tracing::info!(
            status = e.as_response_error().status_code().as_u16(),
            latency_us,
            "request"
        ),
    }
    result
}
