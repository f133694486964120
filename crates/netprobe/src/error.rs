//! The one error type of `netprobe`.

use std::net::SocketAddr;

use crate::protocol::Refusal;

/// Shorthand for results whose error is [`NetError`].
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// Everything that can go wrong running a network test.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Connecting the control channel failed.
    #[error("cannot connect to netprobe server at {addr}: {source}; is `netprobe server` running there and the port open?")]
    Connect {
        /// Server address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// An I/O error on a named socket or step.
    #[error("{what}: {source}")]
    Io {
        /// What was being done (names the peer or the socket).
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The peer did not answer within the deadline.
    #[error("{what}: no answer within {secs} s; the peer is gone or the network drops packets")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline.
        secs: u64,
    },
    /// A frame violated the protocol (oversize, undecodable, unexpected message).
    #[error("protocol error from {peer}: {reason}")]
    Protocol {
        /// Who sent it.
        peer: String,
        /// What was wrong.
        reason: String,
    },
    /// The server refused the test; the message names the cap or check and the fix.
    #[error("server refused the test: {0}")]
    Refused(Refusal),
    /// The server's proof of the key did not verify.
    #[error("server at {0} failed to prove it knows the key: wrong --psk on one side, or not the server you meant")]
    ServerAuth(SocketAddr),
    /// The client gave a key but the server runs without one.
    #[error("server at {0} runs without a key but --psk was given; start the server with the same --psk (or drop --psk on the client)")]
    ServerUnauthenticated(SocketAddr),
    /// The server needs a key and the client has none.
    #[error("server at {0} requires a pre-shared key; pass --psk KEY or set NETPROBE_PSK")]
    KeyRequired(SocketAddr),
    /// An option is invalid.
    #[error("invalid option: {0}")]
    Config(String),
    /// Encoding the report failed.
    #[error(transparent)]
    Report(#[from] probe_core::CoreError),
}

impl NetError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        NetError::Io {
            what: what.into(),
            source,
        }
    }
}
