//! Until-baseline: a bulk test that ends itself once the token bucket ran out and the baseline
//! held. The receiving side watches its own interval counts ([`decide`] reads them with
//! [`probe_core::regime::detect`]); when the baseline has held long enough it ends its window
//! at the end of the interval in progress and tells the sending side with [`Message::Stop`],
//! which ends its own window there too. Both sides' caps still bound the test.
//!
//! A refill test's re-bursts end the same way, by another rule ([`StopRule::Quiet`]): once the
//! rate has stayed below a threshold set from the drain for the hold.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::{JoinError, JoinHandle};

use crate::conn::Control;
use crate::data::Window;
use crate::error::Result;
use crate::protocol::{Flow, Message, TestRequest};
use crate::session::{End, SideOutput};
use probe_core::regime::{self, DetectorConfig, Sample};

/// When a receiving side ends a test early.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StopRule {
    /// Once a burst then a baseline is seen and the baseline has held this long ([`decide`]).
    Baseline(Duration),
    /// A refill test's re-burst: once every interval of the last `hold` ran below
    /// `below_bits_per_sec` ([`probe_core::refill::back_at_baseline`]).
    Quiet {
        hold: Duration,
        below_bits_per_sec: f64,
    },
}

impl StopRule {
    /// `Some(measured length)` to end at, from the bytes of the intervals completed so far.
    fn decide(&self, completed: &[u64], interval: Duration) -> Option<Duration> {
        match *self {
            StopRule::Baseline(hold) => decide(completed, interval, hold),
            StopRule::Quiet {
                hold,
                below_bits_per_sec,
            } => {
                let ns = interval.as_nanos() as u64;
                probe_core::refill::back_at_baseline(
                    completed,
                    ns,
                    hold.as_nanos() as u64,
                    below_bits_per_sec,
                )
                .then(|| Duration::from_nanos((completed.len() as u64 + 1) * ns))
            }
        }
    }
}

/// What this side does while the data plane runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Role {
    /// A fixed-length test: nothing.
    Neither,
    /// This side receives: watch the series, and stop both once the rule says so.
    Watch(StopRule),
    /// This side sends: apply the peer's `Stop`.
    Listen,
}

impl Role {
    /// The role of `end` in a test's first (or only) phase.
    pub(crate) fn of(req: &TestRequest, end: End) -> Role {
        match req.baseline_hold_ms {
            Some(hold) => {
                Role::with_rule(req, end, StopRule::Baseline(Duration::from_millis(hold)))
            }
            None => Role::Neither,
        }
    }

    /// The role of `end` when the receiver stops by `rule`.
    pub(crate) fn with_rule(req: &TestRequest, end: End, rule: StopRule) -> Role {
        if receiver(req) == end {
            Role::Watch(rule)
        } else {
            Role::Listen
        }
    }
}

/// The end that receives in a one-direction bulk test.
pub(crate) fn receiver(req: &TestRequest) -> End {
    if req.flow == Flow::Reverse {
        End::Client
    } else {
        End::Server
    }
}

/// From the bytes of the intervals completed so far: `Some(measured length)` to end at (the
/// end of the interval in progress) once a burst then a baseline is seen and the baseline has
/// held `hold`.
pub(crate) fn decide(completed: &[u64], interval: Duration, hold: Duration) -> Option<Duration> {
    let ns = interval.as_nanos() as u64;
    let series: Vec<Sample> = completed
        .iter()
        .enumerate()
        .map(|(i, bytes)| Sample {
            start_ns: i as u64 * ns,
            duration_ns: ns,
            bits_per_sec: *bytes as f64 * 8.0 * 1e9 / ns as f64,
        })
        .collect();
    let found = regime::detect(&series, &DetectorConfig::default());
    let b = found.burst_baseline()?;
    (b.baseline_held_ns >= hold.as_nanos() as u64)
        .then(|| Duration::from_nanos((completed.len() as u64 + 1) * ns))
}

/// Resolves with the measured length to end at once `rule` says so; checks after every
/// interval.
async fn watch(window: Window, rule: StopRule) -> Duration {
    loop {
        tokio::time::sleep(window.interval).await;
        let done = window.completed(std::time::Instant::now());
        if let Some(measured) = rule.decide(&done, window.interval) {
            return measured;
        }
    }
}

type DataResult = std::result::Result<std::io::Result<SideOutput>, JoinError>;

