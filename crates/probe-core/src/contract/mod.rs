//! The contract between the probes and the controller, in one place.
//!
//! Everything a probe and the controller must agree on lives here, so that a suite the
//! controller accepts is never refused by a probe after tasks were launched (on ECS, after they
//! were paid for):
//!
//! * the network test kinds, directions and receive-wait modes ([`TestKind`], [`Flow`],
//!   [`ReceiveWait`]) and the request a client sends ([`TestRequest`]) with its one check
//!   ([`TestRequest::validate`]) and a server's caps ([`RequestCaps`]);
//! * how flags and suite entries become a request ([`ClientOptions`]) and the probe arguments
//!   that carry them;
//! * `k`/`M`/`G` quantities and times like `30s` ([`quantity`]);
//! * the server's port, its readiness line, the environment variable of the pre-shared key
//!   and how per-run keys are made;
//! * what crosses the control channel about sockets ([`SocketReadback`], [`TcpInfoReadback`],
//!   [`CpuTimes`]).

mod options;
pub mod quantity;
pub mod rate_profile;
mod readback;
mod request;

pub use options::{defaults, ClientOptions, LOADED_CONGESTION};
pub use rate_profile::RateStep;
pub use readback::{CpuTimes, SocketReadback, TcpInfoReadback};
pub use request::{
    Flow, ReceiveWait, Refusal, RequestCaps, SendPath, SocketRequest, TestKind, TestRequest,
    DATA_HEADER_BYTES, MAX_DATAGRAM_BYTES, MAX_INTERVAL_MS, MAX_LOAD_PROBES,
    MAX_LOAD_PROBES_PER_SEC, MAX_MESSAGE_BYTES, MAX_OPEN_LOOP_RATE, MAX_REFILL_IDLES,
    MIN_BASELINE_SAMPLES, MIN_REFILL_IDLE_MS,
};

/// The control port a netprobe server listens on unless told otherwise.
pub const NETPROBE_PORT: u16 = 5301;

/// The environment variable that carries the pre-shared key (never the command line, where
/// `ps` and task definitions would show it).
pub const PSK_ENV: &str = "NETPROBE_PSK";

/// What a netprobe server prints on stderr, before the address, once it accepts clients.
const READY_PREFIX: &str = "netprobe server listening on ";

/// The line a netprobe server prints once it accepts clients.
pub fn server_ready_line(addr: &str, key_required: bool, once: bool) -> String {
    format!(
        "{READY_PREFIX}{addr}{}{}",
        if key_required { " (key required)" } else { "" },
        if once { ", one test" } else { "" }
    )
}

/// Whether an output line says the server accepts clients: the one readiness rule every
/// backend uses.
pub fn is_server_ready_line(line: &str) -> bool {
    line.trim_start().starts_with(READY_PREFIX)
}

/// Length in bytes of the keys the controller makes for each item.
pub const KEY_BYTES: usize = 32;

/// A fresh random key of [`KEY_BYTES`] bytes, hex-encoded, as the controller gives each server
/// and client pair.
pub fn random_key_hex() -> String {
    let bytes: [u8; KEY_BYTES] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_is_recognised_and_nothing_else() {
        let line = server_ready_line("0.0.0.0:5301", true, true);
        assert_eq!(
            line,
            "netprobe server listening on 0.0.0.0:5301 (key required), one test"
        );
        assert!(is_server_ready_line(&line));
        assert!(is_server_ready_line(&format!("  {line}")));
        assert!(!is_server_ready_line("client: listening on nothing"));
    }

    #[test]
    fn keys_are_fresh_and_long() {
        let (a, b) = (random_key_hex(), random_key_hex());
        assert_eq!(a.len(), 2 * KEY_BYTES);
        assert_ne!(a, b);
    }
}
