//! The data plane: blocking sockets on dedicated OS threads, buffers allocated before the clock
//! starts, one monotonic clock read per system call at most, no locks or formatting in a loop.

pub(crate) mod busy;
pub(crate) mod load_probe;
pub(crate) mod open_loop;
pub(crate) mod paced_stream;
pub(crate) mod pacing;
pub(crate) mod rr;
pub(crate) mod tcp_stream;
pub(crate) mod udp_stream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) t0: Instant,
    pub(crate) omit: Duration,
    /// The measured window asked for (with until-baseline, its cap).
    pub(crate) duration: Duration,
    pub(crate) interval: Duration,
    /// Until-baseline only: the agreed end, which can move earlier, and the bytes received per
    /// interval so far, which the receiving side's watcher reads while the test runs.
    pub(crate) live: Option<Arc<Live>>,
    /// Start of the session on this side (the first phase's `t0`; a refill test runs several
    /// phases): receivers' first and last byte times count from it.
    pub(crate) epoch: Instant,
}

/// The shared, moving part of an until-baseline window.
#[derive(Debug)]
pub(crate) struct Live {
    measured_ns: AtomicU64,
    bytes: Box<[AtomicU64]>,
}

impl Window {
    /// A window of fixed length.
    pub(crate) fn fixed(
        t0: Instant,
        omit: Duration,
        duration: Duration,
        interval: Duration,
    ) -> Self {
        Self {
            t0,
            omit,
            duration,
            interval,
            live: None,
            epoch: t0,
        }
    }

    /// The same window in a session that started at `epoch`.
    pub(crate) fn in_session(mut self, epoch: Instant) -> Self {
        self.epoch = epoch;
        self
    }

    /// Nanoseconds from the session's start to `t` (0 before it).
    pub(crate) fn since_epoch_ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// A window that may end early (until-baseline), counting received bytes where a watcher
    /// can read them.
    pub(crate) fn live(t0: Instant, omit: Duration, cap: Duration, interval: Duration) -> Self {
        let mut w = Self::fixed(t0, omit, cap, interval);
        w.live = Some(Arc::new(Live {
            measured_ns: AtomicU64::new(cap.as_nanos() as u64),
            bytes: (0..w.interval_count()).map(|_| AtomicU64::new(0)).collect(),
        }));
        w
    }

    /// The measured length: asked for, or agreed shorter.
    #[inline]
    pub(crate) fn measured(&self) -> Duration {
        match &self.live {
            None => self.duration,
            Some(l) => Duration::from_nanos(l.measured_ns.load(Ordering::Relaxed)),
        }
    }

    /// Ends the measured window after `measured` (never later than it was).
    pub(crate) fn stop_after(&self, measured: Duration) {
        if let Some(l) = &self.live {
            l.measured_ns
                .fetch_min(measured.as_nanos() as u64, Ordering::Relaxed);
        }
    }

    /// Adds `n` received bytes to interval `slot` where a watcher reads them.
    #[inline]
    pub(crate) fn publish(&self, slot: usize, n: u64) {
        if let Some(l) = &self.live {
            l.bytes[slot].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Bytes received in each interval that has ended by `now` (empty without a live window).
    pub(crate) fn completed(&self, now: Instant) -> Vec<u64> {
        let Some(l) = &self.live else {
            return Vec::new();
        };
        let done = match self.slot(now) {
            Some(current) => current,
            None if now >= self.end() => l.bytes.len(),
            None => 0,
        };
        l.bytes[..done.min(l.bytes.len())]
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    pub(crate) fn start(&self) -> Instant {
        self.t0 + self.omit
    }

    pub(crate) fn end(&self) -> Instant {
        self.start() + self.measured()
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
        if since >= self.measured() {
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
        let w = Window::fixed(
            t0,
            Duration::from_secs(1),
            Duration::from_secs(3),
            Duration::from_secs(1),
        );
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

    #[test]
    fn a_live_window_ends_where_agreed_and_publishes_completed_intervals() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let w = Window::live(t0, s(1), s(10), s(1));
        assert_eq!(w.interval_count(), 10);
        w.publish(0, 100);
        w.publish(1, 200);
        w.publish(1, 5);
        // 1 s of warm-up, then intervals 0 and 1 are over at 3.5 s.
        assert_eq!(
            w.completed(t0 + s(3) + Duration::from_millis(500)),
            [100, 205]
        );
        assert!(w.completed(t0).is_empty());
        w.stop_after(s(4));
        w.stop_after(s(6)); // never later than agreed
        assert_eq!(w.measured(), s(4));
        assert_eq!(w.end(), t0 + s(5));
        assert_eq!(w.slot(t0 + s(4) + Duration::from_millis(999)), Some(3));
        assert_eq!(w.slot(t0 + s(5)), None);
        assert_eq!(
            w.completed(t0 + s(9)).len(),
            10,
            "all of it once the window is over"
        );
        let fixed = Window::fixed(t0, s(1), s(10), s(1));
        fixed.stop_after(s(4));
        assert_eq!(fixed.measured(), s(10), "a fixed window does not move");
    }
}
