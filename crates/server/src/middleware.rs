//! Cross-cutting request handling: the gate (header-size limit and optional API-key auth), CORS, a
//! JSON safety net for errors produced outside our handlers, and the per-request log line.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError as _};
use futures_util::future::{Either, MapOk, TryFutureExt as _};
use pin_project_lite::pin_project;
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;

/// The client API keys that may call the API; empty means auth is off.
#[derive(Clone, Default)]
pub struct ClientKeys(Arc<[Box<[u8]>]>);

impl ClientKeys {
    /// Keys from configuration; blank entries are dropped.
    pub fn new(keys: &[String]) -> Self {
        Self(
            keys.iter()
                .map(|k| k.trim())
                .filter(|k| !k.is_empty())
                .map(|k| k.as_bytes().into())
                .collect(),
        )
    }

    /// Whether any key is configured.
    pub fn enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// Compares against every key in constant time per key, without stopping at a match, so the
    /// time taken does not tell which key (or how much of one) matched.
    fn accepts(&self, presented: &[u8]) -> bool {
        self.0.iter().fold(0u8, |found, key| {
            found | key.as_ref().ct_eq(presented).unwrap_u8()
        }) == 1
    }
}

/// What every request must pass before it reaches a route.
#[derive(Clone)]
pub struct Gate {
    /// Client API keys; auth is off when none are configured.
    pub keys: ClientKeys,
    /// Largest request line plus headers, in bytes.
    pub max_header_bytes: usize,
}

/// Refuses oversized request heads with 431, then, when API keys are configured, requires
/// `Authorization: Bearer <key>` on every route but `/healthz` and CORS preflights (401).
/// One layer for both, written out as a `Transform` rather than `from_fn`, which would box a
/// future per request.
impl<S, B> Transform<S, ServiceRequest> for Gate
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = GateService<S>;
    type InitError = ();
    type Future = Ready<Result<GateService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(GateService {
            service,
            gate: self.clone(),
        }))
    }
}

/// The [`Gate`] in front of the routes.
pub struct GateService<S> {
    service: S,
    gate: Gate,
}

type PassedGate<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>;

impl<S, B> Service<ServiceRequest> for GateService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future =
        Either<Ready<Result<Self::Response, Self::Error>>, MapOk<S::Future, PassedGate<B>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Some(error) = refusal(&self.gate, &req) {
            let mut response = error.error_response();
            if matches!(error, ApiError::Unauthorized) {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            return Either::Left(ready(Ok(req.into_response(response).map_into_right_body())));
        }
        let passed: PassedGate<B> = ServiceResponse::map_into_left_body;
        Either::Right(self.service.call(req).map_ok(passed))
    }
}

fn refusal(gate: &Gate, req: &ServiceRequest) -> Option<ApiError> {
    let uri = req.uri();
    let head = req.method().as_str().len()
        + uri.path().len()
        + uri.query().map_or(0, |q| q.len() + 1)
        + req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if head > gate.max_header_bytes {
        return Some(ApiError::HeadersTooLarge {
            limit: gate.max_header_bytes,
        });
    }
    let exempt =
        !gate.keys.enabled() || req.path() == "/healthz" || req.method() == Method::OPTIONS;
    if exempt {
        return None;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(<[u8]>::trim_ascii);
    match presented {
        Some(key) if gate.keys.accepts(key) => None,
        _ => Some(ApiError::Unauthorized),
    }
}

/// CORS for the configured origins: GET/POST, `Content-Type` and `Authorization`, cached an hour.
pub fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
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

/// Rewrites error answers that other layers (CORS, actix itself) wrote as plain text into our JSON
/// shape, so every response is JSON.
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
    let status = res.status();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = match res.response().error() {
        Some(e) if status.is_client_error() => e.to_string(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let body =
        HttpResponse::build(status).json(serde_json::json!({ "error": code, "message": message }));
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, body).map_into_right_body(),
    ))
}

/// One log line per request: method, path, status, latency. Never headers or bodies. The
/// outermost layer, written out as a `Transform` so that it boxes nothing per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLog;

impl<S, B> Transform<S, ServiceRequest> for RequestLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequestLogService<S>;
    type InitError = ();
    type Future = Ready<Result<RequestLogService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestLogService { service }))
    }
}

/// The [`RequestLog`] around everything else.
pub struct RequestLogService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for RequestLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Logged<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        Logged {
            inner: self.service.call(req),
            started: Instant::now(),
        }
    }
}

pin_project! {
    /// A request's future that writes its log line when it completes.
    pub struct Logged<F> {
        #[pin]
        inner: F,
        started: Instant,
    }
}

impl<F, B> Future for Logged<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let latency_us = u64::try_from(this.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match &result {
            // The response still holds its request: no copy of the path is made for the log line.
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
        Poll::Ready(result)
    }
}
