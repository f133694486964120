//! Control-channel messages and their framing.
//!
//! A frame is a big-endian `u32` length followed by that many bytes of a `postcard`-encoded
//! [`Message`]. The decoder is sans-IO ([`decode_frame`]: bytes in, message or error out) and
//! checks the length against a hard cap *before* anything is allocated. The first frame on a
//! connection is [`Message::ClientHello`] with [`PROTOCOL_VERSION`]. Keep the codec here, in one
//! module, so the wire format could be swapped.

use serde::{Deserialize, Serialize};

pub use probe_core::contract::{
    CpuTimes, Flow, ReceiveWait, Refusal, SendPath, SocketReadback, SocketRequest, TcpInfoReadback,
    TestKind, TestRequest,
};

/// Version of the control protocol; a server refuses any other. Bump it on any change to a
/// message (postcard is positional: an added field shifts every field after it).
/// 4: refill test (`TestRequest::refill_idle_ms`, `Reburst`, `RefillEnd`, first and last byte
/// times of each stream).
/// 5: busy-poll round trips (`TestRequest::busy_poll`, `SideResult::busy_poll_socket`), CPU per
/// byte and per round trip (`SideResult::moved_bytes`, `round_trips`), throttled and stolen
/// time per interval; `TestRequest::rate_profile`, a paced sender's steps of rate.
/// 6: latency under load (`TestRequest::latency_under_load`, a UDP probe flow on the data port's
/// number beside a `tcp-stream`), the sender's retransmits per interval
/// (`SideResult::interval_retransmits`); the shared-bucket test (`TestRequest::shared_bucket`):
/// after the drain's results, the other direction on the same session (new data connections,
/// then `Start`).
/// 7: the send path (`TestRequest::send_path`; `SideResult::spliced_senders`,
/// `copied_senders`, `send_path_fallback`).
pub const PROTOCOL_VERSION: u16 = 7;

/// Magic bytes that open a `ClientHello`, so a stray connection is told apart from an old client.
pub const MAGIC: [u8; 8] = *b"NETPROBE";

/// Largest frame a server accepts from a client (requests are tiny).
pub const MAX_CLIENT_FRAME_BYTES: usize = 64 * 1024;

/// Largest frame a client accepts from a server (results carry per-interval samples).
pub const MAX_SERVER_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Everything that crosses the control channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Client's first frame.
    ClientHello {
        /// [`MAGIC`].
        magic: [u8; 8],
        /// [`PROTOCOL_VERSION`] of the client.
        version: u16,
        /// Fresh random nonce for the key proof.
        nonce: [u8; 32],
    },
    /// Server's answer to the hello.
    ServerHello {
        /// Server's protocol version.
        version: u16,
        /// Fresh random nonce.
        nonce: [u8; 32],
        /// Whether the client must prove the key before anything else.
        auth_required: bool,
    },
    /// HMAC-SHA256 proof of the key from the client.
    ClientProof {
        /// The MAC.
        mac: [u8; 32],
    },
    /// HMAC-SHA256 proof of the key from the server.
    ServerProof {
        /// The MAC.
        mac: [u8; 32],
    },
    /// The test the client wants.
    Request(TestRequest),
    /// The server accepted and listens for data on `data_port`.
    Accepted {
        /// TCP or UDP port for the data connections.
        data_port: u16,
        /// Secret that each data connection or datagram must carry.
        cookie: [u8; 16],
    },
    /// The server refused; nothing ran.
    Refused(Refusal),
    /// Client: all data connections are up, start the clock.
    Start,
    /// Server: its side's measurements.
    Result(SideResult),
    /// Either side: the test failed.
    Failed {
        /// Why.
        reason: String,
    },
    /// Until-baseline: the receiving side saw the baseline hold; both end the measured window
    /// after this many ms (the end of the interval in progress).
    Stop {
        /// Measured window length to end at.
        measured_ms: u64,
    },
    /// Refill test, client to server after the server's result of the drain or a re-burst:
    /// the next re-burst follows after its idle time (new data connections, then `Start`); its
    /// receiver ends it once the rate is back below this.
    Reburst {
        /// The re-burst is over once its intervals stay below this rate for the baseline hold.
        quiet_below_bits_per_sec: f64,
    },
    /// Refill test, client to server: no more re-bursts (the drain found no bucket to refill).
    RefillEnd,
}

