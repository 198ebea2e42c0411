//! The session-create answer, form validation over HTTP, and the route table.

use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use tiny_opentok_domain::SessionId;

use crate::helpers::*;

#[actix_web::test]
async fn ids_carry_the_key_location_and_creation_time() {
    let mock = start().await;
    let before_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();

    let answer = create(
        &mock,
        Some(&good_jwt()),
        "p2p.preference=enabled&archiveMode=manual&location=12.34.56.78&e2ee=false",
    )
    .await;

    assert_eq!(answer.status, 200, "{}", answer.text());
    let id = SessionId::parse(&answer.session_id()).unwrap();
    assert!(id.as_str().starts_with("1_"));
    let record = id.record();
    assert_eq!(record.api_key(), Some(KEY));
    assert_eq!(record.location(), Some(Ipv4Addr::new(12, 34, 56, 78)));
    let created_ms: u128 = record.create_time().unwrap().parse().unwrap();
    assert!(created_ms >= before_ms);
    let random = &record.fields()[4];
    assert_eq!(random.len(), 24, "{random}");
    assert!(id.belongs_to(&tiny_opentok_domain::ApiKey::parse(KEY).unwrap()));
    mock.stop().await;
}

#[actix_web::test]
async fn every_session_gets_a_fresh_id() {
    let mock = start().await;
    let jwt = good_jwt();

    let a = create(&mock, Some(&jwt), ROUTED).await.session_id();
    let b = create(&mock, Some(&jwt), ROUTED).await.session_id();

    assert_ne!(a, b);
    assert_eq!(mock.sessions_created(), 2);
    mock.stop().await;
}

#[actix_web::test]
async fn json_answer_has_the_2025_shape() {
    let mock = start().await;

    let answer = create(&mock, Some(&good_jwt()), RELAYED).await;

    let obj = answer.json()[0].as_object().cloned().unwrap();
    for null_field in [
        "session_status",
        "status_invalid",
        "media_server_hostname",
        "messaging_server_url",
        "messaging_url",
        "symphony_address",
        "properties",
        "ice_server",
        "ice_servers",
    ] {
        assert_eq!(obj[null_field], serde_json::Value::Null, "{null_field}");
    }
    assert_eq!(obj["ice_credential_expiration"], 86_100);
    assert_eq!(obj["session_segment_id"].as_str().map(str::len), Some(36));
    let create_dt = obj["create_dt"].as_str().unwrap();
    let parts: Vec<&str> = create_dt.split(' ').collect();
    assert_eq!(parts.len(), 6, "{create_dt}");
    assert!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&parts[0]));
    assert_eq!(parts[3].len(), 8, "{create_dt}");
    assert_eq!(parts[4], "GMT");
    mock.stop().await;
}

async fn create_with_accept(accept: Option<&str>) -> Answer {
    let mock = start().await;
    let mut req = client()
        .post(format!("{}/session/create", mock.url()))
        .insert_header(("X-OPENTOK-AUTH", good_jwt()));
    if let Some(accept) = accept {
        req = req.insert_header(("Accept", accept));
    }
    let answer = send(req, "p2p.preference=enabled").await;
    mock.stop().await;
    answer
}

#[actix_web::test]
async fn answers_legacy_xml_without_accept_json() {
    for accept in [None, Some("*/*"), Some("text/xml")] {
        let answer = create_with_accept(accept).await;

        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type(), "text/xml", "{accept:?}");
        let xml = answer.text();
        assert!(xml.starts_with(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sessions><Session><session_id>"#
        ));
        assert!(xml.ends_with("</create_dt></Session></sessions>"), "{xml}");
        assert!(xml.contains("<partner_id>123456</partner_id>"), "{xml}");
        let id = xml
            .split("<session_id>")
            .nth(1)
            .and_then(|rest| rest.split("</session_id>").next())
            .unwrap();
        assert_eq!(SessionId::parse(id).unwrap().record().api_key(), Some(KEY));
    }
}

#[actix_web::test]
async fn answers_json_to_any_accept_that_lists_it() {
    for accept in [
        "application/json",
        "application/json; charset=utf-8",
        "text/html, Application/JSON;q=0.9",
    ] {
        let answer = create_with_accept(Some(accept)).await;

        assert_eq!(answer.content_type(), "application/json", "{accept}");
        assert!(SessionId::parse(&answer.session_id()).is_ok());
    }
}

#[actix_web::test]
async fn accepts_every_body_the_sdks_send() {
    let mock = start().await;
    let jwt = good_jwt();
    let bodies = [
        "archiveMode=manual&p2p.preference=enabled",
        "archiveMode=always&p2p.preference=disabled",
        "location=12.34.56.78&archiveMode=manual&p2p.preference=enabled",
        "e2ee=true&archiveMode=manual&p2p.preference=disabled",
        "archiveMode=always&archiveName=my+archive&archiveResolution=1280x720&p2p.preference=disabled",
        "p2p.preference=enabled&archiveMode=manual&e2ee=false",
        "p2p.preference=disabled&archiveMode=always&e2ee=false",
        "p2p.preference=disabled&archiveMode=manual&e2ee=true",
        "p2p.preference=enabled&archiveMode=manual&e2ee=false&api_key=123456&unknown=x",
    ];

    for body in bodies {
        let answer = create(&mock, Some(&jwt), body).await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.text());
    }
    assert_eq!(mock.sessions_created(), bodies.len());
    mock.stop().await;
}

