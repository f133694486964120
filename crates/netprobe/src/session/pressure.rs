//! CPU pressure on one side, per interval of the measured window: how long the side's cgroup
//! was throttled by its CPU quota and how much time the hypervisor stole from the host's CPUs.
//! A thread that sleeps between interval boundaries reads the counters, so no data thread ever
//! reads a file; the report then tells a drop the CPU caused from one the network caused. The
//! same thread reads the segments the side's TCP senders retransmitted (`TCP_INFO`), so a
//! drop the path caused shows in the interval it happened in.

use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

use probe_core::host::{cpu_stat_files, read_steal_ns, CpuStat};

use crate::data::Window;

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Throttled time of each watched `cpu.stat` (own cgroup, then ancestors); `None` where
    /// one could not be read.
    pub(crate) throttled_ns: Option<Vec<u64>>,
    /// Steal time of all CPUs.
    pub(crate) steal_ns: Option<u64>,
    /// Segments retransmitted so far by the side's TCP senders, summed; `None` when it sends
    /// on no TCP stream or `TCP_INFO` cannot be read.
    pub(crate) retransmits: Option<u64>,
}

/// Where readings come from: the host, or a test's script.
pub(crate) trait Counters {
    fn read(&self) -> Reading;
}

/// This process's cgroup, `/proc/stat` and the side's sending TCP sockets.
pub(crate) struct HostCounters {
    files: Vec<PathBuf>,
    senders: Vec<RawFd>,
}

impl HostCounters {
    /// `senders`: the TCP sockets this side sends a stream on, open while sampling runs.
    pub(crate) fn new(senders: Vec<RawFd>) -> Self {
        Self {
            files: cpu_stat_files(),
            senders,
        }
    }
}

impl Counters for HostCounters {
    fn read(&self) -> Reading {
        let throttled_ns = (!self.files.is_empty())
            .then(|| {
                self.files
                    .iter()
                    .map(|f| CpuStat::read_file(f).map(|s| s.throttled_ns))
                    .collect::<Option<Vec<u64>>>()
            })
            .flatten();
        let retransmits = (!self.senders.is_empty())
            .then(|| {
                self.senders
                    .iter()
                    .map(|fd| crate::sys::tcp_info(*fd).map(|t| t.total_retransmits))
                    .sum::<Option<u64>>()
            })
            .flatten();
        Reading {
            throttled_ns,
            steal_ns: read_steal_ns(),
            retransmits,
        }
    }
}

/// Per-interval throttled and stolen time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pressure {
    pub(crate) throttled_ns: Option<Vec<u64>>,
    pub(crate) steal_ns: Option<Vec<u64>>,
    pub(crate) retransmits: Option<Vec<u64>>,
}

/// Growth of the counters between consecutive readings (taken at the window's start and at
/// the end of each interval). Throttling is the largest growth among the watched cgroups (the
/// one whose quota bit); a counter that could not be read at some boundary leaves its series
/// out rather than guessing.
pub(crate) fn per_interval(readings: &[Reading]) -> Pressure {
    let pairs = || readings.windows(2).map(|w| (&w[0], &w[1]));
    let throttled_ns = pairs()
        .map(|(a, b)| match (&a.throttled_ns, &b.throttled_ns) {
            (Some(a), Some(b)) if a.len() == b.len() => Some(
                a.iter()
                    .zip(b)
                    .map(|(a, b)| b.saturating_sub(*a))
                    .max()
                    .unwrap_or(0),
            ),
            _ => None,
        })
        .collect::<Option<Vec<u64>>>();
    let steal_ns = pairs()
        .map(|(a, b)| Some(b.steal_ns?.saturating_sub(a.steal_ns?)))
        .collect::<Option<Vec<u64>>>();
    let retransmits = pairs()
        .map(|(a, b)| Some(b.retransmits?.saturating_sub(a.retransmits?)))
        .collect::<Option<Vec<u64>>>();
    let some = |v: Option<Vec<u64>>| v.filter(|v| !v.is_empty());
    Pressure {
        throttled_ns: some(throttled_ns),
        steal_ns: some(steal_ns),
        retransmits: some(retransmits),
    }
}