/// Per-stream measurements from one side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamSide {
    /// Stream index.
    pub index: u32,
    /// Bytes received in the measured window.
    pub received_bytes: u64,
    /// Bytes received per interval of the window.
    pub interval_bytes: Vec<u64>,
    /// Socket options read back.
    pub socket: SocketReadback,
    /// TCP_INFO of this side's socket at the end (TCP on Linux).
    pub tcp_info: Option<TcpInfoReadback>,
    /// Whether this side sent on the stream.
    pub sender: bool,
    /// The receiver saw the stream end before the window closed.
    pub ended_early: bool,
    /// Receivers: when the first payload byte arrived, in ns from the start of the session
    /// (the first test phase) on this side.
    pub first_byte_ns: Option<u64>,
    /// Receivers: when the last payload byte arrived (inside the window or after it).
    pub last_byte_ns: Option<u64>,
}

/// One side's measurements, sent by the server at the end of a test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideResult {
    /// Length of the measured window on this side.
    pub measured_ns: u64,
    /// Per-stream results.
    pub streams: Vec<StreamSide>,
    /// UDP receiver counts: received, lost, duplicates, out of order, jitter ns.
    pub udp: Option<UdpCounts>,
    /// Data-thread CPU time.
    pub cpu: CpuTimes,
    /// Data threads' pinning as applied.
    pub pinned_cpus: Vec<u32>,
    /// UDP datagrams this side sent.
    pub udp_sent: u64,
    /// Send slots this side's paced UDP sender gave up because it fell behind (short of CPU).
    pub udp_skipped: u64,
    /// Sends this side's UDP sender found its own socket queue full for (held back by its own
    /// interface or qdisc).
    pub udp_queue_full: u64,
    /// This side's bulk receivers polled (see [`ReceiveWait`]).
    pub receivers_polled: bool,
    /// TCP stream senders on this side that spliced their payload (see [`SendPath`]).
    pub spliced_senders: u32,
    /// TCP stream senders on this side that copied their payload.
    pub copied_senders: u32,
    /// Why a sender that could have spliced (`--send-path auto`) copied instead.
    pub send_path_fallback: Option<String>,
    /// CPUs this side's data threads could run on (pinning, else the process affinity).
    pub allowed_cpus: u32,
    /// Busy-poll tests: what `SO_BUSY_POLL` did on this side's data sockets.
    pub busy_poll_socket: BusyPollSocket,
    /// Round trips this side completed (client) or answered (server) over the whole test,
    /// warm-up included: what its CPU time was spent on.
    pub round_trips: u64,
    /// Payload bytes this side's data threads sent and received over the whole test, warm-up
    /// and tail included: what its CPU time was spent on.
    pub moved_bytes: u64,
    /// Time this side's cgroup was throttled (CFS quota) in each interval of the measured
    /// window; `None` where `cpu.stat` cannot be read.
    pub interval_throttled_ns: Option<Vec<u64>>,
    /// Time stolen from this host's CPUs by the hypervisor in each interval (`/proc/stat`,
    /// all CPUs, 10 ms resolution); `None` where it cannot be read.
    pub interval_steal_ns: Option<Vec<u64>>,
    /// Segments this side's TCP stream senders retransmitted in each interval of the measured
    /// window (`TCP_INFO`); `None` where this side sent no TCP stream or could not read it.
    pub interval_retransmits: Option<Vec<u64>>,
}

/// What `SO_BUSY_POLL` did on a side's data sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BusyPollSocket {
    /// Not asked for: a blocking test.
    #[default]
    NotAsked,
    /// Set: each non-blocking receive also polls the device's queue (NAPI) once.
    Set {
        /// The value, in microseconds.
        usec: u32,
    },
    /// Refused with `EPERM`: raising it above `net.core.busy_read` needs `CAP_NET_ADMIN`. The
    /// side still spins in user space.
    NotPermitted,
    /// The kernel or platform has no such option. The side still spins in user space.
    Unsupported,
}

impl BusyPollSocket {
    /// In words, for reports.
    pub fn describe(self) -> String {
        match self {
            BusyPollSocket::NotAsked => "not asked".into(),
            BusyPollSocket::Set { usec } => format!("set to {usec} us"),
            BusyPollSocket::NotPermitted => "not permitted (EPERM: raising it above \
                 net.core.busy_read needs CAP_NET_ADMIN); spinning in user space only"
                .into(),
            BusyPollSocket::Unsupported => "unsupported here; spinning in user space only".into(),
        }
    }
}

