//! The one error type of `netprobe`.

use std::net::SocketAddr;

use crate::protocol::Refusal;

/// Shorthand for results whose error is [`NetError`].
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// Everything that can go wrong running a network test.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Connecting the control channel failed.
    #[error("cannot connect to netprobe server at {addr} (is `netprobe server` running there and the port open?)")]
    Connect {
        /// Server address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// An I/O error on a named socket or step.
    #[error("{what}")]
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
    /// The error and each cause under it, once each (`what: cause`): for messages that carry
    /// no error chain, such as the `Failed` a server sends its client.
    pub fn describe(&self) -> String {
        probe_core::error::describe(self)
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        NetError::Io {
            what: what.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14, defect 7: causes were printed twice ("early eof: early eof").
    #[test]
    fn each_cause_is_said_once() {
        let e = NetError::io(
            "reading the hello from 10.0.0.1:5301",
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "early eof"),
        );
        assert_eq!(e.to_string(), "reading the hello from 10.0.0.1:5301");
        assert_eq!(
            e.describe(),
            "reading the hello from 10.0.0.1:5301: early eof"
        );
        let chain = format!("{:#}", anyhow::Error::new(e));
        assert_eq!(chain.matches("early eof").count(), 1, "{chain}");
    }
}
