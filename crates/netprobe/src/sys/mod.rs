//! Platform-specific socket and thread facilities behind one face.
//!
//! Linux gets the real thing (`TCP_INFO`, `sched_setaffinity`, per-thread CPU time, zero-copy
//! sends by `vmsplice`/`tee`/`splice` or `sendfile`, `MSG_TRUNC` receives). Elsewhere every function degrades: it returns `None` or
//! an "unsupported on this platform" error, and the business logic never needs a `cfg`.

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod imp;

#[cfg(target_os = "linux")]
mod zerocopy;
#[cfg(target_os = "linux")]
pub(crate) use zerocopy::{send_zero_copy, ZeroCopySource};

#[cfg(not(target_os = "linux"))]
#[path = "fallback.rs"]
mod imp;
#[cfg(not(target_os = "linux"))]
pub(crate) use imp::{send_zero_copy, ZeroCopySource};

pub(crate) use imp::{
    congestion, pin_current_thread, receive_drops, recv, send_dont_wait, set_congestion, tcp_info,
    thread_cpu_time,
};

/// CPU time a thread used, split like `getrusage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTime {
    pub(crate) user_ns: u64,
    pub(crate) system_ns: u64,
}

impl CpuTime {
    pub(crate) fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user_ns: self.user_ns.saturating_sub(earlier.user_ns),
            system_ns: self.system_ns.saturating_sub(earlier.system_ns),
        }
    }
}

/// Flags for [`recv`] on a data socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RecvFlags {
    /// Consume without copying (`MSG_TRUNC`); Linux only.
    pub(crate) discard: bool,
    /// Return `WouldBlock` instead of sleeping (`MSG_DONTWAIT`).
    pub(crate) dont_wait: bool,
}
