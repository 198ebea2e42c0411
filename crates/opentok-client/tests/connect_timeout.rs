//! A host that never completes the TCP handshake fails fast as unreachable, within the connect
//! timeout, not after the whole call's budget.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use opentok_client::{ClientConfig, Credentials, HttpOpenTokClient, OpenTokApi, OpenTokError};
use secrecy::SecretString;
use socket2::{Domain, Socket, Type};
use tiny_opentok_domain::{ApiKey, SessionOptions};

/// A loopback listener that never accepts, with its one-slot accept queue already taken: the
/// kernel then drops further SYNs, so connecting hangs as it would to a silent host.
fn unresponsive_listener() -> (Socket, SocketAddr, Vec<TcpStream>) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    while let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
        fillers.push(s);
        assert!(fillers.len() < 64, "the accept queue never filled");
    }
    (socket, addr, fillers)
}

#[actix_web::test]
async fn a_silent_host_is_unreachable_after_the_connect_timeout() {
    let (_listener, addr, _fillers) = unresponsive_listener();
    let credentials = Credentials::new(
        ApiKey::parse("123456").unwrap(),
        SecretString::from("secret"),
    );
    let client = HttpOpenTokClient::new(ClientConfig {
        base_url: format!("http://{addr}"),
        // The whole call may take a minute; only the connect limit can end it early.
        timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_millis(300),
        ..ClientConfig::new(credentials)
    });
    let err = client
        .create_session(&SessionOptions::default())
        .await
        .unwrap_err();
    match err {
        OpenTokError::Unreachable { reason } => {
            assert!(reason.contains("no connection within 300 ms"), "{reason}")
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}
