//! The open-loop schedule, shared by the TCP and UDP request/response clients: request `seq`
//! is *intended* to leave at `t0 + seq x period`, whatever happened to earlier ones, and its
//! round trip is counted from that intended time (coordinated-omission correction), with the
//! round trip from the actual send time kept beside it. Pure arithmetic on `Instant`s and
//! nanosecond offsets, so it is tested against hand-computed schedules.

use std::io;
use std::time::{Duration, Instant};

use super::Window;

/// When each request of an open-loop client should leave.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    t0: Instant,
    end: Instant,
    period_ns: f64,
}

/// The two round trips of one answered request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoundTrip {
    /// From the intended send time: what a user of a fixed-rate service waits.
    pub(crate) corrected_ns: u64,
    /// From the actual send time: what a closed-loop tool would report.
    pub(crate) uncorrected_ns: u64,
}

impl Schedule {
    /// `rate` requests per second from the window's `t0` to its end.
    pub(crate) fn new(window: &Window, rate: f64) -> Self {
        Self {
            t0: window.t0,
            end: window.end(),
            period_ns: 1e9 / rate,
        }
    }

    /// Nanoseconds after `t0` at which request `seq` is due.
    #[inline]
    pub(crate) fn intended_ns(&self, seq: u64) -> u64 {
        (seq as f64 * self.period_ns) as u64
    }

    /// When request `seq` is due, or `None` once that is past the window's end.
    #[inline]
    pub(crate) fn intended_at(&self, seq: u64) -> Option<Instant> {
        let at = self.t0 + Duration::from_nanos(self.intended_ns(seq));
        (at < self.end).then_some(at)
    }

    /// The round trips of request `seq`, sent `actual_ns` and answered `now_ns` after `t0`.
    #[inline]
    pub(crate) fn round_trip(&self, seq: u64, actual_ns: u64, now_ns: u64) -> RoundTrip {
        RoundTrip {
            corrected_ns: now_ns.saturating_sub(self.intended_ns(seq)),
            uncorrected_ns: now_ns.saturating_sub(actual_ns),
        }
    }

    /// Sends every request at its intended time (late ones at once, never skipped: their
    /// lateness is what the correction charges) until the window ends. `send(seq, actual_ns)`
    /// writes request `seq`. Returns how many were sent and how many of those were due inside
    /// the measured window.
    pub(crate) fn drive(
        &self,
        window: &Window,
        mut send: impl FnMut(u64, u64) -> io::Result<()>,
    ) -> io::Result<(u64, u64)> {
        let mut seq = 0u64;
        let mut in_window = 0u64;
        while let Some(intended) = self.intended_at(seq) {
            wait_until(intended);
            send(seq, ns_since(self.t0, Instant::now()))?;
            in_window += u64::from(window.slot(intended).is_some());
            seq += 1;
        }
        Ok((seq, in_window))
    }
}

/// Starts the sending half of an open-loop client on its own thread: request `seq` (its header
/// stamped with `tag`, `seq` and the actual send time) goes out through `send` at its intended
/// time; `finish` runs once the schedule is done (a TCP half-close). The thread returns what
/// [`Schedule::drive`] does.
pub(crate) fn spawn_sender(
    schedule: Schedule,
    window: Window,
    tag: u64,
    mut request: Vec<u8>,
    mut send: impl FnMut(&[u8]) -> io::Result<()> + Send + 'static,
    finish: impl FnOnce() -> io::Result<()> + Send + 'static,
) -> std::thread::JoinHandle<io::Result<(u64, u64)>> {
    std::thread::spawn(move || {
        let sent = schedule.drive(&window, |seq, actual_ns| {
            super::write_header(&mut request, tag, seq, actual_ns);
            send(&request)
        })?;
        finish()?;
        Ok(sent)
    })
}

/// Nanoseconds from `t0` to `t`.
#[inline]
pub(crate) fn ns_since(t0: Instant, t: Instant) -> u64 {
    t.duration_since(t0).as_nanos() as u64
}

/// Paces open-loop sends: sleeps while the next send is far, yields when it is near.
#[inline]
fn wait_until(t: Instant) {
    loop {
        let now = Instant::now();
        if now >= t {
            return;
        }
        let wait = t - now;
        if wait > Duration::from_millis(1) {
            std::thread::sleep(wait - Duration::from_micros(500));
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use probe_core::LatencyHistogram;

    use super::*;

    fn window(secs: u64) -> Window {
        Window::fixed(
            Instant::now(),
            Duration::ZERO,
            Duration::from_secs(secs),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn requests_are_due_on_the_period_and_none_after_the_end() {
        let w = window(1);
        let s = Schedule::new(&w, 1000.0);
        assert_eq!(s.intended_ns(0), 0);
        assert_eq!(s.intended_ns(3), 3_000_000);
        assert_eq!(s.intended_at(999), Some(w.t0 + Duration::from_millis(999)));
        // The window ends at 1 s plus the send tail; nothing is due after it.
        let last = (0..)
            .take_while(|seq| s.intended_at(*seq).is_some())
            .count() as u64;
        assert_eq!(Some(s.intended_ns(last - 1)), Some((last - 1) * 1_000_000));
        assert!(s.intended_at(last).is_none());
        // A period that is not a whole number of ns does not drift: 3/s lands on 1 s exactly.
        let s = Schedule::new(&w, 3.0);
        assert_eq!(s.intended_ns(3), 1_000_000_000);
    }

    #[test]
    fn a_late_request_is_charged_from_when_it_was_due() {
        let s = Schedule::new(&window(1), 1000.0);
        // Request 2 was due at 2 ms, left at 9.5 ms (the sender stalled) and was answered at
        // 10 ms: a user waited 8 ms, the wire took 0.5 ms.
        assert_eq!(
            s.round_trip(2, 9_500_000, 10_000_000),
            RoundTrip {
                corrected_ns: 8_000_000,
                uncorrected_ns: 500_000
            }
        );
    }

    /// A 50 ms stall at 1000 requests/s delays 50 requests; each is charged what it waited,
    /// from 50 ms down to 1 ms, where a closed-loop count would see one slow request.
    #[test]
    fn a_stall_is_charged_to_every_request_it_delayed() {
        let s = Schedule::new(&window(1), 1000.0);
        let (mut corrected, mut uncorrected) = (LatencyHistogram::new(), LatencyHistogram::new());
        let stall = (10_000_000u64, 60_000_000u64);
        for seq in 0..200u64 {
            let due = s.intended_ns(seq);
            let sent = if (stall.0..stall.1).contains(&due) {
                stall.1
            } else {
                due
            };
            let rt = s.round_trip(seq, sent, sent + 100_000);
            corrected.record(rt.corrected_ns);
            uncorrected.record(rt.uncorrected_ns);
        }
        let over_1ms = |h: &LatencyHistogram| {
            let summary = h.summary().unwrap();
            (summary.max_ns, summary.p99_ns)
        };
        let (max, p99) = over_1ms(&corrected);
        assert!((50_000_000..50_200_000).contains(&max), "{max}");
        assert!(
            p99 > 45_000_000,
            "{p99}: the stall is a quarter of the requests"
        );
        let (max, _) = over_1ms(&uncorrected);
        assert!(max < 200_000, "{max}: every wire round trip was 0.1 ms");
    }
}
