//! The control handshake of both sides over an in-memory duplex, with tokio's clock paused:
//! deadlines are checked to the millisecond without waiting for them.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{duplex, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;

use crate::conn::Control;
use crate::error::NetError;
use crate::protocol::{
    Message, Refusal, TestRequest, MAX_CLIENT_FRAME_BYTES, MAX_SERVER_FRAME_BYTES,
};
use crate::{client, server, ClientConfig, PreSharedKey, ServerConfig};

const TIMEOUT: Duration = Duration::from_secs(3);

fn pair() -> (Control<DuplexStream>, Control<DuplexStream>) {
    let (a, b) = duplex(64 * 1024);
    (
        Control::over(a, "test server".into(), MAX_SERVER_FRAME_BYTES),
        Control::over(b, "test client".into(), MAX_CLIENT_FRAME_BYTES),
    )
}

fn addr() -> SocketAddr {
    "127.0.0.1:5301".parse().unwrap()
}

fn key(k: &str) -> Option<PreSharedKey> {
    PreSharedKey::new(k)
}

fn server_config(psk: Option<PreSharedKey>) -> ServerConfig {
    ServerConfig {
        psk,
        ..Default::default()
    }
}

fn client_config(psk: Option<PreSharedKey>) -> ClientConfig {
    let mut c = ClientConfig::new("h", TestRequest::tcp_stream(Duration::from_secs(1)));
    c.psk = psk;
    c
}

/// Runs both handshakes; the client sends its request when its side succeeds.
async fn both(
    client_key: Option<PreSharedKey>,
    server_key: Option<PreSharedKey>,
) -> (
    Result<(), NetError>,
    Result<Result<TestRequest, Refusal>, NetError>,
) {
    let (mut to_server, mut to_client) = pair();
    let (ccfg, scfg) = (client_config(client_key), server_config(server_key));
    let client = async {
        let r = client::handshake(&mut to_server, &ccfg, addr(), TIMEOUT).await;
        if r.is_ok() {
            to_server
                .send(&Message::Request(ccfg.request.clone()))
                .await
                .unwrap();
        }
        r
    };
    let server = async {
        let r = server::handshake(&mut to_client, &scfg, TIMEOUT).await;
        if let Ok(Err(refusal)) = &r {
            // What `handle` does: the refusal reaches the client, which stops waiting.
            let _ = to_client.send(&Message::Refused(refusal.clone())).await;
        }
        r
    };
    tokio::join!(client, server)
}

#[tokio::test(start_paused = true)]
async fn matching_keys_deliver_the_request() {
    let (c, s) = both(key("k3y-material"), key("k3y-material")).await;
    c.unwrap();
    assert_eq!(
        s.unwrap().unwrap(),
        TestRequest::tcp_stream(Duration::from_secs(1))
    );
}

#[tokio::test(start_paused = true)]
async fn no_key_on_either_side_is_fine() {
    let (c, s) = both(None, None).await;
    c.unwrap();
    assert!(s.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_wrong_key_is_refused_and_the_client_is_told() {
    let (c, s) = both(key("one"), key("other")).await;
    assert_eq!(s.unwrap().unwrap_err(), Refusal::AuthFailed);
    assert!(
        matches!(c, Err(NetError::Refused(Refusal::AuthFailed))),
        "{c:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_key_is_named_on_both_sides() {
    let (c, s) = both(None, key("secret")).await;
    assert!(matches!(c, Err(NetError::KeyRequired(_))), "{c:?}");
    // The client gave up before sending anything more; the server times out or sees EOF.
    assert!(s.is_err() || s.unwrap().is_err());
    let (c, _) = both(key("secret"), None).await;
    assert!(
        matches!(c, Err(NetError::ServerUnauthenticated(_))),
        "{c:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_times_out_at_the_deadline_exactly() {
    let (_keep_open, mut to_client) = pair();
    let start = Instant::now();
    let r = server::handshake(&mut to_client, &server_config(None), TIMEOUT).await;
    assert!(matches!(r, Err(NetError::Timeout { .. })), "{r:?}");
    // The hello has its own, shorter deadline (issue 14, defect 2): an idle connection is
    // dropped after it, not after the control timeout.
    assert_eq!(start.elapsed(), TIMEOUT.min(server::HELLO_TIMEOUT));
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out_at_the_deadline_exactly() {
    let (mut to_server, _keep_open) = pair();
    let start = Instant::now();
    let r = client::handshake(&mut to_server, &client_config(None), addr(), TIMEOUT).await;
    let Err(NetError::Timeout { what, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(
        what.contains("hello") && what.contains("test server"),
        "{what}"
    );
    assert_eq!(start.elapsed(), TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn an_oversized_frame_is_refused_before_its_body_arrives() {
    let (a, b) = duplex(1024);
    let mut to_client = Control::over(b, "attacker".into(), MAX_CLIENT_FRAME_BYTES);
    let mut attacker = a;
    attacker.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let start = Instant::now();
    let r = server::handshake(&mut to_client, &server_config(None), TIMEOUT).await;
    let Err(NetError::Protocol { peer, reason }) = r else {
        panic!("{r:?}")
    };
    assert_eq!(peer, "attacker");
    assert!(reason.contains("exceeds"), "{reason}");
    assert!(
        start.elapsed() < TIMEOUT,
        "answered at once, not at the deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stranger_is_refused_for_its_magic() {
    let (mut stranger, mut to_client) = pair();
    stranger
        .send(&Message::ClientHello {
            magic: *b"NOTPROBE",
            version: crate::protocol::PROTOCOL_VERSION,
            nonce: [0; 32],
        })
        .await
        .unwrap();
    let r = server::handshake(&mut to_client, &server_config(None), TIMEOUT).await;
    assert_eq!(r.unwrap().unwrap_err(), Refusal::BadMagic);
}
