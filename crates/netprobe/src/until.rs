//! Until-baseline: a bulk test that ends itself once the token bucket ran out and the baseline
//! held. The receiving side watches its own interval counts ([`decide`] reads them with
//! [`probe_core::regime::detect`]); when the baseline has held long enough it ends its window
//! at the end of the interval in progress and tells the sending side with [`Message::Stop`],
//! which ends its own window there too. Both sides' caps still bound the test.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::{JoinError, JoinHandle};

use crate::conn::Control;
use crate::data::Window;
use crate::error::Result;
use crate::protocol::{Flow, Message, TestRequest};
use crate::session::{End, SideOutput};
use probe_core::regime::{self, DetectorConfig, Sample};

/// What this side does while the data plane runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Role {
    /// A fixed-length test: nothing.
    Neither,
    /// This side receives: watch for the baseline, hold it this long, then stop both.
    Watch(Duration),
    /// This side sends: apply the peer's `Stop`.
    Listen,
}

impl Role {
    pub(crate) fn of(req: &TestRequest, end: End) -> Role {
        let Some(hold) = req.baseline_hold_ms else {
            return Role::Neither;
        };
        let receiver = if req.flow == Flow::Reverse {
            End::Client
        } else {
            End::Server
        };
        if receiver == end {
            Role::Watch(Duration::from_millis(hold))
        } else {
            Role::Listen
        }
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

/// Resolves with the measured length to end at once [`decide`] says so; checks after every
/// interval.
async fn watch(window: Window, hold: Duration) -> Duration {
    loop {
        tokio::time::sleep(window.interval).await;
        let done = window.completed(std::time::Instant::now());
        if let Some(measured) = decide(&done, window.interval, hold) {
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
        Role::Watch(hold) => {
            let watcher = watch(window.clone(), hold);
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
        assert_eq!(Role::of(&r, End::Server), Role::Watch(10 * S));
        assert_eq!(Role::of(&r, End::Client), Role::Listen);
        r.flow = Flow::Reverse;
        assert_eq!(Role::of(&r, End::Client), Role::Watch(10 * S));
        assert_eq!(Role::of(&r, End::Server), Role::Listen);
    }
}
