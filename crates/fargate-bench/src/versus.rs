//! "Graviton or x86, at this size": in a run that crosses architectures, each figure measured
//! on both at one size is put side by side, per dollar, with a verdict. Pure: rows in, rows out.

use std::collections::BTreeMap;

use crate::sizes::{Arch, TaskSize};
use crate::summary::{ArchComparison, Headline, MemRow, NetRow, Unit, HEADLINE_KERNEL};

/// Below this difference per dollar the verdict is "even": repetitions of one figure on one
/// size often spread this much.
pub const EVEN_WITHIN: f64 = 0.05;

/// A row's headline, as compared: (what, unit, median, median per USD-hour).
struct Figure {
    what: String,
    unit: Unit,
    value: f64,
    per_dollar_hour: Option<f64>,
}

impl Figure {
    fn of(what: String, h: Headline<'_>, cost_per_hour: Option<f64>) -> Figure {
        let value = h.value.median;
        Figure {
            what: format!("{what} {}", h.kind.name()),
            unit: h.unit,
            value,
            per_dollar_hour: cost_per_hour.filter(|c| *c > 0.0).map(|c| value / c),
        }
    }
}

/// The verdict on one pair; `functional_only` when a probe ran under emulation.
fn verdict(ratio: Option<f64>, x86: f64, arm: f64, functional_only: bool) -> String {
    let caveat = if functional_only {
        " (under emulation: functional only, not a verdict on hardware)"
    } else {
        ""
    };
    let Some(r) = ratio else {
        return format!(
            "no price known; ARM64 measured {:.2}x X86_64{caveat}",
            arm / x86
        );
    };
    if (r - 1.0).abs() <= EVEN_WITHIN {
        format!(
            "even per dollar (within {:.0} %){caveat}",
            EVEN_WITHIN * 100.0
        )
    } else if r > 1.0 {
        format!("ARM64 (Graviton): {r:.2}x the figure per dollar{caveat}")
    } else {
        format!("X86_64: {:.2}x the figure per dollar{caveat}", 1.0 / r)
    }
}

