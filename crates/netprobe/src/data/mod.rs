//! The data plane: blocking sockets on dedicated OS threads, buffers allocated before the clock
//! starts, one monotonic clock read per system call at most, no locks or formatting in a loop.

pub(crate) mod open_loop;
pub(crate) mod rr;
pub(crate) mod tcp_stream;
pub(crate) mod udp_stream;

use std::time::{Duration, Instant};

use crate::sys::RecvFlags;

/// Bytes every request/response and UDP datagram starts with: tag, sequence number, send time.
pub(crate) const HEADER_BYTES: usize = probe_core::contract::DATA_HEADER_BYTES as usize;

/// How long a sender keeps going past the window so the receiver's window is always full.
pub(crate) const SEND_TAIL: Duration = Duration::from_millis(100);

/// How long a polling receiver keeps trying an empty socket before it sleeps in the kernel.
/// Long enough to bridge the gaps of a busy stream (a 64 KiB GRO batch every ~50 us at
/// 10 Gbit/s), short enough that a slow or finished stream costs almost nothing.
pub(crate) const SPIN_BUDGET: Duration = Duration::from_micros(50);

/// How a bulk receiver waits, call by call: without `poll` every read blocks; with it, reads
/// return at once while data flows, and after [`SPIN_BUDGET`] of an empty socket the next read
/// blocks until data comes again.
pub(crate) struct ReceiveWaiter {
    poll: bool,
    flags: RecvFlags,
    empty_since: Option<Instant>,
}

impl ReceiveWaiter {
    pub(crate) fn new(poll: bool, discard: bool) -> Self {
        Self {
            poll,
            flags: RecvFlags {
                discard,
                dont_wait: poll,
            },
            empty_since: None,
        }
    }

    /// Flags for the next read.
    #[inline]
    pub(crate) fn flags(&self) -> RecvFlags {
        self.flags
    }

    /// A read returned data: poll again.
    #[inline]
    pub(crate) fn got_data(&mut self) {
        self.flags.dont_wait = self.poll;
        self.empty_since = None;
    }

    /// Whether `error` was a polling read finding the socket empty (then handled here: the next
    /// read blocks once the budget is spent); any other error is the caller's.
    #[inline]
    pub(crate) fn empty_poll(&mut self, error: &std::io::Error, now: Instant) -> bool {
        if !self.flags.dont_wait || error.kind() != std::io::ErrorKind::WouldBlock {
            return false;
        }
        let since = *self.empty_since.get_or_insert(now);
        if now.duration_since(since) >= SPIN_BUDGET {
            self.flags.dont_wait = false;
        }
        true
    }
}

/// The timing of one test on one side: warm-up, measured window and interval length, relative
/// to `t0`, the moment this side started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) t0: Instant,
    pub(crate) omit: Duration,
    pub(crate) duration: Duration,
    pub(crate) interval: Duration,
}

impl Window {
    pub(crate) fn start(&self) -> Instant {
        self.t0 + self.omit
    }

    pub(crate) fn end(&self) -> Instant {
        self.t0 + self.omit + self.duration
    }

    /// When senders stop.
    pub(crate) fn send_until(&self) -> Instant {
        self.end() + SEND_TAIL
    }

    pub(crate) fn interval_count(&self) -> usize {
        let n = self
            .duration
            .as_nanos()
            .div_ceil(self.interval.as_nanos().max(1));
        (n as usize).max(1)
    }

    /// Interval index of `t`, or `None` outside the measured window.
    #[inline]
    pub(crate) fn slot(&self, t: Instant) -> Option<usize> {
        let since = t.checked_duration_since(self.start())?;
        if since >= self.duration {
            return None;
        }
        // Called once per receive in the data plane: u64 division, not u128 (both fit: the
        // window is capped at hours).
        let interval_ns = (self.interval.as_nanos() as u64).max(1);
        Some((since.as_nanos() as u64 / interval_ns) as usize)
    }
}

/// Writes the datagram/request header.
#[inline]
pub(crate) fn write_header(buf: &mut [u8], tag: u64, seq: u64, ns: u64) {
    buf[0..8].copy_from_slice(&tag.to_le_bytes());
    buf[8..16].copy_from_slice(&seq.to_le_bytes());
    buf[16..24].copy_from_slice(&ns.to_le_bytes());
}

/// Reads the header; `None` if the buffer is too short.
#[inline]
pub(crate) fn read_header(buf: &[u8]) -> Option<(u64, u64, u64)> {
    let field = |r: std::ops::Range<usize>| Some(u64::from_le_bytes(buf.get(r)?.try_into().ok()?));
    Some((field(0..8)?, field(8..16)?, field(16..24)?))
}

/// The cookie's first 8 bytes as the tag carried by every datagram.
pub(crate) fn tag_of(cookie: &[u8; 16]) -> u64 {
    u64::from_le_bytes(cookie[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slots_exclude_warm_up_and_tail() {
        let t0 = Instant::now();
        let w = Window {
            t0,
            omit: Duration::from_secs(1),
            duration: Duration::from_secs(3),
            interval: Duration::from_secs(1),
        };
        assert_eq!(w.interval_count(), 3);
        assert_eq!(w.slot(t0 + Duration::from_millis(500)), None);
        assert_eq!(w.slot(t0 + Duration::from_millis(1000)), Some(0));
        assert_eq!(w.slot(t0 + Duration::from_millis(3999)), Some(2));
        assert_eq!(w.slot(t0 + Duration::from_millis(4000)), None);
    }

    #[test]
    fn header_round_trip() {
        let mut buf = [0u8; 32];
        write_header(&mut buf, 1, 2, 3);
        assert_eq!(read_header(&buf), Some((1, 2, 3)));
        assert_eq!(read_header(&buf[..10]), None);
    }
}
