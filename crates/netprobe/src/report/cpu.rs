//! The CPU side of a report: what each side spent per byte or per round trip, how a round trip
//! waited, and which intervals were short of CPU (see [`super::cpu_bound`]).

use probe_core::report::{CpuUsage, Role};
use probe_core::units::format_bits_per_sec;
use probe_core::Report;

use super::cpu_bound::{self, Point, SidePressure};
use crate::protocol::{BusyPollSocket, SideResult, TestKind, TestRequest};

/// One side's CPU time, with its cost per byte (bulk tests) or per round trip (rr tests).
/// Per-interval series are cut to `max_intervals`: a peer's result is not trusted to be
/// shaped like the window.
pub(super) fn cpu_usage(
    side: Role,
    result: &SideResult,
    kind: TestKind,
    effective_cpus: f64,
    max_intervals: usize,
) -> CpuUsage {
    let wall_ns = result.measured_ns;
    let used_ns = result.cpu.user_ns.saturating_add(result.cpu.system_ns);
    let used = used_ns as f64;
    let share =
        (wall_ns > 0 && effective_cpus > 0.0).then(|| used / (wall_ns as f64 * effective_cpus));
    let finite = |v: f64| Some(v).filter(|v| v.is_finite());
    let bulk = kind.is_bulk() && result.moved_bytes > 0;
    let rr = !kind.is_bulk() && result.round_trips > 0;
    let series = |v: &Option<Vec<u64>>| {
        v.as_deref()
            .map(|v| v.iter().take(max_intervals).copied().collect())
            .unwrap_or_default()
    };
    CpuUsage {
        side,
        user_ns: result.cpu.user_ns,
        system_ns: result.cpu.system_ns,
        wall_ns,
        share_of_quota: share.and_then(finite),
        voluntary_switches: Some(result.cpu.voluntary_switches),
        moved_bytes: bulk.then_some(result.moved_bytes),
        // ns per byte is s per 10^9 bytes.
        cpu_seconds_per_gb: bulk
            .then(|| used / result.moved_bytes as f64)
            .and_then(finite),
        round_trips: rr.then_some(result.round_trips),
        cpu_ns_per_round_trip: rr
            .then(|| used / result.round_trips as f64)
            .and_then(finite),
        interval_throttled_ns: series(&result.interval_throttled_ns),
        interval_steal_ns: series(&result.interval_steal_ns),
    }
}

/// Marks the report's intervals that were short of CPU and adds a warning for each drop that
/// coincides with throttling or steal (per direction for bulk tests; transactions for rr).
pub(super) fn mark_cpu_bound(report: &mut Report) {
    let names: Vec<&'static str> = report
        .metrics
        .cpu
        .iter()
        .map(|c| match c.side {
            Role::Server => "server",
            _ => "client",
        })
        .collect();
    let sides: Vec<SidePressure<'_>> = report
        .metrics
        .cpu
        .iter()
        .zip(names)
        .map(|(c, side)| SidePressure {
            side,
            throttled_ns: &c.interval_throttled_ns,
            steal_ns: &c.interval_steal_ns,
        })
        .collect();
    let mut directions: Vec<_> = report.intervals.iter().map(|i| i.direction).collect();
    directions.sort();
    directions.dedup();
    let mut verdicts = Vec::new();
    for direction in directions {
        let members: Vec<usize> = (0..report.intervals.len())
            .filter(|i| report.intervals[*i].direction == direction)
            .collect();
        let points: Vec<Point> = members
            .iter()
            .map(|i| {
                let s = &report.intervals[*i];
                Point {
                    start_ns: s.start_ns,
                    duration_ns: s.duration_ns,
                    value: s.transactions.map_or(s.bits_per_sec, |t| t as f64),
                }
            })
            .collect();
        let verdict = if direction.is_some() {
            cpu_bound::classify("throughput", &points, &sides, &format_bits_per_sec)
        } else {
            cpu_bound::classify("transaction count", &points, &sides, &|v| {
                format!("{v:.0} per interval")
            })
        };
        verdicts.push((members, verdict));
    }
    for (members, verdict) in verdicts {
        for (i, bound) in members.into_iter().zip(verdict.cpu_bound) {
            report.intervals[i].cpu_bound = bound;
        }
        report.warnings.extend(verdict.warnings);
    }
}

