//! What a run will cost before it spends: tasks, task-hours, wall time at the chosen
//! concurrency and dollars, from the plan and a price table. Pure: values in, values out.
//!
//! Fargate bills each task per second from the start of its image pull until it stops, with a
//! one-minute minimum (AWS Fargate pricing). A task's billed time here is its start allowance,
//! the test's own time (an until-baseline test at its cap) and, for a server, its client's
//! start as well, since the server waits for it.

use serde::Serialize;

use crate::plan::PlanItem;
use crate::sizes::{Arch, Prices};
use crate::suite::TestKind;

/// Billed seconds from image pull to the probe's start (pull of a 5 MB image, ENI ready).
pub const BILLED_START_SECS: f64 = 20.0;
/// Wall seconds a task takes from RunTask to RUNNING (provisioning is not billed, but waited).
pub const WALL_START_SECS: f64 = 60.0;
/// Fargate's minimum billed time per task.
pub const MINIMUM_BILLED_SECS: f64 = 60.0;

/// The estimate of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Tasks launched.
    pub tasks: usize,
    /// Billed task-hours (one-minute minimum applied per task).
    pub task_hours: f64,
    /// Wall time of the run at `concurrency`, in seconds.
    pub wall_secs: f64,
    /// Items run at once.
    pub concurrency: u32,
    /// USD, when the price table has a price for the region, architecture and capacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
    /// Where the prices came from (`us-east-1 X86_64 FARGATE prices as of 2026-11-01`), or why
    /// none applies.
    pub priced_as: String,
    /// Tasks and dollars per architecture, when the run crosses architectures (x86 first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_arch: Vec<ArchEstimate>,
    /// The most vCPUs the run holds at once (every task of the items running together, as the
    /// runner schedules them): Fargate refuses tasks past the account's vCPU quota ("Fargate
    /// On-Demand vCPU resource count", Service Quotas L-3032A538; Spot has its own), which is
    /// low on new accounts.
    pub peak_vcpus: f64,
    /// USD on top of `usd` in the worst case of capacity: every client delayed for as long as
    /// its server waits for it (the server's idle timeout), each server billed for that wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_worst_usd: Option<f64>,
}

/// One architecture's share of an [`Estimate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchEstimate {
    /// `X86_64` or `ARM64`.
    pub arch: String,
    /// Tasks launched on it.
    pub tasks: usize,
    /// USD, when priced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
}

