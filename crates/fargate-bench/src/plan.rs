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
/// architectures (an invalid `architectures` list was refused by [`Suite::validate`]; here it
/// counts as none).
pub fn expand(suite: &Suite, sizes: &[TaskSize]) -> Vec<PlanItem> {
    let arches: Vec<Option<Arch>> = match suite.arches() {
        Ok(named) if !named.is_empty() => named.into_iter().map(Some).collect(),
        _ => vec![None],
    };
    let mut items = Vec::new();
    for repetition in 1..=suite.repetitions {
        for size in sizes {
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
    use crate::suite::TestKind;

    #[test]
    fn repetitions_are_interleaved_and_ids_unique() {
        let suite = Suite {
            repetitions: 2,
            sizes: vec!["0.25x0.5".into(), "1x2".into()],
            concurrency: 1,
            ecs: None,
            architectures: Vec::new(),
            tests: vec![
                TestSpec::new(TestKind::TCP_STREAM),
                TestSpec::new(TestKind::Memory),
            ],
        };
        let sizes = suite.validate().unwrap();
        let items = expand(&suite, &sizes);
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
        let suite = Suite {
            repetitions: 1,
            sizes: vec!["0.25x0.5".into(), "1x2".into()],
            concurrency: 1,
            ecs: None,
            architectures: vec!["X86_64".into(), "arm64".into()],
            tests: vec![TestSpec::new(TestKind::TCP_RR)],
        };
        let sizes = suite.validate().unwrap();
        let items = expand(&suite, &sizes);
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

    #[test]
    fn unknown_or_repeated_architectures_are_refused_by_name() {
        let mut suite = Suite::default_suite();
        suite.architectures = vec!["RISCV64".into()];
        let e = suite.validate().unwrap_err().to_string();
        assert!(
            e.contains("RISCV64") && e.contains("X86_64 or ARM64"),
            "{e}"
        );
        suite.architectures = vec!["ARM64".into(), "aarch64".into()];
        let e = suite.validate().unwrap_err().to_string();
        assert!(e.contains("ARM64 twice"), "{e}");
    }
}
