//! The report printed for people; the measurements that fill it run in `measure`.

use std::fmt::Write as _;

use probe_core::units::{format_bytes, format_bytes_per_sec};
use probe_core::Report;

/// The report as a table for people.
pub fn human_summary(report: &Report) -> String {
    let mut out = String::new();
    let h = &report.host;
    let _ = writeln!(
        out,
        "memprobe on {} ({} effective CPUs{})",
        h.cpu_model.as_deref().unwrap_or("unknown CPU"),
        h.effective_cpus,
        h.cgroup
            .as_ref()
            .and_then(|c| c.memory_limit_bytes)
            .map(|m| format!(", memory limit {}", format_bytes(m)))
            .unwrap_or_default()
    );
    if let Some(t) = report.test.parameters.get("threads") {
        let _ = writeln!(out, "threads measured: {t}");
    }
    if !report.metrics.memory_bandwidth.is_empty() {
        let _ = writeln!(
            out,
            "{:<7} {:<12} {:<14} {:>3} {:>11} {:>11} {:>11} {:>6} {:>11}",
            "kernel", "stores", "code", "thr", "best", "median", "sustained", "cv%", "bus"
        );
        for b in &report.metrics.memory_bandwidth {
            let _ = writeln!(
                out,
                "{:<7} {:<12} {:<14} {:>3} {:>11} {:>11} {:>11} {:>6.1} {:>11}",
                b.kernel,
                b.stores,
                b.implementation,
                b.threads,
                format_bytes_per_sec(b.best_bytes_per_sec),
                format_bytes_per_sec(b.median_bytes_per_sec),
                format_bytes_per_sec(b.sustained_bytes_per_sec),
                b.cv * 100.0,
                format_bytes_per_sec(b.bus_bytes_per_sec),
            );
        }
    }
    if !report.metrics.cache_plateaus.is_empty() {
        let _ = writeln!(out, "latency plateaus (measured; sysfs claim in brackets):");
        for p in &report.metrics.cache_plateaus {
            let claim = p
                .claimed_bytes
                .map(|c| format!(" [{}]", format_bytes(c)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<5} up to {:>10}{claim}: {:.1} ns per load",
                p.level,
                format_bytes(p.up_to_bytes),
                p.ns_per_load
            );
        }
    }
    if let Some(last) = report
        .metrics
        .memory_latency
        .iter()
        .rfind(|p| !p.huge_pages)
    {
        let _ = writeln!(
            out,
            "largest working set {}: {:.1} ns per load (4 KiB pages)",
            format_bytes(last.working_set_bytes),
            last.ns_per_load
        );
    }
    if let Some(last) = report.metrics.memory_latency.iter().rfind(|p| p.huge_pages) {
        let _ = writeln!(
            out,
            "largest working set {}: {:.1} ns per load (huge pages)",
            format_bytes(last.working_set_bytes),
            last.ns_per_load
        );
    }
    for m in &report.metrics.memory_parallelism {
        let _ = writeln!(
            out,
            "  {:>2} chains: {:.2} ns per load ({:.1}x)",
            m.chains, m.ns_per_load, m.speedup
        );
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
