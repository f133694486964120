//! When a paced sender's datagrams fall due: an absolute schedule from `t0`, as iperf3 keeps
//! its rate (what has been sent never runs ahead of what the rate allows since the start, and
//! a sender that wakes late sends what it owes). A constant rate is a one-step [`RateProfile`];
//! a rate profile (the simulation truth test's offered traffic) is several steps on the same
//! code. Pure arithmetic on nanoseconds and `Instant`s, tested with made-up instants.
//!
//! Rates times nanoseconds are kept exactly as "nanobits" (a bit is 10^9 of them) in `u128`,
//! so a long schedule never drifts from its rate by rounding.

use std::time::{Duration, Instant};

/// One step of a [`RateProfile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    /// Nanoseconds after `t0` at which this step starts.
    start_ns: u64,
    bits_per_sec: u64,
    /// Nanobits due before this step starts.
    due_before: u128,
}

/// A rate over time, piecewise constant from `t0`; the last step lasts forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RateProfile {
    steps: Vec<Step>,
}

impl RateProfile {
    /// The same rate from `t0` on.
    pub(crate) fn constant(bits_per_sec: u64) -> Self {
        Self::from_steps(&[], bits_per_sec)
    }

    /// `(duration_ns, bits_per_sec)` steps one after the other, then silence.
    pub(crate) fn stepped(steps: &[(u64, u64)]) -> Self {
        Self::from_steps(steps, 0)
    }

    /// What a request's sender follows: its rate profile, else its fixed rate; `None` to send
    /// as fast as the path allows.
    pub(crate) fn of_request(req: &probe_core::contract::TestRequest) -> Option<Self> {
        if req.rate_profile.is_empty() {
            return req.rate.map(Self::constant);
        }
        let steps: Vec<(u64, u64)> = req
            .rate_profile
            .iter()
            .map(|s| (s.duration_ms.saturating_mul(1_000_000), s.bits_per_sec))
            .collect();
        Some(Self::stepped(&steps))
    }

    fn from_steps(steps: &[(u64, u64)], then_bits_per_sec: u64) -> Self {
        let mut out = Vec::with_capacity(steps.len() + 1);
        let (mut start_ns, mut due) = (0u64, 0u128);
        for &(duration_ns, bits_per_sec) in steps {
            out.push(Step {
                start_ns,
                bits_per_sec,
                due_before: due,
            });
            due += u128::from(bits_per_sec) * u128::from(duration_ns);
            start_ns = start_ns.saturating_add(duration_ns);
        }
        out.push(Step {
            start_ns,
            bits_per_sec: then_bits_per_sec,
            due_before: due,
        });
        Self { steps: out }
    }

    /// The step in force `elapsed_ns` after `t0`.
    #[inline]
    fn step_at(&self, elapsed_ns: u64) -> &Step {
        let i = self.steps.partition_point(|s| s.start_ns <= elapsed_ns);
        &self.steps[i.saturating_sub(1)]
    }

    /// Nanobits due by `elapsed_ns` after `t0`.
    #[inline]
    pub(crate) fn due_by(&self, elapsed_ns: u64) -> u128 {
        let s = self.step_at(elapsed_ns);
        s.due_before + u128::from(s.bits_per_sec) * u128::from(elapsed_ns - s.start_ns)
    }

    /// The first nanosecond after `t0` by which `nanobits` are due, or `None` if never.
    pub(crate) fn when_due(&self, nanobits: u128) -> Option<u64> {
        // The last step whose start has less than `nanobits` due: the amount is reached in it.
        let i = self.steps.partition_point(|s| s.due_before < nanobits);
        let Some(s) = i.checked_sub(1).map(|i| &self.steps[i]) else {
            return Some(0);
        };
        if s.bits_per_sec == 0 {
            return None; // only the open-ended last step can have nothing more to give
        }
        let ns = (nanobits - s.due_before).div_ceil(u128::from(s.bits_per_sec));
        Some(
            s.start_ns
                .saturating_add(u64::try_from(ns).unwrap_or(u64::MAX)),
        )
    }
}

