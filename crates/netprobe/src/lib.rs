//! `netprobe`: network throughput and latency between two hosts, measured as carefully as
//! iperf3, netperf and sockperf, and reported through `probe-core`.
//!
//! A server ([`serve`]) accepts control connections; a client ([`run_test`]) agrees a test with
//! it, both sides run their half on dedicated data-plane threads with blocking sockets and
//! preallocated buffers, and the client's [`probe_core::Report`] carries both sides' figures.
//!
//! * Control channel: length-prefixed `postcard` frames with a hard size cap checked before
//!   allocating ([`protocol`]), a version handshake, and with a pre-shared key a mutual
//!   HMAC-SHA256 proof over fresh nonces ([`auth`]). Every read has a deadline; the server caps
//!   duration, streams, UDP rate and concurrent tests ([`ServerLimits`]) and names the cap when it
//!   refuses.
//! * Tests: `tcp-stream` (parallel, reverse, bidirectional, zero-copy), `udp-stream` (paced,
//!   loss, duplicates, reordering, RFC 3550 jitter), `tcp-rr`, `udp-rr` (per-request timeout),
//!   `tcp-crr`, and open-loop request/response with coordinated-omission correction.
//! * Token buckets: bulk tests can run until the baseline holds (`baseline_hold_ms`), and a
//!   `tcp-stream` refill test (`refill_idle_ms`) drains the bucket, idles, and bursts again to
//!   measure how fast it refills ([`probe_core::refill`]); a shared-bucket test
//!   (`shared_bucket`) drains one direction, then runs the other on the same session, to say
//!   whether both draw on one bucket ([`probe_core::bucket_sharing`]).
//! * Bulk receivers poll rather than sleep when each data thread has a CPU of its own
//!   ([`ReceiveWait`]): the wake-up a sleeping receiver needs is paid on the sender's CPU, and
//!   on a 2-vCPU VM it cost a quarter of loopback TCP throughput.
//! * `tcp-stream` senders splice their payload by default ([`SendPath`]): the pages of one
//!   write go to the socket by reference (`tee` + `splice` from a pipe), the same bytes in the
//!   same segments as a copying `write`, for a quarter to a third less sender CPU per byte. Under
//!   a quarter-vCPU quota per side that lifted loopback TCP from 1.1x to 1.6x iperf3; `copy`
//!   measures what an application that copies would spend, and the report names the path each
//!   side took.
//!
//! # Example
//!
//! ```no_run
//! use netprobe::{run_test, serve, ClientConfig, ServerConfig, TestRequest};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let server = tokio::spawn(serve(listener, ServerConfig::default(), std::future::pending));
//! let request = TestRequest::tcp_stream(std::time::Duration::from_secs(2));
//! let report = run_test(&ClientConfig::new(addr.to_string(), request)).await?;
//! println!("{} bit/s", report.metrics.throughput[0].bits_per_sec);
//! # server.abort();
//! # Ok(()) }
//! ```
//!
//! # Platform specific behavior
//! TCP_INFO, pinning, per-thread CPU time, spliced sends and `--zerocopy` are Linux-only;
//! elsewhere the report leaves those facts out, `--send-path auto` copies (and says why), and
//! pinning, `--send-path splice` or zero-copy requests fail with a clear error.
#![deny(missing_docs)]

pub mod auth;
mod bucket_sharing;
mod client;
mod conn;
mod data;
pub mod error;
pub mod guard;
#[cfg(test)]
mod handshake_tests;
pub mod limits;
mod loaded_latency;
pub mod protocol;
mod refill;
pub mod report;
mod server;
mod session;
mod sys;
mod until;

pub use auth::PreSharedKey;
pub use client::{run_test, ClientConfig, DEFAULT_PORT};
pub use error::{NetError, Result};
pub use limits::ServerLimits;
pub use probe_core::contract::{ClientOptions, RequestCaps};
pub use protocol::{Flow, ReceiveWait, SendPath, SocketRequest, TestKind, TestRequest};
pub use server::{serve, ServeSummary, ServerConfig, StopSwitch, DEFAULT_DRAIN};

/// Resolves on Ctrl-C or SIGTERM: what a server or client binary stops on.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
