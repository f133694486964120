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
    congestion, pin_current_thread, receive_drops, recv, send_dont_wait, set_busy_poll,
    set_congestion, set_udp_segment, tcp_info, thread_cpu_time,
};

/// CPU time a thread used, split like `getrusage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTime {
    pub(crate) user_ns: u64,
    pub(crate) system_ns: u64,
    /// Voluntary context switches: how often the thread slept.
    pub(crate) voluntary_switches: u64,
}

impl CpuTime {
    pub(crate) fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user_ns: self.user_ns.saturating_sub(earlier.user_ns),
            system_ns: self.system_ns.saturating_sub(earlier.system_ns),
            voluntary_switches: self
                .voluntary_switches
                .saturating_sub(earlier.voluntary_switches),
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

/// Makes large buffers come from their own mappings, so freeing one returns it to the system.
/// glibc raises its mmap threshold after the first large free (up to 32 MiB), after which
/// 16 MiB test buffers came from the heap and a server kept 0.4-1.4 GB after a `-P 128 -l 16M`
/// test; a fixed threshold stops that. musl maps large allocations already.
pub(crate) fn map_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; any value is accepted or refused by it.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

/// Hands freed heap memory back to the system after a test (glibc keeps it otherwise).
pub(crate) fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of the heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}