/// How long a paced sender with nothing owed sleeps at least: below this gap between datagrams
/// it works in batches (sleeps, then sends everything that fell due), so a 1 Gbit/s stream
/// costs a fraction of a core in wake-ups.
pub(crate) const BATCH_SLEEP: Duration = Duration::from_micros(500);

/// How far behind its schedule a paced sender still catches up. A sender on a loaded 2-vCPU
/// host is descheduled for tens of ms at a time (two busy loops beside a 300 Mbit/s stream);
/// giving up what fell due meanwhile (the old 10 ms limit) sent 254 instead of 300 Mbit/s. Only
/// a sender short of CPU for longer than this gives slots up, and the report says so.
pub(crate) const CATCH_UP_HORIZON: Duration = Duration::from_millis(250);

/// The absolute schedule of a paced sender: datagram `k` (counting those sent and those given
/// up) is due once the profile has `k` datagrams and a bit due, so what was sent never exceeds
/// the profile by more than one datagram, and a late wake-up owes everything that fell due
/// since. What is owed goes out in bursts of at most `max_burst`, back to back until caught up.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    t0: Instant,
    profile: RateProfile,
    /// Nanobits of one datagram.
    unit: u128,
    max_burst: u64,
    horizon_ns: u64,
    sent: u64,
    skipped: u64,
}

impl Pacer {
    pub(crate) fn new(
        t0: Instant,
        profile: RateProfile,
        datagram_bytes: usize,
        max_burst: u64,
    ) -> Self {
        Self {
            t0,
            profile,
            unit: (datagram_bytes.max(1) as u128) * 8 * 1_000_000_000,
            max_burst: max_burst.max(1),
            horizon_ns: CATCH_UP_HORIZON.as_nanos() as u64,
            sent: 0,
            skipped: 0,
        }
    }

    /// A sender that never gives anything up, however far behind (a TCP sender following a
    /// profile: what the path could not take waits, as in an application's queue).
    pub(crate) fn catching_up_everything(mut self) -> Self {
        self.horizon_ns = u64::MAX;
        self
    }

    /// Datagrams due by `elapsed_ns` after `t0` (sent, given up or owed).
    #[inline]
    fn due_count(&self, elapsed_ns: u64) -> u64 {
        u64::try_from(self.profile.due_by(elapsed_ns).div_ceil(self.unit)).unwrap_or(u64::MAX)
    }

