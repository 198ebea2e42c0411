//! X-OPENTOK-AUTH: what passes and every way to fail.

use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

use crate::helpers::*;

/// Sends `jwt` and returns (status, failure reason).
async fn try_jwt(jwt: &str) -> (u16, String) {
    let mock = start().await;
    let answer = create(&mock, Some(jwt), ROUTED).await;
    let created = mock.sessions_created();
    mock.stop().await;
    if answer.status == 403 {
        assert_eq!(
            answer.text(),
            r#"{"code":-1,"message":"No suitable authentication found"}"#
        );
        assert_eq!(created, 0);
    }
    (answer.status.as_u16(), answer.auth_failure().to_owned())
}

fn without(claim: &str) -> String {
    let mut claims = good_claims();
    claims.remove(claim);
    sign(&claims)
}

fn with(claim: &str, value: Value) -> String {
    let mut claims = good_claims();
    claims.insert(claim.to_owned(), value);
    sign(&claims)
}

#[actix_web::test]
async fn accepts_python_sdk_claims() {
    assert_eq!(try_jwt(&good_jwt()).await, (200, String::new()));
}

#[actix_web::test]
async fn accepts_a_numeric_jti_and_a_numeric_iss() {
    assert_eq!(try_jwt(&with("jti", json!(1234567))).await.0, 200);
    assert_eq!(try_jwt(&with("iss", json!(123456))).await.0, 200);
}

#[actix_web::test]
async fn accepts_a_five_minute_token() {
    let now = now();
    let mut claims = good_claims();
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 300));
    assert_eq!(try_jwt(&sign(&claims)).await.0, 200);
}

#[actix_web::test]
async fn refuses_a_bearer_token() {
    let mock = start().await;
    let req = client()
        .post(format!("{}/session/create", mock.url()))
        .insert_header(("Accept", "application/json"))
        .insert_header(("Authorization", format!("Bearer {}", good_jwt())));

    let answer = send(req, ROUTED).await;

    assert_eq!(answer.status, 403);
    assert_eq!(answer.auth_failure(), "bearer_not_supported");
    mock.stop().await;
}

#[actix_web::test]
async fn refuses_a_bad_signature() {
    let jwt = good_jwt();
    let (head, sig) = jwt.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &sig[1..]);
    assert_eq!(try_jwt(&tampered).await, (403, "bad_signature".into()));
}

#[actix_web::test]
async fn refuses_a_token_signed_with_another_secret() {
    let jwt = sign_with(Algorithm::HS256, "another-secret", &good_claims());
    assert_eq!(try_jwt(&jwt).await, (403, "bad_signature".into()));
}

#[actix_web::test]
async fn refuses_changed_claims_under_the_old_signature() {
    let jwt = good_jwt();
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims = good_claims();
    claims.insert("iss".into(), json!("654321"));
    let other = sign(&claims);
    let other_claims = other.split('.').nth(1).unwrap();
    let spliced = format!("{}.{}.{}", parts[0], other_claims, parts[2]);
    assert_eq!(try_jwt(&spliced).await, (403, "bad_signature".into()));
}

#[actix_web::test]
async fn refuses_other_algorithms() {
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let jwt = sign_with(alg, SECRET, &good_claims());
        assert_eq!(
            try_jwt(&jwt).await,
            (403, "unsupported_algorithm".into()),
            "{alg:?}"
        );
    }
}

#[actix_web::test]
async fn refuses_alg_none() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(Value::Object(good_claims()).to_string());
    for jwt in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
        assert_eq!(try_jwt(&jwt).await, (403, "unsupported_algorithm".into()));
    }
}

#[actix_web::test]
async fn refuses_garbage_tokens() {
    for jwt in ["", "not-a-jwt", "a.b.c", "e30.e30.e30"] {
        assert_eq!(
            try_jwt(jwt).await,
            (403, "malformed_token".into()),
            "{jwt:?}"
        );
    }
}