/// Says how the round trips waited and, for busy-poll tests, what `SO_BUSY_POLL` did on each
/// side; warns when spinning competed with a fractional CPU quota or, on one host, with its
/// own peer for a CPU.
pub(super) fn set_wait_parameters(
    report: &mut Report,
    req: &TestRequest,
    client: Option<&SideResult>,
    server: Option<&SideResult>,
    loopback: bool,
) {
    if !matches!(req.kind, TestKind::TcpRr | TestKind::UdpRr) {
        return;
    }
    report.set_parameter("busy_poll", req.busy_poll);
    report.set_parameter(
        "rr_wait",
        if req.busy_poll {
            "busy-poll"
        } else {
            "blocking"
        },
    );
    if !req.busy_poll {
        return;
    }
    for (name, side) in [("client", client), ("server", server)] {
        if let Some(s) = side.filter(|s| s.busy_poll_socket != BusyPollSocket::NotAsked) {
            report.set_parameter(
                &format!("{name}_so_busy_poll"),
                s.busy_poll_socket.describe(),
            );
        }
    }
    if let (true, Some(c), Some(s)) = (loopback, client, server) {
        if let Some(cpu) = c.pinned_cpus.iter().find(|cpu| s.pinned_cpus.contains(cpu)) {
            report.warnings.push(format!(
                "busy-poll with both sides on CPU {cpu}: each spinner holds the CPU its peer \
                 needs until the scheduler preempts it, so round trips take time slices; give \
                 each side a CPU of its own (--cpus, --server-cpus)"
            ));
        }
    }
    let cpus = report.host.effective_cpus;
    if cpus > 0.0 && cpus < 1.0 {
        report.warnings.push(format!(
            "busy-poll under a CPU quota of {cpus:.2} CPUs: the spinning side spends its quota \
             waiting and is throttled, which adds latency; blocking (without --busy-poll) suits \
             fractional-vCPU tasks"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_core::contract::CpuTimes;
    use probe_core::report::{Direction, IntervalSample};

    fn side(moved: u64, round_trips: u64) -> SideResult {
        SideResult {
            measured_ns: 2_000_000_000,
            cpu: CpuTimes {
                user_ns: 100_000_000,
                system_ns: 400_000_000,
                voluntary_switches: 3,
            },
            moved_bytes: moved,
            round_trips,
            interval_throttled_ns: Some(vec![1, 2, 3, 4, 5]),
            ..Default::default()
        }
    }

    #[test]
    fn a_bulk_side_costs_seconds_per_gb_and_an_rr_side_ns_per_round_trip() {
        let c = cpu_usage(
            Role::Client,
            &side(2_000_000_000, 0),
            TestKind::TcpStream,
            1.0,
            3,
        );
        assert_eq!(c.cpu_seconds_per_gb, Some(0.25), "0.5 s for 2 GB");
        assert_eq!((c.round_trips, c.cpu_ns_per_round_trip), (None, None));
        assert_eq!(c.interval_throttled_ns, [1, 2, 3], "cut to the window");
        let c = cpu_usage(Role::Server, &side(6400, 100_000), TestKind::UdpRr, 1.0, 3);
        assert_eq!(c.cpu_ns_per_round_trip, Some(5_000.0));
        assert_eq!(c.cpu_seconds_per_gb, None);
        let idle = cpu_usage(Role::Server, &side(0, 0), TestKind::TcpStream, 1.0, 3);
        assert_eq!((idle.moved_bytes, idle.cpu_seconds_per_gb), (None, None));
    }

    #[test]
    fn a_throttled_drop_marks_its_intervals_and_is_named() {
        let mut report = Report::new("netprobe", "0", Role::Client, "tcp-stream");
        for (i, gbit) in [10.0, 10.0, 3.0].iter().enumerate() {
            report.intervals.push(IntervalSample {
                direction: Some(Direction::ClientToServer),
                start_ns: i as u64 * 1_000_000_000,
                duration_ns: 1_000_000_000,
                bytes: 0,
                bits_per_sec: gbit * 1e9,
                transactions: None,
                cpu_bound: false,
            });
        }
        let mut server = side(1, 0);
        server.interval_throttled_ns = Some(vec![0, 0, 500_000_000]);
        report.metrics.cpu.push(cpu_usage(
            Role::Server,
            &server,
            TestKind::TcpStream,
            1.0,
            3,
        ));
        mark_cpu_bound(&mut report);
        let bound: Vec<bool> = report.intervals.iter().map(|i| i.cpu_bound).collect();
        assert_eq!(bound, [false, false, true]);
        assert!(
            report.warnings[0].contains("dropped to 3.00 Gbit/s from 10.00 Gbit/s in 2.0-3.0 s"),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn the_wait_mode_and_the_socket_option_are_reported_for_round_trips() {
        let mut req = TestRequest::new(TestKind::TcpRr, std::time::Duration::from_secs(1));
        req.busy_poll = true;
        let mut report = Report::new("netprobe", "0", Role::Client, "tcp-rr");
        report.host.effective_cpus = 0.25;
        let client = SideResult {
            busy_poll_socket: BusyPollSocket::NotPermitted,
            ..Default::default()
        };
        set_wait_parameters(&mut report, &req, Some(&client), None, true);
        let p = &report.test.parameters;
        assert_eq!(p["rr_wait"], "busy-poll");
        assert!(p["client_so_busy_poll"].as_str().unwrap().contains("EPERM"));
        assert!(report.warnings[0].contains("quota of 0.25 CPUs"));
        let mut stream = Report::new("netprobe", "0", Role::Client, "tcp-stream");
        set_wait_parameters(
            &mut stream,
            &TestRequest::tcp_stream(std::time::Duration::from_secs(1)),
            None,
            None,
            true,
        );
        assert!(
            stream.test.parameters.is_empty(),
            "bulk tests have no rr wait"
        );
        let pinned = |cpus: Vec<u32>| SideResult {
            pinned_cpus: cpus,
            ..Default::default()
        };
        let mut shared = Report::new("netprobe", "0", Role::Client, "udp-rr");
        shared.host.effective_cpus = 2.0;
        let (c, s) = (pinned(vec![0]), pinned(vec![1, 0]));
        set_wait_parameters(&mut shared, &req, Some(&c), Some(&s), true);
        assert!(
            shared.warnings[0].contains("both sides on CPU 0"),
            "{:?}",
            shared.warnings
        );
        let mut apart = Report::new("netprobe", "0", Role::Client, "udp-rr");
        apart.host.effective_cpus = 2.0;
        set_wait_parameters(&mut apart, &req, Some(&c), Some(&pinned(vec![1])), true);
        set_wait_parameters(&mut apart, &req, Some(&c), Some(&s), false);
        assert!(apart.warnings.is_empty(), "{:?}", apart.warnings);
    }
}
