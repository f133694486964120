//! Runs the bandwidth and latency measurements and puts their results in the report.

use probe_core::{HostFacts, Report};

use crate::bandwidth::{self, Arrays};
use crate::cache::CacheLevel;
use crate::error::Result;
use crate::kernels::{Isa, Kernel};
use crate::latency::{self, ChaseBuffer};
use crate::sizing::{self, SizingInput};
use crate::MemConfig;

/// The kernels in the order they run (STREAM's order keeps the validation model simple).
const ORDER: [Kernel; 6] = [
    Kernel::Read,
    Kernel::Write,
    Kernel::Copy,
    Kernel::Scale,
    Kernel::Add,
    Kernel::Triad,
];

pub(crate) fn run_bandwidth(
    report: &mut Report,
    config: &MemConfig,
    host: &HostFacts,
    llc: Option<u64>,
    headroom: Option<u64>,
    threads: &[u32],
    cpus: &[u32],
) -> Result<()> {
    let sizing = sizing::choose(SizingInput {
        llc_bytes: llc,
        headroom_bytes: headroom,
        requested_bytes: config.array_bytes,
        cap_bytes: config.max_auto_array_bytes,
    })?;
    report.set_parameter("array_bytes_each", sizing.array_bytes);
    report.set_parameter("llc_bytes_used", sizing.llc_bytes);
    report.set_parameter("llc_source", sizing.llc_source);
    report.warnings.extend(sizing.warning.clone());
    let n = (sizing.array_bytes / 8) as usize;
    let max_threads = *threads.iter().max().unwrap_or(&1) as usize;
    let mut arrays = Arrays::new(n, max_threads, cpus, config.huge_pages)?;
    let huge = arrays.huge_page_bytes;
    report.set_parameter("huge_pages_requested", config.huge_pages);
    report.set_parameter("huge_page_bytes", huge);
    if config.huge_pages && huge == 0 {
        report.warnings.push(
            "transparent huge pages were requested but none backed the arrays \
             (/sys/kernel/mm/transparent_hugepage/enabled is probably `never`): TLB misses \
             lower the figures"
                .into(),
        );
    }
    let isa = Isa::detect();
    report.set_parameter("isa", isa.label(false));
    let mut plan = config.passes;
    let quota_below_one = host.effective_cpus < 1.0;
    if let Some(period) = host
        .cgroup
        .as_ref()
        .filter(|_| quota_below_one)
        .and_then(|c| c.cpu_period_us)
    {
        // Span at least 20 CFS periods per kernel so throttling shows in the sustained figure.
        let min = std::time::Duration::from_micros(period * 20);
        if plan.min_time < min {
            plan.min_time = min;
        }
    }
    let mut steal_flagged = Vec::new();
    let mut steal_total = 0u64;
    for &t in threads {
        let variants: &[bool] = if isa.has_nontemporal() {
            &[false, true]
        } else {
            &[false]
        };
        for &nt in variants {
            for kernel in ORDER {
                if nt && !kernel.stores() {
                    continue;
                }
                let m = bandwidth::measure(&mut arrays, isa, kernel, nt, t as usize, cpus, plan)?;
                steal_total += m.steal_ticks;
                if m.steal_ticks > 0 {
                    steal_flagged.push(format!(
                        "{} {} x{}",
                        m.result.kernel, m.result.implementation, t
                    ));
                }
                report.metrics.memory_bandwidth.push(m.result);
            }
        }
        let m = bandwidth::measure(
            &mut arrays,
            isa,
            Kernel::Memcpy,
            false,
            t as usize,
            cpus,
            plan,
        )?;
        report.metrics.memory_bandwidth.push(m.result);
    }
    // Steal is in USER_HZ ticks (normally 10 ms) summed over all CPUs, from /proc/stat.
    report.set_parameter("steal_ticks_during_bandwidth", steal_total);
    if !steal_flagged.is_empty() {
        report.warnings.push(format!(
            "the hypervisor stole CPU time during: {}; those figures may be low",
            steal_flagged.join(", ")
        ));
    }
    Ok(())
}

pub(crate) fn run_latency(
    report: &mut Report,
    config: &MemConfig,
    llc: Option<u64>,
    headroom: Option<u64>,
    levels: &[CacheLevel],
) -> Result<()> {
    let wanted = config
        .latency_max_bytes
        .unwrap_or_else(|| (4 * llc.unwrap_or(sizing::ASSUMED_LLC_BYTES)).max(256 << 20));
    let max_bytes = match headroom {
        Some(h) => wanted.min((h as f64 * 0.5) as u64).max(1 << 20),
        None => wanted,
    };
    report.set_parameter("latency_max_bytes", max_bytes);
    let mut buf = ChaseBuffer::new(max_bytes, false)?;
    let points = latency::curve(
        &mut buf,
        max_bytes,
        config.latency_points_per_octave,
        config.latency_min_time,
    );
    report.metrics.cache_plateaus = latency::detect_plateaus(&points, levels);
    report.metrics.memory_latency = points;
    report.metrics.memory_parallelism =
        latency::parallelism(&mut buf, max_bytes, config.latency_min_time);
    drop(buf);
    if config.huge_pages {
        let mut huge = ChaseBuffer::new(max_bytes, true)?;
        if huge.huge_pages {
            let points = latency::curve(
                &mut huge,
                max_bytes,
                config.latency_points_per_octave,
                config.latency_min_time,
            );
            report.metrics.memory_latency.extend(points);
        }
    }
    Ok(())
}