/// Waits for this side's data plane while playing `role`. A listening side that
/// `waits_for_peer` (the client) keeps reading until the peer's next message after its `Stop`s,
/// which it returns; no frame is ever abandoned half-read.
pub(crate) async fn await_data<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut Control<S>,
    window: &Window,
    role: Role,
    data: JoinHandle<std::io::Result<SideOutput>>,
    waits_for_peer: bool,
    deadline: Duration,
) -> Result<(DataResult, Option<Message>)> {
    tokio::pin!(data);
    match role {
        Role::Neither => Ok((data.await, None)),
        Role::Watch(rule) => {
            let watcher = watch(window.clone(), rule);
            tokio::pin!(watcher);
            let mut told = false;
            loop {
                tokio::select! {
                    out = &mut data => return Ok((out, None)),
                    measured = &mut watcher, if !told => {
                        window.stop_after(measured);
                        control.send(&Message::Stop {
                            measured_ms: measured.as_millis() as u64,
                        }).await?;
                        told = true;
                    }
                }
            }
        }
        Role::Listen => {
            let mut output = None;
            loop {
                let message = {
                    let recv = control.recv(deadline, "the peer's stop or result");
                    tokio::pin!(recv);
                    loop {
                        tokio::select! {
                            biased;
                            m = &mut recv => break Some(m?),
                            out = &mut data, if output.is_none() => {
                                output = Some(out);
                                // The peer says nothing more to a side that does not wait
                                // for it: a pending read holds no part of a frame.
                                if !waits_for_peer {
                                    break None;
                                }
                            }
                        }
                    }
                };
                match message {
                    None => return Ok((output.expect("data finished"), None)),
                    Some(Message::Stop { measured_ms }) => {
                        window.stop_after(Duration::from_millis(measured_ms));
                    }
                    Some(other) => {
                        let out = match output {
                            Some(out) => out,
                            None => data.await,
                        };
                        return Ok((out, Some(other)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn stops_at_the_end_of_the_interval_once_the_baseline_held() {
        // 8 s at 50 MB/s (400 Mbit/s), then 6.25 MB/s (50 Mbit/s).
        let mut done = vec![50_000_000u64; 8];
        done.extend(vec![6_250_000u64; 4]);
        assert_eq!(decide(&done, S, 5 * S), None, "held 4 s of 5");
        done.push(6_250_000);
        assert_eq!(decide(&done, S, 5 * S), Some(14 * S));
    }

    #[test]
    fn a_flat_series_never_stops_early() {
        let done = vec![25_000_000u64; 600];
        assert_eq!(decide(&done, S, 60 * S), None);
    }

    #[test]
    fn roles_follow_the_direction() {
        let mut r = TestRequest::tcp_stream(Duration::from_secs(100));
        assert_eq!(Role::of(&r, End::Server), Role::Neither);
        r.baseline_hold_ms = Some(10_000);
        let hold = Role::Watch(StopRule::Baseline(10 * S));
        assert_eq!(Role::of(&r, End::Server), hold);
        assert_eq!(Role::of(&r, End::Client), Role::Listen);
        r.flow = Flow::Reverse;
        assert_eq!(Role::of(&r, End::Client), hold);
        assert_eq!(Role::of(&r, End::Server), Role::Listen);
        let quiet = StopRule::Quiet {
            hold: 3 * S,
            below_bits_per_sec: 1e8,
        };
        assert_eq!(Role::with_rule(&r, End::Client, quiet), Role::Watch(quiet));
        assert_eq!(Role::with_rule(&r, End::Server, quiet), Role::Listen);
    }

    #[test]
    fn a_reburst_stops_once_the_rate_stayed_low_for_the_hold() {
        let rule = StopRule::Quiet {
            hold: 2 * S,
            below_bits_per_sec: 137.5e6,
        };
        // 1 s intervals: 50 MB is 400 Mbit/s, 6.25 MB is 50.
        let mut done = vec![50_000_000u64, 6_250_000];
        assert_eq!(rule.decide(&done, S), None);
        done.push(6_250_000);
        assert_eq!(
            rule.decide(&done, S),
            Some(4 * S),
            "the interval in progress ends it"
        );
        // No refill at all: the hold alone.
        assert_eq!(rule.decide(&[6_250_000; 2], S), Some(3 * S));
    }
}
