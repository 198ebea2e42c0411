//! The `opentok-mock` binary: one `listening on` line, real answers, clean exit on SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};

use crate::helpers::*;

#[cfg(unix)]
#[actix_web::test]
async fn prints_one_line_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opentok-mock"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            KEY,
            "--api-secret",
            SECRET,
        ])
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).expect("reads the first line");
    let url = line
        .strip_prefix("listening on ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let res = client()
        .post(format!("{url}/session/create"))
        .insert_header(("X-OPENTOK-AUTH", good_jwt()))
        .insert_header(("Accept", "application/json"))
        .send_body(ROUTED)
        .await
        .expect("the binary answers");
    assert_eq!(res.status(), 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("the binary exits");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(rest, "", "stdout holds only the listening line");
}

#[test]
fn refuses_a_bad_key_with_a_failure_exit() {
    let status = Command::new(env!("CARGO_BIN_EXE_opentok-mock"))
        .args(["--api-key", "not a key", "--api-secret", SECRET])
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the binary runs");
    assert!(!status.success());
}
