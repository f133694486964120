//! Expands a suite into items: tests x sizes x architectures x repetitions, repetitions
//! interleaved (A B C A B C) so slow drift on the host or in the cloud spreads over every test
//! evenly, and each size's architectures next to each other so they meet the same drift.

use serde::{Deserialize, Serialize};

use crate::sizes::{Arch, TaskSize};
use crate::suite::{Suite, TestSpec};

/// One unit of work: a test on a size, one repetition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    /// Stable id, `rep/size/label`, used to resume.
    pub id: String,
    /// The test.
    pub test: TestSpec,
    /// The size.
    pub size: TaskSize,
    /// 1-based repetition.
    pub repetition: u32,
    /// The architecture, when the suite names its architectures; `None` leaves it to the
    /// backend (ECS settings' `cpu_architecture`, or this machine's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
}

/// Items in run order: every (test, size, architecture) once per round, rounds one after
/// another. Ids are `rep/size/label`, or `rep/size/ARCH/label` when the suite names its
/// architectures.
pub fn expand(suite: &Suite) -> Vec<PlanItem> {
    let arches: Vec<Option<Arch>> = if suite.architectures.is_empty() {
        vec![None]
    } else {
        suite.architectures.iter().copied().map(Some).collect()
    };
    let mut items = Vec::new();
    for repetition in 1..=suite.repetitions {
        for size in &suite.sizes {
            for arch in &arches {
                for test in &suite.tests {
                    let id = match arch {
                        Some(a) => format!("{repetition}/{size}/{a}/{}", test.label()),
                        None => format!("{repetition}/{size}/{}", test.label()),
                    };
                    items.push(PlanItem {
                        id,
                        test: test.clone(),
                        size: *size,
                        repetition,
                        arch: *arch,
                    });
                }
            }
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{test_suite, TestKind};

    #[test]
    fn repetitions_are_interleaved_and_ids_unique() {
        let suite = test_suite(
            vec![
                TestSpec::new(TestKind::TCP_STREAM),
                TestSpec::new(TestKind::Memory),
            ],
            &["0.25x0.5", "1x2"],
            &[],
            2,
        );
        let items = expand(&suite);
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "1/0.25x0.5/tcp-stream",
                "1/0.25x0.5/memory",
                "1/1x2/tcp-stream",
                "1/1x2/memory",
                "2/0.25x0.5/tcp-stream",
                "2/0.25x0.5/memory",
                "2/1x2/tcp-stream",
                "2/1x2/memory",
            ]
        );
        assert!(items.iter().all(|i| i.arch.is_none()));
    }

    #[test]
    fn architectures_cross_every_size_side_by_side() {
        let suite = test_suite(
            vec![TestSpec::new(TestKind::TCP_RR)],
            &["0.25x0.5", "1x2"],
            &["X86_64", "arm64"],
            1,
        );
        let items = expand(&suite);
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "1/0.25x0.5/X86_64/tcp-rr",
                "1/0.25x0.5/ARM64/tcp-rr",
                "1/1x2/X86_64/tcp-rr",
                "1/1x2/ARM64/tcp-rr",
            ]
        );
        assert_eq!(items[1].arch, Some(Arch::Arm));
        assert_eq!(items[2].arch, Some(Arch::X86));
    }
}
