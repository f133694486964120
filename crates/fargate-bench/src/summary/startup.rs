//! The start-up part of the model (issue 25, item 3): how long tasks took from the launch
//! request to running, per size, architecture and capacity, as a distribution, with the
//! image pull apart. Folded by `merge/startup.rs`, shown by the start-up table.

use serde::{Deserialize, Serialize};

use super::Placement;
use crate::sizes::{Arch, Capacity};

/// Median, 90th percentile and maximum of some values (nearest rank; the median of an even
/// count is the mean of the middle two).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// The median.
    pub median: f64,
    /// The 90th percentile (the value at rank ceil(0.9 n)).
    pub p90: f64,
    /// The largest value.
    pub max: f64,
}

impl Distribution {
    /// The distribution of `values`; `None` when there are none (or one is not a number).
    pub fn of(values: &[f64]) -> Option<Distribution> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let rank = (n * 9).div_ceil(10).max(1);
        Some(Distribution {
            median: probe_core::stats::median_of_sorted(&sorted),
            p90: sorted[rank - 1],
            max: sorted[n - 1],
        })
    }
}

/// The start-up of every task that ran at one size, architecture and capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupRow {
    /// Where the tasks ran.
    pub size: Placement,
    /// The architecture, in a run that crosses architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// The Fargate capacity they ran on (ECS runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Tasks seen from launch request to running.
    pub tasks: u64,
    /// From the launch request until running, milliseconds.
    pub startup_ms: Distribution,
    /// The image pull alone (ECS `pullStartedAt` to `pullStoppedAt`; docker's local images:
    /// zero), milliseconds; absent where nothing is pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_ms: Option<Distribution>,
    /// Start-up less the pull: provisioning, the network interface, the container's start.
    pub startup_without_pull_ms: Distribution,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distribution_is_counted_by_hand() {
        let d = Distribution::of(&[5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0]).unwrap();
        assert_eq!((d.median, d.p90, d.max), (5.5, 9.0, 10.0));
        let one = Distribution::of(&[42.0]).unwrap();
        assert_eq!((one.median, one.p90, one.max), (42.0, 42.0, 42.0));
        // 3 values: rank ceil(2.7) = 3.
        let three = Distribution::of(&[1.0, 2.0, 30.0]).unwrap();
        assert_eq!((three.median, three.p90, three.max), (2.0, 30.0, 30.0));
        assert_eq!(Distribution::of(&[]), None);
        assert_eq!(Distribution::of(&[1.0, f64::NAN]), None);
    }
}
