//! The route table and the handlers. Every request enters through [`dispatch`], which records it,
//! looks the route up in [`ROUTES`] and then applies the global latency; add the archive endpoints
//! (OpenTok's archive REST API) to the table when they are needed.

use std::io;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::body::BodyStream;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tiny_opentok_domain::SessionId;

use crate::answer::{self, CreatedSession};
use crate::state::{Auth, State};
use crate::{auth, bearer, form, Fault, RecordedRequest};

/// Bodies above this size are refused with 413 (and recorded without their body).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    CreateSession,
}

/// A path pattern (`{name}` matches one non-empty segment) and the methods it answers.
struct Route {
    pattern: &'static str,
    methods: &'static [(&'static str, Endpoint)],
}

/// Every route the mock serves, in one place.
const ROUTES: &[Route] = &[Route {
    pattern: "/session/create",
    methods: &[("POST", Endpoint::CreateSession)],
}];

enum Resolved {
    Found(Endpoint),
    WrongMethod(Vec<&'static str>),
    NotFound,
}

fn resolve(method: &str, path: &str) -> Resolved {
    let Some(route) = ROUTES.iter().find(|r| matches(r.pattern, path)) else {
        return Resolved::NotFound;
    };
    match route.methods.iter().find(|(m, _)| *m == method) {
        Some((_, endpoint)) => Resolved::Found(*endpoint),
        None => Resolved::WrongMethod(route.methods.iter().map(|(m, _)| *m).collect()),
    }
}

fn matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// The single actix service: records the request, routes it, then waits out the global latency.
pub(crate) async fn dispatch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> HttpResponse {
    // The latency counts from here, so checking the request takes none of it.
    let arrived = Instant::now();
    let body = payload.to_bytes_limited(MAX_BODY_BYTES).await;
    let body_bytes = match &body {
        Ok(Ok(bytes)) => bytes.to_vec(),
        _ => Vec::new(),
    };
    state.record(record(&req, body_bytes));

    let response = match body {
        Err(_) => answer::error_response(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
        Ok(Err(_)) => answer::error_response(StatusCode::BAD_REQUEST, "Could not read the body"),
        Ok(Ok(body)) => match resolve(req.method().as_str(), req.path()) {
            Resolved::Found(Endpoint::CreateSession) => create_session(&req, &body, &state).await,
            Resolved::WrongMethod(allowed) => method_not_allowed(&allowed),
            Resolved::NotFound => answer::error_response(StatusCode::NOT_FOUND, "Not found"),
        },
    };
    if !state.sleep(arrived, state.latency()).await {
        return close_connection();
    }
    tracing::info!(
        method = %req.method(),
        path = req.path(),
        status = response.status().as_u16(),
        "answered"
    );
    response
}

fn record(req: &HttpRequest, body: Vec<u8>) -> RecordedRequest {
    RecordedRequest {
        method: req.method().as_str().to_owned(),
        path: req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned()),
        headers: req
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    }
}

fn method_not_allowed(allowed: &[&str]) -> HttpResponse {
    let mut res = answer::error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        res.headers_mut().insert(header::ALLOW, value);
    }
    res
}

/// `POST /session/create`: fault, then auth, then the form, then a fresh id.
async fn create_session(req: &HttpRequest, body: &[u8], state: &State) -> HttpResponse {
    if let Some(fault) = state.take_fault() {
        if let Some(response) = apply_fault(fault, state).await {
            return response;
        }
    }

    let now = now_ms();
    let vonage = matches!(state.auth, Auth::Vonage { .. });
    match &state.auth {
        Auth::OpenTok { api_secret } => {
            if let Err(reason) = auth::check(
                req.headers(),
                state.api_key.as_str(),
                api_secret,
                now / 1000,
                state.require_jti.load(Ordering::Relaxed),
            ) {
                tracing::info!(reason = reason.as_str(), "refused credentials");
                return answer::auth_failure(reason.as_str());
            }
        }
        Auth::Vonage { public_key_der } => {
            if let Err(reason) = bearer::check(
                req.headers(),
                state.api_key.as_str(),
                public_key_der,
                now / 1000,
            ) {
                tracing::info!(reason = reason.as_str(), "refused the application JWT");
                return answer::bearer_failure(reason.as_str());
            }
        }
    }
    let form = match form::parse(body) {
        Ok(form) => form,
        Err(message) => return answer::error_response(StatusCode::BAD_REQUEST, &message),
    };
    let random = answer::random_id_part();
    let id = if vonage {
        answer::vonage_session_id(&state.api_key, form.location(), now, &random)
    } else {
        SessionId::encode(&state.api_key, form.location(), now, &random)
    };
    let id = match id {
        Ok(id) => id,
        // The key was validated at start and the random part has no '~'; answer like a broken
        // upstream rather than panic if that ever changes.
        Err(_) => {
            return answer::error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
        }
    };
    state.count_session();
    let mut created = CreatedSession::new(id.as_str(), state.api_key.as_str(), now / 1000);
    if vonage {
        created = created.for_application();
    }
    if accepts_json(req) {
        created.json_response()
    } else {
        created.xml_response()
    }
}

/// The answer a fault replaces the normal one with; `None` when the request should go on (a delay
/// that ran its course).
async fn apply_fault(fault: Fault, state: &State) -> Option<HttpResponse> {
    match fault {
        Fault::Status(code) => Some(answer::fault_status(code)),
        Fault::Garbage => Some(answer::garbage()),
        Fault::CloseConnection => Some(close_connection()),
        Fault::Hang => {
            // Held until stop(), which then drops the connection so shutdown is not delayed.
            state.shutting_down().await;
            Some(close_connection())
        }
        Fault::Delay(delay) => (!state.sleep(Instant::now(), delay).await).then(close_connection),
    }
}

/// The service answers JSON only to clients that ask for it; Ruby and PHP do not and get XML.
fn accepts_json(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// A response whose body fails before its first byte: actix-http then drops the connection without
/// flushing the already-encoded head, so the client sees the connection close with no HTTP answer at
/// all. (The dispatcher returns the body error straight out of its poll, see
/// actix-http `h1::dispatcher::InnerDispatcher::poll_response`; tests/faults.rs checks the bytes.)
fn close_connection() -> HttpResponse {
    let failing = futures_util::stream::once(async {
        Err::<web::Bytes, _>(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "opentok-mock: CloseConnection fault",
        ))
    });
    HttpResponse::Ok().body(BodyStream::new(failing))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_known_routes_methods_and_unknown_paths() {
        assert!(matches!(
            resolve("POST", "/session/create"),
            Resolved::Found(Endpoint::CreateSession)
        ));
        assert!(
            matches!(resolve("GET", "/session/create"), Resolved::WrongMethod(m) if m == ["POST"])
        );
        for path in [
            "/",
            "/session",
            "/session/create/",
            "/session/create/x",
            "//session/create",
        ] {
            assert!(
                matches!(resolve("POST", path), Resolved::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn pattern_segments_match_one_non_empty_segment() {
        assert!(matches(
            "/v2/project/{key}/archive",
            "/v2/project/123/archive"
        ));
        assert!(!matches(
            "/v2/project/{key}/archive",
            "/v2/project//archive"
        ));
        assert!(!matches(
            "/v2/project/{key}/archive",
            "/v2/project/1/2/archive"
        ));
    }
}
