//! The one place that knows HTTP statuses: every failure becomes `{"error": code, "message": text}`,
//! with the table below as the only map from failure to status and code (docs/api.md repeats it,
//! and a test holds the two together).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use opentok_client::OpenTokError;
use serde::Serialize;
use tiny_opentok_domain::DomainError;
use tiny_opentok_storage::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter broke a domain rule.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The body or a parameter could not be read (malformed JSON, wrong type, ...).
    #[error("{0}")]
    BadRequest(String),
    /// A browser request from an origin, or with a method or header, that CORS does not allow.
    #[error("{0}")]
    CorsRejected(String),
    /// No stored session has this id.
    #[error("no session with this id was created by this server")]
    SessionNotFound,
    /// API keys are configured and the request did not present one of them.
    #[error("a valid API key is required: send Authorization: Bearer <key>")]
    Unauthorized,
    /// The request line and headers are larger than the configured limit.
    #[error("request headers are larger than {limit} bytes")]
    HeadersTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No route matches the path.
    #[error("no route for {0}")]
    RouteNotFound(String),
    /// The route exists, the method does not.
    #[error("method {method} is not allowed here; use {allow}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The methods allowed.
        allow: &'static str,
    },
    /// The body is larger than the configured limit.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A non-empty body of a type we do not read.
    #[error("unsupported Content-Type {0:?}: send application/json or application/x-www-form-urlencoded")]
    UnsupportedMediaType(String),
    /// OpenTok failed or refused us.
    #[error("OpenTok request failed")]
    Upstream(#[source] OpenTokError),
    /// OpenTok did not answer in time.
    #[error("OpenTok did not answer in time")]
    UpstreamTimeout(#[source] OpenTokError),
    /// The store is at capacity.
    #[error("the session store is full; try again later")]
    StoreFull(#[source] StoreError),
    /// The store is down or slower than its timeout; the same request may work in a moment.
    #[error("the session store is not answering; try again shortly")]
    StoreUnavailable(#[source] StoreError),
    /// `GET /readyz`: the store does not answer its ping.
    #[error("not ready: the session store is not answering")]
    NotReady(#[source] StoreError),
    /// Anything else: our bug or a broken backend.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<OpenTokError> for ApiError {
    fn from(e: OpenTokError) -> Self {
        match e {
            OpenTokError::Timeout { .. } => Self::UpstreamTimeout(e),
            // A stored session of other credentials (a persistent store kept across a switch of
            // key or application) was not created by this server as it is configured now.
            OpenTokError::ForeignSession { .. } => Self::SessionNotFound,
            // Credentials, 4xx, 5xx, garbage, refused: the client did nothing wrong, so never 401/403.
            other => Self::Upstream(other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full { .. } => Self::StoreFull(e),
            e if e.is_unavailable() => Self::StoreUnavailable(e),
            other => Self::Internal(Box::new(other)),
        }
    }
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// A stable snake_case code, e.g. `invalid_parameter`.
    #[schema(example = "invalid_parameter")]
    pub error: &'static str,
    /// A human-readable explanation; may change.
    #[schema(example = "no session with this id was created by this server")]
    pub message: &'a str,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Domain(_) | Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            Self::CorsRejected(_) => (StatusCode::FORBIDDEN, "cors_rejected"),
            Self::SessionNotFound => (StatusCode::NOT_FOUND, "session_not_found"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::HeadersTooLarge { .. } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
            ),
            Self::RouteNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream_error"),
            Self::UpstreamTimeout(_) => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
            Self::StoreFull(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_full"),
            Self::StoreUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            Self::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code) = self.parts();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Expected while a store is down or full, once per request: a warning, not an error.
            tracing::warn!(error = with_causes(self), code, "request failed");
        } else if status.is_server_error() {
            // Logged once, here, with the cause chain; 5xx Display texts are generic for the client.
            tracing::error!(error = with_causes(self), code, "request failed");
        }
        let mut response = HttpResponse::build(status);
        match self {
            Self::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, *allow));
            }
            Self::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            // A store outage is usually short (a restart, a failover); the timeout is about 1 s.
            Self::StoreUnavailable(_) | Self::NotReady(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: code,
            message: &self.to_string(),
        })
    }
}

