//! "Graviton or x86, at this size": in a run that crosses architectures, each figure measured
//! on both at one size is put side by side, per dollar, with a verdict. Pure: rows in, rows out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::merge::{MemRow, NetRow};
use crate::sizes::{parse_placement, Arch};

/// Below this difference per dollar the verdict is "even": repetitions of one figure on one
/// size often spread this much.
pub const EVEN_WITHIN: f64 = 0.05;

/// The columns every format shows for [`ArchComparison`] rows.
pub const COLUMNS: [&str; 8] = [
    "figure",
    "size",
    "X86_64",
    "ARM64",
    "X86_64 per $/h",
    "ARM64 per $/h",
    "ARM64/X86_64 per $",
    "verdict",
];

/// One figure on both architectures at one size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchComparison {
    /// What was measured: `tcp-stream P2 client->server baseline`, `memory triad x4`.
    pub what: String,
    /// The size (without architecture).
    pub size: String,
    /// Unit of the two figures: `bit/s`, `B/s` or `transactions/s`.
    pub unit: String,
    /// The X86_64 figure (median over repetitions).
    pub x86: f64,
    /// The ARM64 figure.
    pub arm: f64,
    /// The X86_64 figure per USD per task-hour, when priced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x86_per_dollar_hour: Option<f64>,
    /// The ARM64 figure per USD per task-hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_per_dollar_hour: Option<f64>,
    /// ARM64's figure per dollar over X86_64's (above 1: Graviton gives more per dollar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_over_x86_per_dollar: Option<f64>,
    /// The answer in words.
    pub verdict: String,
}

impl ArchComparison {
    /// A figure in the unit people read (`7.08 Gbit/s`, `12.1 GB/s`, `26164/s`).
    pub fn format_figure(&self, v: f64) -> String {
        use probe_core::units::{format_bits_per_sec, format_bytes_per_sec};
        match self.unit.as_str() {
            "bit/s" => format_bits_per_sec(v),
            "B/s" => format_bytes_per_sec(v),
            _ => format!("{v:.0}/s"),
        }
    }

    /// A figure per USD per task-hour, as Gbit/s, GB/s or transactions/s per $/h.
    pub fn format_per_dollar(&self, v: f64) -> String {
        match self.unit.as_str() {
            "transactions/s" => format!("{v:.0}"),
            _ => format!("{:.1}", v / 1e9),
        }
    }
}

/// A figure of one row: (what, unit, value, value per USD-hour).
type Figure = (String, &'static str, f64, Option<f64>);

fn net_figure(r: &NetRow) -> Option<Figure> {
    let per_dollar = |v: f64| r.cost_per_hour.filter(|c| *c > 0.0).map(|c| v / c);
    let direction = match r.direction {
        Some(probe_core::report::Direction::ClientToServer) => " client->server",
        Some(probe_core::report::Direction::ServerToClient) => " server->client",
        None => "",
    };
    if let Some((label, t)) = r.headline() {
        let what = format!("{}{direction} {label}", r.test);
        return Some((what, "bit/s", t.median, per_dollar(t.median)));
    }
    let t = r.transactions_per_sec.as_ref()?;
    Some((
        r.test.clone(),
        "transactions/s",
        t.median,
        per_dollar(t.median),
    ))
}

fn mem_figure(r: &MemRow) -> Figure {
    // The figure the row's own cost column prices: sustained when a CPU quota throttled it.
    let v = if r.quota_throttled {
        r.sustained_bytes_per_sec.median
    } else {
        r.best_bytes_per_sec.median
    };
    let what = format!("memory {} {} x{}", r.kernel, r.stores, r.threads);
    let per_dollar = r.cost_per_hour.filter(|c| *c > 0.0).map(|c| v / c);
    (what, "B/s", v, per_dollar)
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

/// Every figure measured on both architectures at one size, in row order. Memory rows are
/// compared for STREAM's headline kernel, triad, only: the other kernels tell the same story.
pub fn compare(
    network: &[NetRow],
    memory: &[MemRow],
    functional_only: bool,
) -> Vec<ArchComparison> {
    let figures = network
        .iter()
        .filter_map(|r| Some((r.arch?, &r.size, net_figure(r)?)))
        .chain(
            memory
                .iter()
                .filter(|r| r.kernel == "triad")
                .filter_map(|r| Some((r.arch?, &r.size, mem_figure(r)))),
        );
    // (what, size) -> figures by architecture, in first-seen order.
    let mut order = Vec::new();
    let mut pairs: BTreeMap<(String, String), BTreeMap<Arch, Figure>> = BTreeMap::new();
    for (arch, placement, figure) in figures {
        let Some((size, _)) = parse_placement(placement) else {
            continue;
        };
        let key = (figure.0.clone(), size.to_string());
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
            if x.2 <= 0.0 {
                return None;
            }
            let ratio = x.3.zip(a.3).filter(|(x, _)| *x > 0.0).map(|(x, a)| a / x);
            Some(ArchComparison {
                verdict: verdict(ratio, x.2, a.2, functional_only),
                what: key.0,
                size: key.1,
                unit: x.1.to_owned(),
                x86: x.2,
                arm: a.2,
                x86_per_dollar_hour: x.3,
                arm_per_dollar_hour: a.3,
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
            size: crate::sizes::placement(size, Some(arch)),
            arch: Some(arch),
            direction: None,
            repetitions: 3,
            throughput_bits_per_sec: SampleSummary::from_values(&[bps, bps, bps]),
            rtt: None,
            transactions_per_sec: None,
            udp_loss_ratio: None,
            udp_receiver_drop_ratio: None,
            udp_jitter_ns: None,
            retransmits: None,
            cost_per_hour: Some(cost),
            gbit_per_sec_per_dollar_hour: Some(bps / 1e9 / cost),
            regimes: BTreeMap::new(),
            bucket: None,
        }
    }

    fn mem(kernel: &str, arch: Arch, bytes: f64, cost: f64) -> MemRow {
        let s = SampleSummary::from_values(&[bytes]).unwrap();
        MemRow {
            size: crate::sizes::placement("1x2", Some(arch)),
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
        assert_eq!((c[0].size.as_str(), c[0].unit.as_str()), ("1x2", "bit/s"));
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
        assert_eq!(c[0].size, "2x4");
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
        assert_eq!(c[0].what, "memory triad temporal x1");
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
