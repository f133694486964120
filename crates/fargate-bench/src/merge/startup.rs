//! The start-up part of the fold: every task's [`Lifecycle`] into one [`StartupRow`] per
//! placement (the run's capacity is the run's own). Failed items count too: a task that came
//! up and then failed its test still took that long to come up.

use std::collections::BTreeMap;

use crate::platform::Lifecycle;
use crate::sizes::Capacity;
use crate::summary::{Distribution, Placement, StartupRow};

/// Start-ups seen at one placement, in milliseconds.
#[derive(Default)]
struct Seen {
    startup: Vec<f64>,
    pull: Vec<f64>,
    without_pull: Vec<f64>,
}

/// Every placement's start-ups.
#[derive(Default)]
pub(super) struct StartupAcc {
    by_placement: BTreeMap<Placement, Seen>,
}

impl StartupAcc {
    /// Adds the tasks of one item at `placement`.
    pub(super) fn add<'a>(
        &mut self,
        placement: Placement,
        lifecycles: impl IntoIterator<Item = &'a Lifecycle>,
    ) {
        for l in lifecycles {
            let Some(startup) = l.startup_ms() else {
                continue;
            };
            let seen = self.by_placement.entry(placement).or_default();
            seen.startup.push(startup as f64);
            let pull = l.pull_ms();
            if let Some(pull) = pull {
                seen.pull.push(pull as f64);
            }
            seen.without_pull
                .push(startup.saturating_sub(pull.unwrap_or(0)) as f64);
        }
    }

    /// One row per placement, in placement order.
    pub(super) fn rows(self, capacity: Option<Capacity>) -> Vec<StartupRow> {
        self.by_placement
            .into_iter()
            .filter_map(|(placement, seen)| {
                Some(StartupRow {
                    size: placement,
                    arch: placement.arch,
                    capacity,
                    tasks: seen.startup.len() as u64,
                    startup_ms: Distribution::of(&seen.startup)?,
                    pull_ms: Distribution::of(&seen.pull),
                    startup_without_pull_ms: Distribution::of(&seen.without_pull)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizes::{Arch, TaskSize};

    fn at(size: &str, arch: Option<Arch>) -> Placement {
        Placement {
            size: TaskSize::parse(size).unwrap(),
            arch,
        }
    }

    fn ecs(startup: u64, pull: u64) -> Lifecycle {
        Lifecycle {
            created_ms: 100,
            pull_started_ms: Some(2_000),
            pull_stopped_ms: Some(2_000 + pull),
            running_ms: Some(startup),
            seen_running_ms: Some(startup + 400),
        }
    }

    #[test]
    fn each_placement_gets_its_distribution_with_the_pull_apart() {
        let mut acc = StartupAcc::default();
        let small = at("0.25x0.5", None);
        acc.add(small, &[ecs(30_000, 9_000), ecs(40_000, 10_000)]);
        acc.add(small, &[ecs(50_000, 20_000)]);
        // A task that never ran has no start-up.
        acc.add(small, &[Lifecycle::default()]);
        let arm = at("1x2", Some(Arch::Arm));
        acc.add(
            arm,
            &[Lifecycle::process(
                std::time::Duration::from_millis(3),
                Some(std::time::Duration::from_millis(12)),
            )],
        );
        let rows = acc.rows(Some(Capacity::Spot));
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(
            (r.size, r.tasks, r.capacity),
            (small, 3, Some(Capacity::Spot))
        );
        assert_eq!(
            (r.startup_ms.median, r.startup_ms.p90, r.startup_ms.max),
            (40_000.0, 50_000.0, 50_000.0)
        );
        let pull = r.pull_ms.unwrap();
        assert_eq!((pull.median, pull.max), (10_000.0, 20_000.0));
        assert_eq!(r.startup_without_pull_ms.median, 30_000.0);
        // A process runs once spawned and pulls nothing: no pull, the start-up is the spawn.
        let r = &rows[1];
        assert_eq!((r.arch, r.tasks), (Some(Arch::Arm), 1));
        assert_eq!(r.pull_ms, None);
        assert_eq!(r.startup_without_pull_ms.max, 3.0);
    }
}