#[actix_web::test]
async fn refuses_each_invalid_form_with_a_400() {
    let mock = start().await;
    let jwt = good_jwt();
    let cases = [
        ("", "p2p.preference is required"),
        (
            "archiveMode=manual&e2ee=false",
            "p2p.preference is required",
        ),
        ("p2p.preference=relayed", "p2p.preference must be"),
        (
            "p2p.preference=enabled&archiveMode=auto",
            "archiveMode must be",
        ),
        (
            "p2p.preference=enabled&archiveMode=always",
            "requires mediaMode 'routed'",
        ),
        (
            "p2p.preference=enabled&location=not+an+ip",
            "location must be",
        ),
        ("p2p.preference=enabled&location=127.1", "location must be"),
        (
            "p2p.preference=enabled&location=%3A%3A1",
            "location must be",
        ),
        (
            "p2p.preference=enabled&location=01.2.3.4",
            "location must be",
        ),
        ("p2p.preference=enabled&e2ee=TRUE", "e2ee must be"),
        (
            "p2p.preference=enabled&e2ee=true",
            "e2ee requires mediaMode 'routed'",
        ),
        (
            "p2p.preference=disabled&archiveMode=always&e2ee=true",
            "cannot be combined",
        ),
        (
            "p2p.preference=disabled&archiveName=n",
            "archiveName is only allowed",
        ),
        (
            "p2p.preference=disabled&archiveResolution=640x480",
            "archiveResolution is only",
        ),
        (
            "p2p.preference=disabled&archiveMode=always&archiveResolution=800x600",
            "archiveResolution must be",
        ),
    ];

    for (body, expected) in cases {
        let answer = create(&mock, Some(&jwt), body).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.content_type(), "application/json");
        let json = answer.json();
        assert_eq!(json["code"], 400, "{body}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert_eq!(mock.sessions_created(), 0);
    assert_eq!(mock.requests().len(), cases.len());
    mock.stop().await;
}

#[actix_web::test]
async fn checks_credentials_before_the_form() {
    let mock = start().await;

    let answer = create(&mock, None, "p2p.preference=bogus").await;

    assert_eq!(answer.status, 403);
    mock.stop().await;
}

#[actix_web::test]
async fn survives_bodies_that_are_not_forms() {
    let mock = start().await;
    let jwt = good_jwt();

    for body in [
        &b"\xff\xfe\xfd"[..],
        b"{\"p2p.preference\":\"enabled\"}",
        b"%%%&&==",
    ] {
        let req = client()
            .post(format!("{}/session/create", mock.url()))
            .insert_header(("X-OPENTOK-AUTH", jwt.as_str()));
        let res = req.send_body(body.to_vec()).await.expect("answers");
        assert_eq!(res.status(), 400, "{body:?}");
    }
    let big = vec![b'a'; 2 * 1024 * 1024];
    let res = client()
        .post(format!("{}/session/create", mock.url()))
        .send_body(big)
        .await
        .expect("answers");
    assert_eq!(res.status(), 413);
    assert_eq!(mock.requests().len(), 4);
    assert!(mock.requests()[3].body.is_empty());
    // Still serving after all that.
    assert_eq!(create(&mock, Some(&jwt), ROUTED).await.status, 200);
    mock.stop().await;
}

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let mock = start().await;
    let base = mock.url().to_owned();

    let missing = send(client().post(format!("{base}/session/new")), "").await;
    let get = send(client().get(format!("{base}/session/create?x=1")), "").await;
    let put = send(client().put(format!("{base}/session/create")), ROUTED).await;

    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], 404);
    for answer in [&get, &put] {
        assert_eq!(answer.status, 405);
        assert_eq!(answer.json()["code"], 405);
        assert_eq!(
            answer.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some("POST")
        );
    }
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].method, "GET");
    assert_eq!(requests[1].path, "/session/create?x=1");
    assert_eq!(requests[2].body, ROUTED.as_bytes());
    mock.stop().await;
}

#[actix_web::test]
async fn concurrent_requests_each_get_their_own_id_and_record() {
    let mock = start().await;
    let url = format!("{}/session/create", mock.url());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let url = url.clone();
            actix_rt::spawn(async move {
                let req = client()
                    .post(url)
                    .insert_header(("X-OPENTOK-AUTH", good_jwt()))
                    .insert_header(("Accept", "application/json"));
                send(req, ROUTED).await.session_id()
            })
        })
        .collect();

    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("the request task ran"));
    }

    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16);
    assert_eq!(mock.requests().len(), 16);
    assert_eq!(mock.sessions_created(), 16);
    mock.stop().await;
}
