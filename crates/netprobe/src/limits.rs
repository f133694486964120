//! What a server allows, and the check of every request against it.
//!
//! The server is reachable inside a VPC, so a request is hostile until checked: every cap here
//! bounds memory, threads, time or bandwidth a client can make the server spend.

use std::time::Duration;

use probe_core::contract::RequestCaps;

use crate::protocol::{Refusal, TestRequest};

pub use probe_core::contract::{MAX_DATAGRAM_BYTES, MAX_MESSAGE_BYTES};

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
    /// Bytes of test buffers ([`TestRequest::server_buffer_bytes`]) all running tests may hold
    /// together; a test that would pass it is refused with [`Refusal::Memory`].
    pub memory_budget_bytes: u64,
}

/// The default memory budget: half of what this process may use (its cgroup's limit, else the
/// host's memory), so tests' buffers never take a task to its limit; 256 MiB when unknown.
pub fn default_memory_budget() -> u64 {
    probe_core::host::memory_limit_bytes().map_or(256 << 20, |limit| limit / 2)
}

impl Default for ServerLimits {
    fn default() -> Self {
        let caps = RequestCaps::default();
        Self {
            max_duration: Duration::from_millis(caps.max_duration_ms),
            max_streams: caps.max_streams,
            max_udp_rate_bits_per_sec: caps.max_udp_rate_bits_per_sec,
            max_concurrent_tests: 8,
            control_timeout: Duration::from_secs(10),
            memory_budget_bytes: default_memory_budget(),
        }
    }
}

impl ServerLimits {
    /// The caps a request is checked against.
    pub fn caps(&self) -> RequestCaps {
        RequestCaps {
            max_duration_ms: u64::try_from(self.max_duration.as_millis()).unwrap_or(u64::MAX),
            max_streams: self.max_streams,
            max_udp_rate_bits_per_sec: self.max_udp_rate_bits_per_sec,
        }
    }

    /// Checks a request: [`TestRequest::validate`], then these caps; the refusal names the cap
    /// and the fix.
    ///
    /// # Errors
    /// The [`Refusal`] sent to the client.
    pub fn check(&self, r: &TestRequest) -> Result<(), Refusal> {
        self.caps().check(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_caps_are_the_contract_defaults_and_apply() {
        let limits = ServerLimits::default();
        assert_eq!(limits.caps(), RequestCaps::default());
        let mut r = TestRequest::tcp_stream(Duration::from_secs(1));
        r.streams = 2;
        let small = ServerLimits {
            max_streams: 1,
            ..Default::default()
        };
        assert!(matches!(
            small.check(&r),
            Err(Refusal::Streams {
                requested: 2,
                cap: 1
            })
        ));
    }
}
