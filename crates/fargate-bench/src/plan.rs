//! Expands a suite into items: tests x sizes x repetitions, repetitions interleaved
//! (A B C A B C) so slow drift on the host or in the cloud spreads over every test evenly.

use serde::{Deserialize, Serialize};

use crate::sizes::TaskSize;
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
}

/// Items in run order: every (test, size) once per round, rounds one after another.
pub fn expand(suite: &Suite, sizes: &[TaskSize]) -> Vec<PlanItem> {
    let mut items = Vec::new();
    for repetition in 1..=suite.repetitions {
        for size in sizes {
            for test in &suite.tests {
                items.push(PlanItem {
                    id: format!("{repetition}/{size}/{}", test.label()),
                    test: test.clone(),
                    size: *size,
                    repetition,
                });
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
    }
}
