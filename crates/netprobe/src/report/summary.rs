//! The human summary a probe prints on stderr: what a person reads, from the report alone.

use probe_core::report::{Direction, Role};
use probe_core::Report;

/// A few lines for people: the headline figures of a netprobe report.
pub fn human_summary(report: &Report) -> String {
    use probe_core::units::{format_bits_per_sec, format_bytes, format_ns};
    use std::fmt::Write as _;
    let mut out = String::new();
    let secs = report.measured_duration_ns as f64 / 1e9;
    let _ = writeln!(out, "netprobe {} over {secs:.1} s", report.test.kind);
    for t in &report.metrics.throughput {
        let dir = match t.direction {
            Direction::ClientToServer => "client -> server",
            Direction::ServerToClient => "server -> client",
        };
        let _ = writeln!(
            out,
            "  {dir}: {} ({} bytes in {} stream(s))",
            format_bits_per_sec(t.bits_per_sec),
            t.received_bytes,
            t.streams.len().max(1)
        );
        // A change is news (the line above is then a mean of two rates); a flat series is
        // the line above, and its full verdict is in the report.
        if let Some(r) = t.regime.as_ref().filter(|r| r.burst_baseline().is_some()) {
            let _ = writeln!(out, "    {}", r.describe());
        }
        for s in &t.streams {
            if let Some(info) = &s.sender_tcp_info {
                let _ = writeln!(
                    out,
                    "    stream {}: {}  retransmits {}  srtt {}  cwnd {}",
                    s.index,
                    format_bits_per_sec(s.bits_per_sec),
                    info.total_retransmits,
                    format_ns(info.srtt_ns as f64),
                    info.snd_cwnd_segments
                );
            }
        }
    }
    if let Some(s) = &report.metrics.bucket_sharing {
        let _ = writeln!(out, "  bucket: {}", s.summary);
        let _ = writeln!(out, "    the other direction: {}", s.other.describe());
    }
    if let Some(r) = &report.metrics.refill {
        let _ = writeln!(out, "  refill: {}", r.summary);
        for b in &r.rebursts {
            let _ = writeln!(
                out,
                "    after {} idle (link quiet {}): {} above the baseline, {} of burst -> {}{}",
                format_ns(b.idle_ns as f64),
                format_ns(b.quiet_ns as f64),
                format_bytes(b.bytes_above_baseline),
                format_ns(b.burst_duration_ns as f64),
                format_bits_per_sec(b.refill_bits_per_sec),
                match (b.full, b.reached_cap) {
                    (_, true) => " (never back to the baseline: at least)",
                    (true, _) => " (bucket full again: at least)",
                    _ => "",
                }
            );
        }
    }
    if let Some(l) = &report.metrics.latency_under_load {
        let _ = writeln!(
            out,
            "  latency under load ({} probes/s): {}",
            l.probes_per_sec, l.summary
        );
        for st in &l.stages {
            let ms = |ns: Option<u64>| ns.map_or_else(|| "-".into(), |n| format_ns(n as f64));
            let _ = writeln!(
                out,
                "    {}: p50 {}  p99 {}  max {}  lost {}/{}{}",
                st.stage.name(),
                ms(st.p50_ns),
                ms(st.p99_ns),
                ms(st.max_ns),
                st.lost,
                st.probes,
                st.retransmits_per_sec()
                    .map(|r| format!("  {r:.1} retransmits/s"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(u) = &report.metrics.udp {
        let _ = writeln!(
            out,
            "  udp: sent {} received {} lost {} ({:.3} %) dup {} reordered {} jitter {}",
            u.sent_datagrams,
            u.received_datagrams,
            u.lost_datagrams,
            u.loss_ratio * 100.0,
            u.duplicate_datagrams,
            u.out_of_order_datagrams,
            format_ns(u.jitter_ns)
        );
        if let Some(drops) = u.receiver_socket_drops.filter(|d| *d > 0) {
            let _ = writeln!(
                out,
                "    of the lost, {drops} were dropped by the receiver's full socket buffer \
                 (a slow receiver, not the path); a larger --window helps"
            );
        }
    }
    if let Some(l) = &report.metrics.latency {
        if let Some(s) = &l.rtt_summary {
            let wait = match report.test.parameters.get("rr_wait") {
                Some(serde_json::Value::String(w)) => format!(", {w}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  round trip ({:?} loop{wait}): p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                l.mode,
                format_ns(s.p50_ns as f64),
                format_ns(s.p90_ns as f64),
                format_ns(s.p99_ns as f64),
                format_ns(s.p99_9_ns as f64),
                format_ns(s.max_ns as f64)
            );
        }
        let _ = writeln!(
            out,
            "  {} transactions ({:.0}/s), {} timeouts, {} errors",
            l.transactions, l.transactions_per_sec, l.timeouts, l.errors
        );
        if let Some(c) = l.connect.as_ref().and_then(|c| c.summary()) {
            let _ = writeln!(
                out,
                "  connect: p50 {}  p99 {}",
                format_ns(c.p50_ns as f64),
                format_ns(c.p99_ns as f64)
            );
        }
    }
    for c in &report.metrics.cpu {
        let share = c
            .share_of_quota
            .map(|s| format!(" ({:.0} % of quota)", s * 100.0))
            .unwrap_or_default();
        let side = match c.side {
            Role::Client => "client",
            Role::Server => "server",
            Role::Standalone => "standalone",
        };
        // A polling receiver's CPU time includes its waiting; say so next to the figure.
        let polled = report
            .test
            .parameters
            .get(&format!("{side}_receivers_polled"))
            == Some(&serde_json::Value::Bool(true));
        let cost = match (c.cpu_seconds_per_gb, c.cpu_ns_per_round_trip) {
            (Some(per_gb), _) => format!(", {per_gb:.3} CPU s/GB"),
            (_, Some(per_rt)) => format!(
                ", {} CPU and {:.2} sleeps per round trip",
                format_ns(per_rt),
                c.voluntary_switches.unwrap_or(0) as f64 / c.round_trips.unwrap_or(1).max(1) as f64
            ),
            _ => String::new(),
        };
        // A sender's CPU per byte depends on how it handed over the payload; say which.
        let sent = match report
            .test
            .parameters
            .get(&format!("{side}_send_path"))
            .and_then(serde_json::Value::as_str)
        {
            Some("copy") => " (sender copied)".to_owned(),
            Some("splice") => {
                " (sender spliced: --send-path copy for an application's copy)".into()
            }
            Some(other) => format!(" (sender: {other})"),
            None => String::new(),
        };
        let throttled: u64 = c.interval_throttled_ns.iter().sum();
        let throttled = if throttled > 0 {
            format!(", cgroup throttled {}", format_ns(throttled as f64))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  cpu {side}: user {} sys {}{share}{cost}{sent}{throttled}{}",
            format_ns(c.user_ns as f64),
            format_ns(c.system_ns as f64),
            if polled {
                " (receivers polled: use --receive-wait block for CPU per byte)"
            } else {
                ""
            }
        );
    }
    for w in &report.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    out
}
