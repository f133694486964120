//! The one error type of the controller library.

use std::path::PathBuf;

pub use probe_core::error::describe;

/// Shorthand for results whose error is [`BenchError`].
pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Everything that can go wrong planning, running and reporting a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A task size is not a Fargate size.
    #[error("invalid size {size:?}: {why}")]
    InvalidSize {
        /// As written.
        size: String,
        /// Why, with the valid neighbours.
        why: String,
    },
    /// The suite file or flags are invalid.
    #[error("invalid suite{}: {why}", .path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Suite {
        /// The file, if from a file.
        path: Option<PathBuf>,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// The ECS settings (config file, suite `[ecs]` table or flags) are incomplete or invalid.
    #[error("ECS settings{}: {why}", .path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    EcsSettings {
        /// The config file, when the setting came from one.
        path: Option<PathBuf>,
        /// What is missing or wrong, and the key or flag that sets it.
        why: String,
    },
    /// `--link` (or `--link-time-scale`) cannot be emulated as given.
    #[error("{why}")]
    Link {
        /// The value, what is wrong with it and what to give instead.
        why: String,
    },
    /// The backend cannot run what the run asks for (an architecture, an emulated link).
    #[error("the {backend} backend {why}")]
    Unsupported {
        /// `local`, `docker` or `ecs`.
        backend: &'static str,
        /// What it cannot do, and the backend or change that can.
        why: String,
    },
    /// A price file could not be used.
    #[error("cannot use price table {}: {why}", .path.display())]
    Prices {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// No price for a region.
    #[error("no prices for region {region:?}; known: {known} (or pass --prices FILE)")]
    UnknownRegion {
        /// Asked.
        region: String,
        /// Known regions.
        known: String,
    },
    /// A probe binary could not be found.
    #[error("cannot find the {name} binary next to {exe}, on PATH or in --probe-dir; build it with `cargo build --release` or pass --probe-dir")]
    ProbeNotFound {
        /// Binary name.
        name: String,
        /// Where the controller runs from.
        exe: String,
    },
    /// Reading or writing the results directory failed.
    #[error("results directory {}", .path.display())]
    Store {
        /// File or directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A results directory is not one this tool wrote.
    #[error("{} is not a fargate-bench results directory: {why}", .path.display())]
    NotAResultsDir {
        /// The directory.
        path: PathBuf,
        /// What is missing or wrong.
        why: String,
    },
    /// A results directory cannot be resumed as asked.
    #[error("cannot resume {}: {why}", .dir.display())]
    Resume {
        /// The results directory.
        dir: PathBuf,
        /// What does not match, and the command that resumes it.
        why: String,
    },
    /// The backend failed (launching, waiting, collecting, stopping).
    #[error("{backend} backend: {what}")]
    Backend {
        /// `local`, `docker` or `ecs`.
        backend: &'static str,
        /// What failed, naming the task or the call.
        what: String,
        /// The underlying error (an SDK or I/O error), when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The run was interrupted; finished results are kept.
    #[error("interrupted: every launched task was stopped; finished results are in {} (resume with `fargate-bench run --resume {}`)", .dir.display(), .dir.display())]
    Interrupted {
        /// Results directory.
        dir: PathBuf,
    },
    /// Some items failed; the others are in the results.
    #[error("{failed} of {total} items failed (reasons in {}); the report covers the rest", .dir.display())]
    ItemsFailed {
        /// Failed items.
        failed: usize,
        /// All items.
        total: usize,
        /// Results directory.
        dir: PathBuf,
    },
    /// A file given to `analyze` is not iperf3 `--json` output.
    #[error("{} is not iperf3 --json output: {why}", .path.display())]
    NotIperf3 {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        why: String,
    },
    /// Writing a report to standard output failed.
    #[error("cannot write the report: {0}")]
    Output(#[source] std::io::Error),
    /// A report file could not be created or written.
    #[error("cannot write {}", .path.display())]
    OutputFile {
        /// The file (`--output`).
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A traffic profile given to `simulate` cannot be read.
    #[error("traffic profile {source_name}: {why}")]
    Profile {
        /// The profile as named (a file or a pattern).
        source_name: String,
        /// What is wrong, and how to write it.
        why: String,
    },
    /// `simulate` has nothing to replay against.
    #[error("cannot simulate: {why}")]
    Simulate {
        /// What is missing, and how to measure it.
        why: String,
    },
    /// A `recommend --need` cannot be used as written.
    #[error("--need {need:?}: {why}")]
    Need {
        /// The need as written.
        need: String,
        /// What is wrong, and how to write it.
        why: String,
    },
    /// Two needs no figure can meet at once.
    #[error("--need {first:?} and --need {second:?} contradict: {why}; drop or correct one")]
    NeedsContradict {
        /// One need as written.
        first: String,
        /// The other.
        second: String,
        /// Why both cannot hold.
        why: String,
    },
    /// No measured size meets every need (the answer printed says which fall short).
    #[error("{why}")]
    NothingMeets {
        /// Which needs no size meets or measured, and what to do.
        why: String,
    },
    /// A `compare --fail-if` rule cannot be used as written, or on these runs.
    #[error("--fail-if {rule:?}: {why}")]
    FailIf {
        /// The rule as written.
        rule: String,
        /// What is wrong, and how to write it or what to run.
        why: String,
    },
    /// Figures moved past a `compare --fail-if` threshold.
    #[error("{} crossed --fail-if: {}", if .crossed.len() == 1 { "1 figure".to_owned() } else { format!("{} figures", .crossed.len()) }, .crossed.join("; "))]
    Regression {
        /// Each figure that crossed: the rule, the figure, its change and interval.
        crossed: Vec<String>,
    },
    /// `history` was given runs it cannot lay out side by side (too few, different suites).
    #[error("cannot lay out a history: {why}")]
    History {
        /// What is wrong with the runs given, and which to give instead.
        why: String,
    },
    /// The run would cost more than the operator allowed.
    #[error("{why}; nothing was launched (raise --max-cost, or run fewer sizes, repetitions or shorter tests)")]
    OverBudget {
        /// The estimate against the cap.
        why: String,
    },
}

impl BenchError {
    /// This error said of the suite file `path` when it is a suite error; any other unchanged.
    pub(crate) fn in_file(self, path: &std::path::Path) -> BenchError {
        match self {
            BenchError::Suite { why, .. } => BenchError::Suite {
                path: Some(path.to_owned()),
                why,
            },
            other => other,
        }
    }

    /// The process exit code for this error: 2 for usage and setup errors (fix the command),
    /// 1 for measurement failures and interruptions.
    pub fn exit_code(&self) -> u8 {
        match self {
            BenchError::InvalidSize { .. }
            | BenchError::Suite { .. }
            | BenchError::EcsSettings { .. }
            | BenchError::Link { .. }
            | BenchError::Unsupported { .. }
            | BenchError::Prices { .. }
            | BenchError::UnknownRegion { .. }
            | BenchError::ProbeNotFound { .. }
            | BenchError::NotAResultsDir { .. }
            | BenchError::Resume { .. }
            | BenchError::NotIperf3 { .. }
            | BenchError::Profile { .. }
            | BenchError::Simulate { .. }
            | BenchError::Need { .. }
            | BenchError::NeedsContradict { .. }
            | BenchError::FailIf { .. }
            | BenchError::History { .. }
            | BenchError::OverBudget { .. } => 2,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_is_said_once_per_cause() {
        let io = std::io::Error::other("connection refused");
        let e = BenchError::Backend {
            backend: "ecs",
            what: "RunTask".into(),
            source: Some(Box::new(io)),
        };
        assert_eq!(describe(&e), "ecs backend: RunTask: connection refused");
        let e = BenchError::Output(std::io::Error::other("disk full"));
        assert_eq!(describe(&e), "cannot write the report: disk full");
        let e = BenchError::OutputFile {
            path: "report.html".into(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(describe(&e), "cannot write report.html: disk full");
    }

    /// Issue 22 (D8): a bad --link, missing ECS settings and an architecture the backend cannot
    /// run are usage errors of their own, not "invalid suite".
    #[test]
    fn link_settings_and_architecture_errors_name_themselves() {
        let link = crate::platform::link::LinkSpec::parse("fast", 1.0).unwrap_err();
        let settings = crate::platform::ecs::settings::EcsSettings::default()
            .validate()
            .unwrap_err();
        for e in [link, settings] {
            assert!(!e.to_string().contains("invalid suite"), "{e}");
            assert_eq!(e.exit_code(), 2, "{e}");
        }
        let e = BenchError::Unsupported {
            backend: "local",
            why: "cannot run ARM64".into(),
        };
        assert_eq!(e.to_string(), "the local backend cannot run ARM64");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn usage_errors_exit_2() {
        let e = BenchError::Suite {
            path: None,
            why: "x".into(),
        };
        assert_eq!(e.exit_code(), 2);
        assert_eq!(BenchError::Interrupted { dir: "d".into() }.exit_code(), 1);
    }
}