/// Every figure measured on both architectures at one size, in row order: each row's
/// [headline](NetRow::headline). Memory rows are compared for STREAM's headline kernel, triad,
/// only: the other kernels tell the same story.
pub fn compare(
    network: &[NetRow],
    memory: &[MemRow],
    functional_only: bool,
) -> Vec<ArchComparison> {
    let figures = network
        .iter()
        .filter_map(|r| {
            let figure = Figure::of(r.what(), r.headline()?, r.cost_per_hour);
            Some((r.arch?, r.size.size, figure))
        })
        .chain(
            memory
                .iter()
                .filter(|r| r.kernel == HEADLINE_KERNEL)
                .filter_map(|r| {
                    let figure = Figure::of(r.what(), r.headline(), r.cost_per_hour);
                    Some((r.arch?, r.size.size, figure))
                }),
        );
    // (what, size) -> figures by architecture, in first-seen order.
    let mut order = Vec::new();
    let mut pairs: BTreeMap<(String, TaskSize), BTreeMap<Arch, Figure>> = BTreeMap::new();
    for (arch, size, figure) in figures {
        let key = (figure.what.clone(), size);
        if !pairs.contains_key(&key) {
            order.push(key.clone());
        }
        pairs.entry(key).or_default().insert(arch, figure);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let both = pairs.get(&key)?;
            let (x, a) = (both.get(&Arch::X86)?, both.get(&Arch::Arm)?);
            if x.value <= 0.0 {
                return None;
            }
            let ratio = x
                .per_dollar_hour
                .zip(a.per_dollar_hour)
                .filter(|(x, _)| *x > 0.0)
                .map(|(x, a)| a / x);
            Some(ArchComparison {
                verdict: verdict(ratio, x.value, a.value, functional_only),
                what: key.0,
                size: key.1,
                unit: x.unit,
                x86: x.value,
                arm: a.value,
                x86_per_dollar_hour: x.per_dollar_hour,
                arm_per_dollar_hour: a.per_dollar_hour,
                arm_over_x86_per_dollar: ratio,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_core::stats::SampleSummary;

    fn net(size: &str, arch: Arch, bps: f64, cost: f64) -> NetRow {
        NetRow {
            test: "tcp-stream".into(),
            kind: "tcp-stream".into(),
            size: crate::summary::Placement::of(size, Some(arch)).unwrap(),
            arch: Some(arch),
            direction: None,
            repetitions: 3,
            throughput_bits_per_sec: SampleSummary::from_values(&[bps, bps, bps]),
            rtt: None,
            rtt_percentiles: None,
            transactions_per_sec: None,
            udp_loss_ratio: None,
            udp_receiver_drop_ratio: None,
            udp_jitter_ns: None,
            retransmits: None,
            cost_per_hour: Some(cost),
            gbit_per_sec_per_dollar_hour: Some(bps / 1e9 / cost),
            regimes: BTreeMap::new(),
            bucket: None,
            refill: None,
            latency_under_load: None,
            bucket_sharing: None,
        }
    }

    fn mem(kernel: &str, arch: Arch, bytes: f64, cost: f64) -> MemRow {
        let s = SampleSummary::from_values(&[bytes]).unwrap();
        MemRow {
            size: crate::summary::Placement::of("1x2", Some(arch)).unwrap(),
            arch: Some(arch),
            kernel: kernel.into(),
            stores: "temporal".into(),
            threads: 1,
            best_bytes_per_sec: s.clone(),
            sustained_bytes_per_sec: s,
            cost_per_hour: Some(cost),
            gb_per_sec_per_dollar_hour: Some(bytes / 1e9 / cost),
            quota_throttled: false,
        }
    }

    #[test]
    fn the_cheaper_architecture_wins_at_equal_throughput() {
        // 5 Gbit/s on both; ARM64 at 0.8 of the price gives 1.25x per dollar.
        let rows = [
            net("1x2", Arch::X86, 5e9, 0.05),
            net("1x2", Arch::Arm, 5e9, 0.04),
        ];
        let c = compare(&rows, &[], false);
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].size.to_string(), c[0].unit),
            ("1x2".into(), Unit::BitsPerSec)
        );
        assert!((c[0].arm_over_x86_per_dollar.unwrap() - 1.25).abs() < 1e-9);
        assert!(
            c[0].verdict.starts_with("ARM64 (Graviton): 1.25x"),
            "{}",
            c[0].verdict
        );
    }

    #[test]
    fn a_faster_x86_can_win_and_close_figures_are_even() {
        let rows = [
            net("2x4", Arch::X86, 10e9, 0.10),
            net("2x4", Arch::Arm, 6e9, 0.08),
            net("1x2", Arch::X86, 5e9, 0.05),
            net("1x2", Arch::Arm, 4.1e9, 0.04),
        ];
        let c = compare(&rows, &[], true);
        assert_eq!(c[0].size.to_string(), "2x4");
        assert!(
            c[0].verdict.starts_with("X86_64: 1.33x"),
            "{}",
            c[0].verdict
        );
        assert!(
            c[1].verdict.starts_with("even per dollar"),
            "{}",
            c[1].verdict
        );
        assert!(c.iter().all(|c| c.verdict.contains("functional only")));
    }

    #[test]
    fn only_pairs_are_compared_and_memory_by_triad() {
        let rows = [
            net("1x2", Arch::X86, 5e9, 0.05),
            net("4x8", Arch::Arm, 5e9, 0.16),
        ];
        assert!(
            compare(&rows, &[], false).is_empty(),
            "no size measured on both"
        );
        let memory = [
            mem("copy", Arch::X86, 10e9, 0.05),
            mem("copy", Arch::Arm, 10e9, 0.04),
            mem("triad", Arch::X86, 12e9, 0.05),
            mem("triad", Arch::Arm, 9e9, 0.04),
        ];
        let c = compare(&[], &memory, false);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].what, "memory triad temporal x1 best");
        assert!(
            c[0].verdict.starts_with("X86_64: 1.07x"),
            "{}",
            c[0].verdict
        );
    }

    #[test]
    fn without_prices_the_raw_ratio_is_given() {
        let mut rows = [
            net("1x2", Arch::X86, 5e9, 0.05),
            net("1x2", Arch::Arm, 6e9, 0.04),
        ];
        rows.iter_mut().for_each(|r| r.cost_per_hour = None);
        let c = compare(&rows, &[], false);
        assert_eq!(c[0].arm_over_x86_per_dollar, None);
        assert!(c[0].verdict.contains("1.20x X86_64"), "{}", c[0].verdict);
    }
}