/// An error and its sources on one line. None of ours carries a secret: OpenTokError and
/// StoreError never hold one, and store URLs are shown with the password hidden.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant. The match below has no wildcard, so a new variant does not compile
    /// until it is listed here, and so checked against the documented table.
    fn one_of_each() -> Vec<ApiError> {
        let all = vec![
            ApiError::Domain(DomainError::DataTooLong {
                max: 1000,
                len: 1001,
            }),
            ApiError::BadRequest("x".into()),
            ApiError::CorsRejected("x".into()),
            ApiError::SessionNotFound,
            ApiError::Unauthorized,
            ApiError::HeadersTooLarge { limit: 1 },
            ApiError::RouteNotFound("/x".into()),
            ApiError::MethodNotAllowed {
                method: "GET".into(),
                allow: "POST",
            },
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::UnsupportedMediaType("text/plain".into()),
            ApiError::Upstream(OpenTokError::Unreachable { reason: "x".into() }),
            ApiError::UpstreamTimeout(OpenTokError::Timeout { timeout_ms: 1 }),
            ApiError::StoreFull(StoreError::Full { capacity: 1 }),
            ApiError::StoreUnavailable(unavailable()),
            ApiError::NotReady(unavailable()),
            ApiError::Internal("x".into()),
        ];
        for e in &all {
            match e {
                ApiError::Domain(_)
                | ApiError::BadRequest(_)
                | ApiError::CorsRejected(_)
                | ApiError::SessionNotFound
                | ApiError::Unauthorized
                | ApiError::HeadersTooLarge { .. }
                | ApiError::RouteNotFound(_)
                | ApiError::MethodNotAllowed { .. }
                | ApiError::PayloadTooLarge { .. }
                | ApiError::UnsupportedMediaType(_)
                | ApiError::Upstream(_)
                | ApiError::UpstreamTimeout(_)
                | ApiError::StoreFull(_)
                | ApiError::StoreUnavailable(_)
                | ApiError::NotReady(_)
                | ApiError::Internal(_) => {}
            }
        }
        all
    }

    fn unavailable() -> StoreError {
        StoreError::Unavailable {
            message: "redis at redis://127.0.0.1:6379 did not answer within 1000 ms".into(),
            source: None,
        }
    }

    /// `(status, code)` of each row of the error table in docs/api.md.
    fn documented() -> Vec<(u16, String)> {
        let doc = include_str!("../../../docs/api.md");
        let table = doc
            .split("## Errors")
            .nth(1)
            .expect("docs/api.md has an Errors section");
        table
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let status = cells.get(1)?.parse().ok()?;
                let code = cells.get(2)?.trim_matches('`').to_owned();
                Some((status, code))
            })
            .collect()
    }

    #[test]
    fn every_error_has_its_documented_status_and_code_and_a_json_body() {
        let table = documented();
        let mut seen = Vec::new();
        for e in one_of_each() {
            let (status, code) = e.parts();
            let row = (status.as_u16(), code.to_owned());
            assert!(table.contains(&row), "{row:?} is not in docs/api.md");
            let response = e.error_response();
            assert_eq!(response.status(), status);
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                "application/json"
            );
            seen.push(row);
        }
        for row in &table {
            assert!(
                seen.contains(row),
                "docs/api.md lists {row:?}, which no error has"
            );
        }
    }

    #[test]
    fn allow_and_www_authenticate_come_with_their_errors() {
        let e = ApiError::MethodNotAllowed {
            method: "GET".into(),
            allow: "POST",
        };
        assert_eq!(
            e.error_response().headers().get(header::ALLOW).unwrap(),
            "POST"
        );
        let e = ApiError::Unauthorized;
        assert_eq!(
            e.error_response()
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .unwrap(),
            "Bearer"
        );
    }

    #[test]
    fn an_unavailable_store_is_503_store_unavailable_with_retry_after() {
        let e = ApiError::from(unavailable());
        assert_eq!(e.parts().1, "store_unavailable");
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let other = ApiError::from(StoreError::Backend {
            message: "x".into(),
            source: None,
        });
        assert_eq!(other.parts().1, "internal", "only outages are retryable");
    }
}