/// Reads `counters` at the window's start and at the end of each of its intervals (the last
/// one at the window's end, which an until-baseline window may move earlier), sleeping in
/// between; stops early, with the intervals read so far, once `stop` is told or dropped (the
/// data threads are done).
pub(crate) fn sample(window: &Window, counters: &dyn Counters, stop: &Receiver<()>) -> Pressure {
    let mut readings = Vec::with_capacity(window.interval_count() + 1);
    for k in 0..=window.interval_count() as u32 {
        let end = window.end();
        let boundary = (window.start() + window.interval * k).min(end);
        let now = Instant::now();
        if boundary > now {
            match stop.recv_timeout(boundary - now) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => break,
            }
        }
        readings.push(counters.read());
        if boundary >= end {
            break;
        }
    }
    per_interval(&readings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    fn reading(throttled: &[u64], steal: Option<u64>) -> Reading {
        Reading {
            throttled_ns: Some(throttled.to_vec()),
            steal_ns: steal,
            retransmits: None,
        }
    }

    #[test]
    fn each_interval_gets_the_growth_of_the_cgroup_that_was_throttled() {
        // Two cgroups watched (own, then the task's); the task's quota is the one that bites.
        let readings = [
            reading(&[0, 1_000], Some(0)),
            reading(&[0, 51_000], Some(10_000_000)),
            reading(&[5, 51_000], Some(10_000_000)),
        ];
        let p = per_interval(&readings);
        assert_eq!(p.throttled_ns, Some(vec![50_000, 5]));
        assert_eq!(p.steal_ns, Some(vec![10_000_000, 0]));
        assert_eq!(p.retransmits, None, "no sender watched");
    }

    #[test]
    fn retransmits_are_counted_in_the_interval_they_grew_in() {
        let with = |n| Reading {
            retransmits: Some(n),
            ..reading(&[0], Some(0))
        };
        let p = per_interval(&[with(3), with(3), with(10), with(12)]);
        assert_eq!(p.retransmits, Some(vec![0, 7, 2]));
    }

    #[test]
    fn a_counter_missing_at_any_boundary_leaves_its_series_out() {
        let mut gone = reading(&[7], None);
        gone.throttled_ns = None;
        let p = per_interval(&[reading(&[0], Some(0)), gone, reading(&[9], Some(5))]);
        assert_eq!(p, Pressure::default());
        assert_eq!(per_interval(&[reading(&[0], Some(0))]), Pressure::default());
    }

    /// Counters that grow by one step per reading.
    struct Steps(Cell<u64>);

    impl Counters for Steps {
        fn read(&self) -> Reading {
            let n = self.0.get();
            self.0.set(n + 1);
            reading(&[n * 1_000], Some(n * 10))
        }
    }

    #[test]
    fn sampling_reads_at_the_start_and_each_interval_end_then_stops() {
        let ms = Duration::from_millis;
        let window = Window::fixed(Instant::now(), ms(20), ms(250), ms(100));
        let (_tell, stop) = std::sync::mpsc::channel();
        let started = Instant::now();
        let p = sample(&window, &Steps(Cell::new(0)), &stop);
        // Intervals 0-100, 100-200 and the partial 200-250 ms.
        assert_eq!(p.throttled_ns, Some(vec![1_000; 3]));
        assert_eq!(p.steal_ns, Some(vec![10; 3]));
        assert!(started.elapsed() >= ms(270), "{:?}", started.elapsed());
    }

    #[test]
    fn sampling_stops_when_the_data_threads_are_done() {
        let window = Window::fixed(
            Instant::now(),
            Duration::ZERO,
            Duration::from_secs(60),
            Duration::from_secs(1),
        );
        let (tell, stop) = std::sync::mpsc::channel::<()>();
        drop(tell);
        let started = Instant::now();
        let p = sample(&window, &Steps(Cell::new(0)), &stop);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(p, Pressure::default(), "one reading has no interval");
    }
}