/// What a UDP receiver counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UdpCounts {
    /// Payload bytes received per interval of the measured window.
    pub interval_bytes: Vec<u64>,
    /// Distinct datagrams received (whole test).
    pub received: u64,
    /// Received twice or more.
    pub duplicates: u64,
    /// Arrived after a higher sequence number.
    pub out_of_order: u64,
    /// RFC 3550 jitter, ns.
    pub jitter_ns: f64,
    /// Payload bytes received inside the measured window.
    pub window_bytes: u64,
    /// Datagrams the receiving socket's full buffer dropped (Linux), part of the loss.
    pub socket_drops: Option<u64>,
}

/// Outcome of [`decode_frame`].
// A frame is decoded once per control message, never in a data loop: boxing the message to
// shrink `Incomplete` would add an allocation per frame for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// More bytes are needed; at least this many in total.
    Incomplete {
        /// Total bytes needed to make progress.
        needed: usize,
    },
    /// A whole frame.
    Frame {
        /// The message.
        message: Message,
        /// Bytes consumed from the input.
        consumed: usize,
    },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Declared length over the cap: rejected before reading or allocating the body.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Declared length.
        len: usize,
        /// Cap.
        max: usize,
    },
    /// Zero-length frame.
    #[error("empty frame")]
    Empty,
    /// The body is not a valid message.
    #[error("undecodable frame: {0}")]
    Malformed(String),
}

/// Reads the 4-byte length prefix and checks it against `max`.
pub fn frame_length(header: [u8; 4], max: usize) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header) as usize;
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(len)
}

/// Decodes a message body (the bytes after the length prefix).
pub fn decode_body(body: &[u8]) -> Result<Message, FrameError> {
    match postcard::take_from_bytes::<Message>(body) {
        Ok((message, [])) => check_numbers(&message).map(|()| message),
        Ok((_, rest)) => Err(FrameError::Malformed(format!(
            "{} trailing bytes after the message",
            rest.len()
        ))),
        Err(e) => Err(FrameError::Malformed(e.to_string())),
    }
}

/// What the types cannot say: a number that goes into a report must be finite and not
/// negative. Found by fuzzing: a peer's `Result` with a NaN jitter decoded, and would have made
/// the client's report unencodable (JSON has no NaN).
fn check_numbers(message: &Message) -> Result<(), FrameError> {
    if let Message::Reburst {
        quiet_below_bits_per_sec: rate,
    } = message
    {
        if !(rate.is_finite() && *rate >= 0.0) {
            return Err(FrameError::Malformed(format!(
                "a re-burst threshold of {rate} bit/s is not a finite, non-negative number"
            )));
        }
    }
    if let Message::Result(SideResult { udp: Some(udp), .. }) = message {
        if !(udp.jitter_ns.is_finite() && udp.jitter_ns >= 0.0) {
            return Err(FrameError::Malformed(format!(
                "jitter of {} ns is not a finite, non-negative number",
                udp.jitter_ns
            )));
        }
    }
    Ok(())
}

/// Sans-IO decoder: looks at buffered bytes and returns a message, a need for more, or an error.
pub fn decode_frame(buf: &[u8], max: usize) -> Result<Decoded, FrameError> {
    let Some(header) = buf.get(..4) else {
        return Ok(Decoded::Incomplete { needed: 4 });
    };
    let len = frame_length(header.try_into().expect("4 bytes"), max)?;
    let Some(body) = buf.get(4..4 + len) else {
        return Ok(Decoded::Incomplete { needed: 4 + len });
    };
    Ok(Decoded::Frame {
        message: decode_body(body)?,
        consumed: 4 + len,
    })
}

