//! What a server allows, and the check of every request against it.
//!
//! The server is reachable inside a VPC, so a request is hostile until checked: every cap here
//! bounds memory, threads, time or bandwidth a client can make the server spend.

use std::time::Duration;

use crate::data::HEADER_BYTES;
use crate::protocol::{Flow, Refusal, TestKind, TestRequest};

/// Largest TCP write or request/response accepted (bounds per-stream buffers).
pub const MAX_MESSAGE_BYTES: u32 = 16 * 1024 * 1024;

/// Largest UDP payload over IPv4.
pub const MAX_DATAGRAM_BYTES: u32 = 65_507;

/// Caps a server enforces.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Longest test, warm-up included.
    pub max_duration: Duration,
    /// Most parallel streams in one test (each is a thread and a socket).
    pub max_streams: u32,
    /// Highest UDP rate in bit/s a client may ask the server to send or receive; an unlimited
    /// UDP rate is refused when the server sends.
    pub max_udp_rate_bits_per_sec: u64,
    /// Most tests served at once.
    pub max_concurrent_tests: u32,
    /// Deadline for each control-channel read before and between tests.
    pub control_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            // Fargate's network burst lasts 5-19 minutes; a test must be able to outlast it.
            max_duration: Duration::from_secs(1800),
            max_streams: 128,
            max_udp_rate_bits_per_sec: 25_000_000_000,
            max_concurrent_tests: 8,
            control_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerLimits {
    /// Checks a request; the refusal names the cap and the fix.
    pub fn check(&self, r: &TestRequest) -> Result<(), Refusal> {
        let invalid = |m: String| Err(Refusal::Invalid(m));
        let total_ms = r.duration_ms.saturating_add(r.omit_ms);
        let cap_ms = self.max_duration.as_millis() as u64;
        if total_ms > cap_ms {
            return Err(Refusal::Duration {
                requested_ms: total_ms,
                cap_ms,
            });
        }
        if r.duration_ms < 100 {
            return invalid(format!(
                "duration {} ms is under 100 ms; measure for longer",
                r.duration_ms
            ));
        }
        if r.interval_ms < 100 || r.interval_ms > r.duration_ms.max(100) {
            return invalid(format!(
                "interval {} ms must be at least 100 ms and at most the duration",
                r.interval_ms
            ));
        }
        let streams = match r.flow {
            Flow::Bidirectional => r.streams.saturating_mul(2),
            _ => r.streams,
        };
        if r.streams == 0 {
            return invalid("0 streams; use at least 1".into());
        }
        if streams > self.max_streams {
            return Err(Refusal::Streams {
                requested: streams,
                cap: self.max_streams,
            });
        }
        if r.kind.is_udp() && r.streams != 1 {
            return invalid(format!(
                "{} uses one socket pair; run several clients for more (got {} streams)",
                r.kind.name(),
                r.streams
            ));
        }
        if r.flow != Flow::Forward && r.kind != TestKind::TcpStream && r.kind != TestKind::UdpStream
        {
            return invalid(format!(
                "--reverse/--bidir do not apply to {}",
                r.kind.name()
            ));
        }
        if r.kind == TestKind::UdpStream && r.flow == Flow::Bidirectional {
            return invalid("udp-stream supports --reverse but not --bidir".into());
        }
        match r.kind {
            TestKind::TcpStream => {
                if r.message_bytes == 0 || r.message_bytes > MAX_MESSAGE_BYTES {
                    return invalid(format!(
                        "write size {} must be 1..={MAX_MESSAGE_BYTES} bytes",
                        r.message_bytes
                    ));
                }
            }
            TestKind::UdpStream => {
                if r.message_bytes < HEADER_BYTES as u32 || r.message_bytes > MAX_DATAGRAM_BYTES {
                    return invalid(format!(
                        "datagram size {} must be {HEADER_BYTES}..={MAX_DATAGRAM_BYTES} bytes",
                        r.message_bytes
                    ));
                }
                // Unlimited is allowed when the client sends (the server only receives what the
                // path delivers); the server never sends unpaced or above its cap.
                match r.rate {
                    None if r.flow == Flow::Forward => {}
                    Some(rate) if rate > 0 && rate <= self.max_udp_rate_bits_per_sec => {}
                    other => {
                        return Err(Refusal::Rate {
                            requested: other.unwrap_or(0),
                            cap: self.max_udp_rate_bits_per_sec,
                        })
                    }
                }
            }
            TestKind::TcpRr | TestKind::UdpRr | TestKind::TcpCrr => {
                let max = if r.kind == TestKind::UdpRr {
                    MAX_DATAGRAM_BYTES
                } else {
                    MAX_MESSAGE_BYTES
                };
                for (what, size) in [("request", r.message_bytes), ("response", r.response_bytes)] {
                    if size < HEADER_BYTES as u32 || size > max {
                        return invalid(format!(
                            "{what} size {size} must be {HEADER_BYTES}..={max} bytes"
                        ));
                    }
                }
                if let Some(rate) = r.rate {
                    if rate == 0 || rate > 10_000_000 {
                        return invalid(format!(
                            "open-loop rate {rate}/s must be 1..=10000000 transactions per second"
                        ));
                    }
                }
                if r.kind == TestKind::UdpRr
                    && (r.request_timeout_ms == 0 || r.request_timeout_ms > 10_000)
                {
                    return invalid("request timeout must be 1..=10000 ms".into());
                }
            }
        }
        if let Some(c) = &r.socket.congestion {
            if c.is_empty()
                || c.len() > 15
                || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return invalid(format!("congestion control name {c:?} is not valid"));
            }
        }
        if r.server_cpus.len() > 1024 {
            return invalid("too many server CPUs listed".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SocketRequest;

    fn req(kind: TestKind) -> TestRequest {
        TestRequest {
            kind,
            duration_ms: 1000,
            omit_ms: 0,
            interval_ms: 1000,
            streams: 1,
            flow: Flow::Forward,
            message_bytes: 128,
            response_bytes: 128,
            rate: Some(1_000_000),
            socket: SocketRequest::default(),
            zerocopy: false,
            server_cpus: vec![],
            receive_wait: crate::ReceiveWait::Auto,
            request_timeout_ms: 100,
        }
    }

    #[test]
    fn every_cap_names_itself() {
        let limits = ServerLimits {
            max_duration: Duration::from_secs(10),
            max_streams: 4,
            max_udp_rate_bits_per_sec: 1_000_000_000,
            ..Default::default()
        };
        let mut r = req(TestKind::TcpStream);
        assert!(limits.check(&r).is_ok());
        r.duration_ms = 20_000;
        assert!(matches!(limits.check(&r), Err(Refusal::Duration { .. })));
        let mut r = req(TestKind::TcpStream);
        r.streams = 3;
        r.flow = Flow::Bidirectional;
        assert!(matches!(
            limits.check(&r),
            Err(Refusal::Streams {
                requested: 6,
                cap: 4
            })
        ));
        let mut r = req(TestKind::UdpStream);
        r.rate = Some(2_000_000_000);
        assert!(matches!(limits.check(&r), Err(Refusal::Rate { .. })));
        r.rate = None;
        assert!(limits.check(&r).is_ok(), "unlimited when the client sends");
        r.flow = Flow::Reverse;
        assert!(matches!(
            limits.check(&r),
            Err(Refusal::Rate { requested: 0, .. })
        ));
        let mut r = req(TestKind::TcpRr);
        r.message_bytes = 4;
        assert!(matches!(limits.check(&r), Err(Refusal::Invalid(_))));
        let mut r = req(TestKind::TcpStream);
        r.socket.congestion = Some("../../etc".into());
        assert!(matches!(limits.check(&r), Err(Refusal::Invalid(_))));
    }
}
