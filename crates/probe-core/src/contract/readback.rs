//! What a data socket really did, as it crosses netprobe's control channel.
//!
//! The wire format (`postcard`) is not self-describing, so these structs carry every field on
//! every message (no skipped `None`s), unlike the JSON report types they convert into.

use serde::{Deserialize, Serialize};

use crate::report::{SocketSettings, TcpInfoSnapshot};

/// Socket options read back after setting them (the kernel doubles and clamps).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketReadback {
    /// `SO_SNDBUF`, if it could be read.
    pub send_buffer_bytes: Option<u64>,
    /// `SO_RCVBUF`, if it could be read.
    pub recv_buffer_bytes: Option<u64>,
    /// `TCP_MAXSEG` (TCP only).
    pub mss_bytes: Option<u64>,
    /// `TCP_NODELAY` (TCP only).
    pub no_delay: Option<bool>,
    /// `TCP_CONGESTION` (TCP only).
    pub congestion: Option<String>,
}

impl From<SocketReadback> for SocketSettings {
    fn from(s: SocketReadback) -> Self {
        SocketSettings {
            send_buffer_bytes: s.send_buffer_bytes,
            recv_buffer_bytes: s.recv_buffer_bytes,
            mss_bytes: s.mss_bytes,
            no_delay: s.no_delay,
            congestion: s.congestion,
        }
    }
}

/// The parts of Linux `TCP_INFO` that explain a throughput figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpInfoReadback {
    /// Segments retransmitted over the connection's life.
    pub total_retransmits: u64,
    /// Smoothed round-trip time.
    pub srtt_ns: u64,
    /// Round-trip time variation.
    pub rttvar_ns: u64,
    /// Congestion window in segments.
    pub snd_cwnd_segments: u64,
    /// Sender MSS.
    pub snd_mss_bytes: u64,
    /// Path MTU.
    pub pmtu_bytes: u64,
    /// The kernel's delivery-rate estimate, when it has one.
    pub delivery_rate_bits_per_sec: Option<u64>,
}

impl From<TcpInfoReadback> for TcpInfoSnapshot {
    fn from(t: TcpInfoReadback) -> Self {
        TcpInfoSnapshot {
            total_retransmits: t.total_retransmits,
            srtt_ns: t.srtt_ns,
            rttvar_ns: t.rttvar_ns,
            snd_cwnd_segments: t.snd_cwnd_segments,
            snd_mss_bytes: t.snd_mss_bytes,
            pmtu_bytes: t.pmtu_bytes,
            delivery_rate_bits_per_sec: t.delivery_rate_bits_per_sec,
        }
    }
}

/// CPU time a side's data threads spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTimes {
    /// User time.
    pub user_ns: u64,
    /// System time.
    pub system_ns: u64,
    /// Times a data thread slept and had to be woken (voluntary context switches): a blocking
    /// round trip costs each side about one, a busy-polling one none.
    pub voluntary_switches: u64,
}