/// Encodes a message as one frame.
pub fn encode_frame(message: &Message) -> Vec<u8> {
    let body = postcard::to_stdvec(message).expect("messages always encode");
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request() -> TestRequest {
        TestRequest {
            kind: TestKind::TcpStream,
            duration_ms: 5000,
            omit_ms: 1000,
            interval_ms: 1000,
            streams: 4,
            flow: Flow::Bidirectional,
            message_bytes: 131072,
            response_bytes: 0,
            rate: Some(1_000_000_000),
            socket: SocketRequest {
                congestion: Some("cubic".into()),
                ..Default::default()
            },
            zerocopy: false,
            server_cpus: vec![1],
            receive_wait: ReceiveWait::Block,
            send_path: SendPath::Copy,
            request_timeout_ms: 100,
            baseline_hold_ms: Some(60_000),
            refill_idle_ms: vec![4_000, 20_000],
            busy_poll: true,
            rate_profile: vec![probe_core::contract::RateStep {
                bits_per_sec: 400_000_000,
                duration_ms: 2_000,
            }],
            latency_under_load: Some(50),
            shared_bucket: true,
        }
    }

    #[test]
    fn a_result_with_a_number_no_report_can_carry_is_malformed() {
        for jitter in [f64::NAN, f64::INFINITY, -1.0] {
            let message = Message::Result(SideResult {
                udp: Some(UdpCounts {
                    jitter_ns: jitter,
                    ..Default::default()
                }),
                ..Default::default()
            });
            let frame = encode_frame(&message);
            assert!(
                matches!(
                    decode_frame(&frame, MAX_CLIENT_FRAME_BYTES),
                    Err(FrameError::Malformed(why)) if why.contains("jitter")
                ),
                "{jitter}"
            );
        }
    }

    #[test]
    fn a_reburst_threshold_no_rate_can_be_is_malformed() {
        for rate in [f64::NAN, f64::NEG_INFINITY, -1.0] {
            let frame = encode_frame(&Message::Reburst {
                quiet_below_bits_per_sec: rate,
            });
            assert!(
                matches!(
                    decode_frame(&frame, MAX_CLIENT_FRAME_BYTES),
                    Err(FrameError::Malformed(why)) if why.contains("re-burst")
                ),
                "{rate}"
            );
        }
    }

    #[test]
    fn round_trip_every_kind_of_message() {
        let messages = [
            Message::ClientHello {
                magic: MAGIC,
                version: PROTOCOL_VERSION,
                nonce: [7; 32],
            },
            Message::Request(request()),
            Message::Refused(Refusal::Streams {
                requested: 500,
                cap: 128,
            }),
            Message::Result(SideResult {
                measured_ns: 1,
                streams: vec![StreamSide {
                    first_byte_ns: Some(5),
                    last_byte_ns: Some(9),
                    ..Default::default()
                }],
                udp: Some(UdpCounts::default()),
                busy_poll_socket: BusyPollSocket::Set { usec: 50 },
                round_trips: 7,
                moved_bytes: 1 << 40,
                interval_throttled_ns: Some(vec![0, 30_000_000]),
                interval_steal_ns: None,
                interval_retransmits: Some(vec![0, 3]),
                ..Default::default()
            }),
            Message::Reburst {
                quiet_below_bits_per_sec: 137.5e6,
            },
            Message::RefillEnd,
        ];
        for m in messages {
            let frame = encode_frame(&m);
            match decode_frame(&frame, MAX_SERVER_FRAME_BYTES).unwrap() {
                Decoded::Frame { message, consumed } => {
                    assert_eq!(message, m);
                    assert_eq!(consumed, frame.len());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn partial_input_is_incomplete() {
        let frame = encode_frame(&Message::Start);
        assert_eq!(
            decode_frame(&frame[..2], 1024),
            Ok(Decoded::Incomplete { needed: 4 })
        );
        assert_eq!(
            decode_frame(&frame[..4], 1024),
            Ok(Decoded::Incomplete {
                needed: frame.len()
            })
        );
    }

    #[test]
    fn oversize_length_is_refused_before_the_body_arrives() {
        let header = (1u32 << 30).to_be_bytes();
        assert_eq!(
            decode_frame(&header, MAX_CLIENT_FRAME_BYTES),
            Err(FrameError::TooLarge {
                len: 1 << 30,
                max: MAX_CLIENT_FRAME_BYTES
            })
        );
    }

    #[test]
    fn empty_and_trailing_garbage_are_errors() {
        assert_eq!(decode_frame(&[0, 0, 0, 0], 1024), Err(FrameError::Empty));
        let mut frame = encode_frame(&Message::Start);
        frame.push(0xff);
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(
            decode_frame(&frame, 1024),
            Err(FrameError::Malformed(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_frame(&bytes, MAX_CLIENT_FRAME_BYTES);
        }

        #[test]
        fn arbitrary_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 1..512)) {
            let mut frame = (bytes.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(&bytes);
            let _ = decode_frame(&frame, MAX_CLIENT_FRAME_BYTES);
        }
    }
}
