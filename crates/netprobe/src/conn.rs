//! A control connection: frames over any async byte stream (a `TcpStream` in the probes, an
//! in-memory duplex in tests), every read and write under a deadline.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{NetError, Result};
use crate::protocol::{decode_body, encode_frame, frame_length, Message};

/// A framed control connection with a per-read deadline and a frame-size cap.
#[derive(Debug)]
pub(crate) struct Control<S = TcpStream> {
    stream: S,
    peer: String,
    max_frame: usize,
}

/// How long a write may wait for a peer that stopped reading.
pub(crate) const WRITE_DEADLINE: Duration = Duration::from_secs(10);

impl Control<TcpStream> {
    pub(crate) fn new(stream: TcpStream, max_frame: usize) -> Self {
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "unknown peer".into());
        let _ = stream.set_nodelay(true);
        Self::over(stream, peer, max_frame)
    }

    pub(crate) fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Control<S> {
    /// A control channel over any stream, `peer` naming the other end in errors.
    pub(crate) fn over(stream: S, peer: String, max_frame: usize) -> Self {
        Self {
            stream,
            peer,
            max_frame,
        }
    }

    pub(crate) fn peer(&self) -> &str {
        &self.peer
    }

    /// Reads one message. The length is checked against the cap before the body is allocated.
    pub(crate) async fn recv(&mut self, deadline: Duration, what: &str) -> Result<Message> {
        let read = async {
            let mut header = [0u8; 4];
            self.stream.read_exact(&mut header).await?;
            let len = match frame_length(header, self.max_frame) {
                Ok(len) => len,
                Err(e) => return Ok(Err(e)),
            };
            let mut body = vec![0u8; len];
            self.stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(decode_body(&body))
        };
        match tokio::time::timeout(deadline, read).await {
            Err(_) => Err(NetError::Timeout {
                what: format!("waiting for {what} from {}", self.peer),
                secs: deadline.as_secs().max(1),
            }),
            Ok(Err(e)) => Err(NetError::io(
                format!("reading {what} from {}", self.peer),
                e,
            )),
            Ok(Ok(Err(e))) => Err(NetError::Protocol {
                peer: self.peer.clone(),
                reason: e.to_string(),
            }),
            Ok(Ok(Ok(message))) => Ok(message),
        }
    }

    /// Writes one message (with a deadline, so a peer that stops reading cannot hold us).
    pub(crate) async fn send(&mut self, message: &Message) -> Result<()> {
        let frame = encode_frame(message);
        match tokio::time::timeout(WRITE_DEADLINE, self.stream.write_all(&frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(NetError::io(format!("writing to {}", self.peer), e)),
            Err(_) => Err(NetError::Timeout {
                what: format!("writing to {}", self.peer),
                secs: WRITE_DEADLINE.as_secs(),
            }),
        }
    }
}