impl Estimate {
    /// One line for a person: what is launched, for how long, for how much.
    pub fn line(&self) -> String {
        let cost = match self.usd {
            Some(usd) => format!("about ${usd:.2}"),
            None => "an unknown cost".into(),
        };
        let split = self
            .by_arch
            .iter()
            .map(|a| match a.usd {
                Some(usd) => format!("{} {} tasks ${usd:.2}", a.arch, a.tasks),
                None => format!("{} {} tasks", a.arch, a.tasks),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let split = if split.is_empty() {
            split
        } else {
            format!("; {split}")
        };
        let worst = match self.capacity_worst_usd {
            Some(extra) if extra > 0.0 => format!(
                "; up to ${extra:.2} more if Fargate capacity delays every client as long as \
                 its server waits"
            ),
            _ => String::new(),
        };
        format!(
            "this run launches {} Fargate tasks ({:.2} task-hours billed, about {} of wall time \
             at concurrency {}, at most {} vCPUs at once) for {cost} ({}{split}){worst}",
            self.tasks,
            self.task_hours,
            humantime::format_duration(std::time::Duration::from_secs(self.wall_secs as u64)),
            self.concurrency,
            format_vcpus(self.peak_vcpus),
            self.priced_as
        )
    }

    /// Adds the worst case of capacity: each server of `items` billed for `server_idle` (its
    /// idle timeout, how long it waits for a client RunTask keeps retrying) instead of the
    /// usual start of its client.
    pub fn with_capacity_worst_case(
        mut self,
        items: &[PlanItem],
        prices: &Prices,
        server_idle: std::time::Duration,
    ) -> Self {
        let extra_secs = (server_idle.as_secs_f64() - WALL_START_SECS).max(0.0);
        let mut usd = Some(0.0);
        for item in items.iter().filter(|i| i.test.kind != TestKind::Memory) {
            let cost = prices
                .hourly_for(item.arch.unwrap_or(prices.arch), item.size)
                .map(|hourly| hourly * extra_secs / 3600.0);
            usd = usd.zip(cost).map(|(total, c)| total + c);
        }
        self.capacity_worst_usd = usd;
        self
    }
}

fn format_vcpus(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The most vCPUs held at once when `runs` (start, end, vCPUs) overlap.
fn peak_of(runs: &[(f64, f64, f64)]) -> f64 {
    let mut edges: Vec<(f64, f64)> = runs
        .iter()
        .flat_map(|&(start, end, vcpus)| [(start, vcpus), (end, -vcpus)])
        .collect();
    // At the same instant an ending run frees its vCPUs before the next one takes them.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let (mut now, mut peak) = (0.0_f64, 0.0_f64);
    for (_, delta) in edges {
        now += delta;
        peak = peak.max(now);
    }
    peak
}

/// Billed seconds of one task running a test of `test_secs` (`waits_for_client`: a server).
fn billed(test_secs: f64, waits_for_client: bool) -> f64 {
    let start = if waits_for_client {
        BILLED_START_SECS + WALL_START_SECS
    } else {
        BILLED_START_SECS
    };
    (start + test_secs).max(MINIMUM_BILLED_SECS)
}

/// Estimates `items` run `concurrency` at a time, priced by `prices`.
pub fn estimate(items: &[PlanItem], concurrency: u32, prices: &Prices) -> Estimate {
    let lanes = concurrency.max(1) as usize;
    let mut lane_secs = vec![0.0_f64; lanes];
    let (mut tasks, mut billed_secs, mut usd) = (0, 0.0, Some(0.0));
    let mut by_arch: std::collections::BTreeMap<Arch, ArchEstimate> = Default::default();
    let mut runs = Vec::with_capacity(items.len());
    for item in items {
        let test = item.test.expected_secs();
        let (task_secs, wall) = if item.test.kind == TestKind::Memory {
            tasks += 1;
            (vec![billed(test, false)], WALL_START_SECS + test)
        } else {
            tasks += 2;
            (
                vec![billed(test, true), billed(test, false)],
                2.0 * WALL_START_SECS + test,
            )
        };
        let secs: f64 = task_secs.iter().sum();
        billed_secs += secs;
        let cost = prices
            .hourly_for(item.arch.unwrap_or(prices.arch), item.size)
            .map(|hourly| hourly * secs / 3600.0);
        usd = usd.zip(cost).map(|(total, c)| total + c);
        if let Some(arch) = item.arch {
            let share = by_arch.entry(arch).or_insert_with(|| ArchEstimate {
                arch: arch.ecs_name().to_owned(),
                tasks: 0,
                usd: Some(0.0),
            });
            share.tasks += task_secs.len();
            share.usd = share.usd.zip(cost).map(|(total, c)| total + c);
        }
        // The runner starts the next item in whichever lane frees first.
        let lane = lane_secs
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one lane");
        runs.push((
            *lane,
            *lane + wall,
            item.size.vcpu() * task_secs.len() as f64,
        ));
        *lane += wall;
    }
    let arches = if by_arch.is_empty() {
        prices.arch.ecs_name().to_owned()
    } else {
        by_arch
            .keys()
            .map(|a| a.ecs_name())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let unknown = match by_arch.keys().next() {
        Some(_) => by_arch.keys().find_map(|&arch| {
            Prices {
                arch,
                ..prices.clone()
            }
            .unknown()
        }),
        None => prices.unknown(),
    };
    let priced_as = match unknown {
        Some(why) => why,
        None => format!(
            "{} {arches} {} prices as of {}",
            prices.region,
            prices.capacity.provider(),
            prices.as_of()
        ),
    };
    Estimate {
        tasks,
        task_hours: billed_secs / 3600.0,
        wall_secs: lane_secs.into_iter().fold(0.0, f64::max),
        concurrency: concurrency.max(1),
        usd: if items.is_empty() { Some(0.0) } else { usd },
        priced_as,
        by_arch: by_arch.into_values().collect(),
        peak_vcpus: peak_of(&runs),
        capacity_worst_usd: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizes::{Arch, Capacity, TaskSize};
    use crate::suite::TestSpec;

    #[test]
    fn the_peak_counts_the_tasks_that_run_together() {
        // Issue 23, item 7: every pair holds two tasks of its size.
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let three = items(vec![rr(10.0)], &["0.5x1", "1x2", "4x8"], 1);
        assert_eq!(
            estimate(&three, 3, &prices).peak_vcpus,
            2.0 * (0.5 + 1.0 + 4.0)
        );
        assert_eq!(
            estimate(&three, 1, &prices).peak_vcpus,
            8.0,
            "one pair at a time"
        );
        let e = estimate(&items(vec![rr(10.0)], &["4x8", "1x2"], 1), 2, &prices);
        assert_eq!(e.peak_vcpus, 10.0);
        assert!(
            e.line().contains("at most 10 vCPUs at once"),
            "{}",
            e.line()
        );
        // A run that ends as the next begins does not count both.
        assert_eq!(peak_of(&[(0.0, 1.0, 2.0), (1.0, 2.0, 3.0)]), 3.0);
        assert_eq!(peak_of(&[(0.0, 2.0, 2.0), (1.0, 3.0, 3.0)]), 5.0);
        assert_eq!(peak_of(&[]), 0.0);
    }

    fn items(tests: Vec<TestSpec>, sizes: &[&str], repetitions: u32) -> Vec<PlanItem> {
        crossed(tests, sizes, repetitions, &[])
    }

    fn crossed(
        tests: Vec<TestSpec>,
        sizes: &[&str],
        repetitions: u32,
        arches: &[&str],
    ) -> Vec<PlanItem> {
        crate::plan::expand(&crate::suite::test_suite(tests, sizes, arches, repetitions))
    }

    fn rr(secs: f64) -> TestSpec {
        let mut t = TestSpec::new(TestKind::TCP_RR);
        t.duration = Some(secs);
        t
    }

    #[test]
    fn a_pair_by_hand() {
        // One 10 s tcp-rr at 1x2 in us-east-1 on demand: the server is billed 20 + 60 + 10 =
        // 90 s, the client 20 + 10 = 30 s, raised to the 60 s minimum: 150 s at
        // 0.04048 + 2 x 0.004445 USD per hour.
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let e = estimate(&items(vec![rr(10.0)], &["1x2"], 1), 1, &prices);
        assert_eq!(e.tasks, 2);
        assert!((e.task_hours - 150.0 / 3600.0).abs() < 1e-12);
        let usd = (0.04048 + 2.0 * 0.004445) * 150.0 / 3600.0;
        assert!((e.usd.unwrap() - usd).abs() < 1e-12, "{e:?}");
        assert!((e.wall_secs - 130.0).abs() < 1e-9);
        assert!(e.line().contains("2 Fargate tasks") && e.line().contains("$0.00"));
    }

    #[test]
    fn until_baseline_is_priced_at_its_cap_and_spot_at_spot_rates() {
        let mut t = TestSpec::new(TestKind::TCP_STREAM);
        t.until_baseline = true;
        t.max_duration = Some(1200.0);
        let on_demand = Prices::new(None, None, Arch::X86).unwrap();
        let plan = items(vec![t], &["4x8"], 1);
        let e = estimate(&plan, 1, &on_demand);
        assert!(
            (e.task_hours - (1280.0 + 1220.0) / 3600.0).abs() < 1e-9,
            "{e:?}"
        );
        let spot = estimate(&plan, 1, &on_demand.clone().on(Capacity::Spot));
        assert!(spot.usd.unwrap() < e.usd.unwrap() * 0.5);
        assert!(
            spot.priced_as.contains("FARGATE_SPOT"),
            "{}",
            spot.priced_as
        );
    }

    #[test]
    fn concurrency_divides_wall_time_not_cost() {
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let plan = items(vec![rr(10.0)], &["1x2", "2x4", "4x8", "8x16"], 2);
        let one = estimate(&plan, 1, &prices);
        let four = estimate(&plan, 4, &prices);
        assert_eq!(one.tasks, 16);
        assert!((one.wall_secs - 8.0 * 130.0).abs() < 1e-9);
        assert!((four.wall_secs - 2.0 * 130.0).abs() < 1e-9);
        assert_eq!(one.usd, four.usd);
    }

    /// Issue 15: a run over both architectures prices each item at its own architecture's
    /// rate, and says what each costs.
    #[test]
    fn each_architecture_is_priced_at_its_own_rate() {
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let plan = crossed(vec![rr(10.0)], &["1x2"], 1, &["X86_64", "ARM64"]);
        let e = estimate(&plan, 1, &prices);
        assert_eq!(e.tasks, 4);
        let size = TaskSize::parse("1x2").unwrap();
        let hourly = |arch| prices.table.hourly("us-east-1", arch, size).unwrap();
        let (x86, arm) = (&e.by_arch[0], &e.by_arch[1]);
        assert_eq!((x86.arch.as_str(), x86.tasks), ("X86_64", 2));
        assert_eq!((arm.arch.as_str(), arm.tasks), ("ARM64", 2));
        assert!((x86.usd.unwrap() - hourly(Arch::X86) * 150.0 / 3600.0).abs() < 1e-12);
        assert!((arm.usd.unwrap() - hourly(Arch::Arm) * 150.0 / 3600.0).abs() < 1e-12);
        assert!(
            arm.usd.unwrap() < x86.usd.unwrap() * 0.85,
            "Graviton is about 20% cheaper"
        );
        assert!((e.usd.unwrap() - x86.usd.unwrap() - arm.usd.unwrap()).abs() < 1e-12);
        let line = e.line();
        assert!(
            line.contains("X86_64 and ARM64") && line.contains("ARM64 2 tasks $"),
            "{line}"
        );
    }

    #[test]
    fn an_unknown_region_has_no_dollar_figure() {
        let prices = Prices::new(None, Some("mars-1"), Arch::X86).unwrap();
        let e = estimate(&items(vec![rr(1.0)], &["1x2"], 1), 1, &prices);
        assert_eq!(e.usd, None);
        assert!(e.line().contains("unknown cost") && e.line().contains("mars-1"));
        let _ = TaskSize::parse("1x2").unwrap();
    }
}