#[actix_web::test]
async fn refuses_a_token_for_another_key() {
    assert_eq!(
        try_jwt(&with("iss", json!("654321"))).await,
        (403, "wrong_iss".into())
    );
}

#[actix_web::test]
async fn refuses_each_missing_claim() {
    // jti is optional by default (see a_missing_jti_is_accepted_by_default_and_refused_when_required).
    for claim in ["iss", "ist", "iat", "exp"] {
        assert_eq!(
            try_jwt(&without(claim)).await,
            (403, format!("missing_{claim}")),
            "{claim}"
        );
    }
}

#[actix_web::test]
async fn refuses_claims_of_the_wrong_type() {
    assert_eq!(
        try_jwt(&with("ist", json!("account"))).await,
        (403, "wrong_ist".into())
    );
    assert_eq!(
        try_jwt(&with("iat", json!("now"))).await,
        (403, "bad_iat".into())
    );
    assert_eq!(
        try_jwt(&with("exp", json!(null))).await,
        (403, "bad_exp".into())
    );
    assert_eq!(
        try_jwt(&with("jti", json!(""))).await,
        (403, "bad_jti".into())
    );
    assert_eq!(
        try_jwt(&with("iss", json!([KEY]))).await,
        (403, "bad_iss".into())
    );
}

#[actix_web::test]
async fn refuses_an_expired_token() {
    let now = now();
    let mut claims = good_claims();
    claims.insert("iat".into(), json!(now - 600));
    claims.insert("exp".into(), json!(now - 420));
    assert_eq!(try_jwt(&sign(&claims)).await, (403, "expired".into()));
}

#[actix_web::test]
async fn refuses_a_token_issued_in_the_future() {
    let now = now();
    let mut claims = good_claims();
    claims.insert("iat".into(), json!(now + 120));
    claims.insert("exp".into(), json!(now + 300));
    assert_eq!(try_jwt(&sign(&claims)).await, (403, "iat_in_future".into()));
}

#[actix_web::test]
async fn refuses_a_long_lived_or_inverted_token() {
    let now = now();
    let mut long = good_claims();
    long.insert("exp".into(), json!(now + 3600));
    let mut inverted = good_claims();
    inverted.insert("iat".into(), json!(now + 10));
    inverted.insert("exp".into(), json!(now + 5));
    assert_eq!(try_jwt(&sign(&long)).await, (403, "bad_lifetime".into()));
    assert_eq!(
        try_jwt(&sign(&inverted)).await,
        (403, "bad_lifetime".into())
    );
}

#[actix_web::test]
async fn refuses_a_header_that_is_not_text() {
    let mock = start().await;
    let value = awc::http::header::HeaderValue::from_bytes(b"\xff\xfe").unwrap();
    let req = client()
        .post(format!("{}/session/create", mock.url()))
        .insert_header(("X-OPENTOK-AUTH", value));

    let answer = send(req, ROUTED).await;

    assert_eq!(answer.status, 403);
    assert_eq!(answer.auth_failure(), "malformed_token");
    assert_eq!(
        mock.requests()[0].header("x-opentok-auth"),
        Some("\u{fffd}\u{fffd}")
    );
    mock.stop().await;
}

#[actix_web::test]
async fn a_missing_jti_is_accepted_by_default_and_refused_when_required() {
    // The real service accepts the Node `opentok` SDK's auth JWT, which has no jti.
    let mock = start().await;
    let node_style = without("jti");
    let accepted = create(&mock, Some(&node_style), ROUTED).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    // Only jti is optional: a bad signature is still refused.
    let forged = sign_with(Algorithm::HS256, "wrong", &good_claims());
    assert_eq!(create(&mock, Some(&forged), ROUTED).await.status, 403);

    mock.set_require_jti(true);
    let refused = create(&mock, Some(&node_style), ROUTED).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.auth_failure(), "missing_jti");
    assert_eq!(create(&mock, Some(&good_jwt()), ROUTED).await.status, 200);
    mock.stop().await;
}
