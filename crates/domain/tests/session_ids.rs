//! Every session id from the SDKs' fixtures (tests/data/session-ids.json) parses,
//! decodes to the fields listed, and belongs to API key 123456 exactly when the vector says so.

use serde_json::Value;
use tiny_opentok_domain::{ApiKey, SessionId};

#[test]
fn every_sdk_fixture_id_decodes_to_its_fields() {
    let vectors: Value =
        serde_json::from_str(include_str!("data/session-ids.json")).expect("vector file");
    let ids = vectors["ids"].as_array().expect("ids");
    assert_eq!(ids.len(), 13);
    let key = ApiKey::parse("123456").unwrap();
    for v in ids {
        let text = v["session_id"].as_str().unwrap();
        let id = SessionId::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let expected: Vec<&str> = v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(id.record().fields(), expected.as_slice(), "{text}");
        assert_eq!(
            id.belongs_to(&key),
            v["belongs_to_123456"].as_bool().unwrap(),
            "{text}"
        );
    }
}