    #[inline]
    fn elapsed_ns(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.t0).as_nanos()).unwrap_or(u64::MAX)
    }

    /// How many datagrams to send now: what is owed, at most `max_burst`. Slots that fell due
    /// more than [`CATCH_UP_HORIZON`] ago are given up first (counted in [`Self::skipped`]).
    #[inline]
    pub(crate) fn take(&mut self, now: Instant) -> u64 {
        let elapsed = self.elapsed_ns(now);
        let stale = self.due_count(elapsed.saturating_sub(self.horizon_ns));
        let done = self.sent + self.skipped;
        if stale > done {
            self.skipped += stale - done;
        }
        let owed = self
            .due_count(elapsed)
            .saturating_sub(self.sent + self.skipped);
        let n = owed.min(self.max_burst);
        self.sent += n;
        n
    }

    /// How long to sleep before the next [`Self::take`]: nothing while datagrams are owed, else
    /// until the next one is due but at least [`BATCH_SLEEP`]; `None` when the profile has
    /// nothing more to send.
    pub(crate) fn sleep_after(&self, now: Instant) -> Option<Duration> {
        let elapsed = self.elapsed_ns(now);
        let done = self.sent + self.skipped;
        if self.due_count(elapsed) > done {
            return Some(Duration::ZERO);
        }
        let next_ns = self.profile.when_due(u128::from(done) * self.unit + 1)?;
        Some(Duration::from_nanos(next_ns.saturating_sub(elapsed)).max(BATCH_SLEEP))
    }

    /// Closes the schedule at `end` (the send deadline): what fell due by then and was never
    /// sent counts as given up, so sent plus given up is the whole schedule.
    pub(crate) fn finish(&mut self, end: Instant) {
        let due = self.due_count(self.elapsed_ns(end));
        self.skipped += due.saturating_sub(self.sent + self.skipped);
    }

    /// Datagrams sent.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Send slots given up: fallen further behind than the horizon, or still owed at the end.
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// 40 Mbit/s of 1000-byte datagrams: one every 200 us, 5000 a second.
    fn pacer_40m(t0: Instant, max_burst: u64) -> Pacer {
        Pacer::new(t0, RateProfile::constant(40_000_000), 1000, max_burst)
    }

    fn at(t0: Instant, ns: u64) -> Instant {
        t0 + Duration::from_nanos(ns)
    }

    #[test]
    fn a_constant_rate_is_due_one_datagram_per_gap_without_drift() {
        let t0 = Instant::now();
        let mut p = pacer_40m(t0, u64::MAX);
        assert_eq!(p.take(t0), 0, "nothing is due at t0 itself");
        assert_eq!(p.take(at(t0, 1)), 1, "the first one just after");
        assert_eq!(p.take(at(t0, 200_000)), 0, "the second is due past 200 us");
        assert_eq!(p.take(at(t0, 200_001)), 1);
        // 200 ms in: exactly 1000 due, never more than the rate allows plus one datagram.
        assert_eq!(p.take(at(t0, 200 * MS)), 998);
        assert_eq!(p.sent(), 1000);
        // A rate that is not a whole number of ns per datagram does not drift: 3 datagrams of
        // 1 byte a second at 24 bit/s are due by 1 s, 3000 by 1000 s.
        let p = Pacer::new(t0, RateProfile::constant(24), 1, 1);
        assert_eq!(p.due_count(1000 * MS), 3);
        assert_eq!(p.due_count(1_000_000 * MS), 3000);
    }

    /// Issue 21, item 6: a sender descheduled for 100 ms owes 500 datagrams and sends them all,
    /// in bursts of at most `max_burst`, with no sleep until it has caught up.
    #[test]
    fn a_late_wake_up_sends_everything_it_owes_in_bounded_bursts() {
        let t0 = Instant::now();
        let mut p = pacer_40m(t0, 64);
        assert_eq!(p.take(at(t0, 1)), 1);
        let late = at(t0, 100 * MS + 1);
        let mut bursts = Vec::new();
        while p.sleep_after(late) == Some(Duration::ZERO) {
            bursts.push(p.take(late));
        }
        assert_eq!(bursts.iter().sum::<u64>(), 500);
        assert!(bursts.iter().all(|b| *b <= 64), "{bursts:?}");
        assert_eq!(p.skipped(), 0);
        assert_eq!(p.sent(), 501, "every slot due by 100 ms, none skipped");
        // Caught up: the next one is due at the next gap.
        assert_eq!(p.take(late), 0);
        assert_eq!(
            p.sleep_after(late),
            Some(Duration::from_micros(200).max(BATCH_SLEEP))
        );
    }

    #[test]
    fn only_slots_older_than_the_horizon_are_given_up() {
        let t0 = Instant::now();
        let mut p = pacer_40m(t0, u64::MAX);
        let horizon = CATCH_UP_HORIZON.as_nanos() as u64;
        // Descheduled for a full second: 5000 due, the last 250 ms of them (1250) are sent.
        assert_eq!(p.take(at(t0, 1000 * MS)), 1250);
        assert_eq!(p.skipped(), 3750);
        assert_eq!(
            p.sent() + p.skipped(),
            5000,
            "every slot sent or given up, none twice"
        );
        // Within the horizon nothing is given up, nor ever by a sender that keeps a backlog.
        let mut q = pacer_40m(t0, u64::MAX);
        assert_eq!(q.take(at(t0, horizon)), 1250);
        assert_eq!(q.skipped(), 0);
        let mut backlog = pacer_40m(t0, u64::MAX).catching_up_everything();
        assert_eq!(backlog.take(at(t0, 1000 * MS)), 5000);
        assert_eq!(backlog.skipped(), 0);
    }

    #[test]
    fn what_is_still_owed_at_the_end_counts_as_given_up() {
        let t0 = Instant::now();
        let mut p = pacer_40m(t0, 10);
        assert_eq!(p.take(at(t0, 10 * MS)), 10, "50 due, a burst of 10 sent");
        p.finish(at(t0, 10 * MS));
        assert_eq!((p.sent(), p.skipped()), (10, 40));
    }

    #[test]
    fn a_slow_rate_sleeps_until_the_next_datagram_and_a_fast_one_batches() {
        let t0 = Instant::now();
        // 1 Mbit/s of 1000 bytes: one every 8 ms.
        let mut slow = Pacer::new(t0, RateProfile::constant(1_000_000), 1000, 64);
        assert_eq!(slow.take(at(t0, 1)), 1);
        assert_eq!(
            slow.sleep_after(at(t0, 3 * MS)),
            Some(Duration::from_nanos(5 * MS + 1))
        );
        let mut fast = pacer_40m(t0, 64);
        assert_eq!(fast.take(at(t0, 1)), 1);
        assert_eq!(fast.sleep_after(at(t0, 1)), Some(BATCH_SLEEP));
        // An absurd rate still paces, in bursts, never dividing by zero.
        let mut flat_out = Pacer::new(t0, RateProfile::constant(u64::MAX), 1, 64);
        assert_eq!(flat_out.take(at(t0, 1000)), 64);
    }

    #[test]
    fn a_stepped_profile_is_due_step_by_step_then_falls_silent() {
        // 100 ms at 80 Mbit/s (1 MB), 100 ms of nothing, 100 ms at 8 Mbit/s (100 kB).
        let profile =
            RateProfile::stepped(&[(100 * MS, 80_000_000), (100 * MS, 0), (100 * MS, 8_000_000)]);
        let bits = |ns| profile.due_by(ns) / 1_000_000_000;
        assert_eq!(bits(50 * MS), 4_000_000);
        assert_eq!(bits(100 * MS), 8_000_000);
        assert_eq!(bits(150 * MS), 8_000_000, "the pause adds nothing");
        assert_eq!(bits(250 * MS), 8_400_000);
        assert_eq!(bits(300 * MS), 8_800_000);
        assert_eq!(bits(10_000 * MS), 8_800_000, "silent after the last step");
        // The next bit after the first step is due as the third starts, then never after it.
        assert_eq!(profile.when_due(8_000_000 * 1_000_000_000), Some(100 * MS));
        assert_eq!(
            profile.when_due(8_000_000 * 1_000_000_000 + 1),
            Some(200 * MS + 1)
        );
        assert_eq!(profile.when_due(8_800_000 * 1_000_000_000 + 1), None);
        assert_eq!(profile.when_due(0), Some(0));

        let t0 = Instant::now();
        let mut p = Pacer::new(t0, profile, 1000, u64::MAX);
        assert_eq!(p.take(at(t0, 150 * MS)), 1000, "the first step's 1 MB");
        // Nothing owed in the pause: sleep until the third step starts.
        assert_eq!(
            p.sleep_after(at(t0, 150 * MS)),
            Some(Duration::from_nanos(50 * MS + 1))
        );
        assert_eq!(p.take(at(t0, 300 * MS)), 100);
        assert_eq!(p.sleep_after(at(t0, 300 * MS)), None, "the profile is over");
    }
}
