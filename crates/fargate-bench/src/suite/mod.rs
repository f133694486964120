//! What to measure: tests, sizes, architectures, repetitions. A suite comes from a TOML file, a
//! preset, the backend's default or a results directory being resumed ([`SuiteSource`]); flags
//! change it ([`SuiteOverrides`]); and it is validated into a [`Suite`] before anything runs,
//! with errors that name the key and the fix.
//!
//! - [`kind`]: the kinds of test ([`TestKind`]);
//! - [`spec`]: one test and the probe arguments it becomes ([`TestSpec`]);
//! - [`file`](mod@file): the suite as written ([`SuiteFile`]), presets, defaults and overrides;
//! - this module: the validated [`Suite`] and where it comes from.

pub mod file;
pub mod kind;
pub mod spec;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use self::file::{SuiteFile, SuiteOverrides, PRESETS};
pub use self::kind::TestKind;
pub use self::spec::{TestSpec, DEFAULT_MAX_DURATION_SECS};
pub use probe_core::contract::ReceiveWait;

use crate::error::{BenchError, Result};
use crate::platform::ecs::settings::EcsSettings;
use crate::sizes::{Arch, TaskSize};

/// A validated suite: what a run takes ([`crate::runner::RunPlan`]) and what `run.json`
/// stores. Sizes and architectures are typed, each listed once; every test is valid for its
/// kind. [`SuiteFile::validate`] (or [`Suite::load`]) gives one; it is stored and read back in
/// its file form, so a `run.json` reads like a suite file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "SuiteFile", try_from = "SuiteFile")]
pub struct Suite {
    /// Repetitions of every test on every size (interleaved), 1 to 100.
    pub repetitions: u32,
    /// Task sizes, at least one.
    pub sizes: Vec<TaskSize>,
    /// Items run at once, 1 to 64.
    pub concurrency: u32,
    /// The tests, at least one, with distinct labels.
    pub tests: Vec<TestSpec>,
    /// Architectures crossed with the sizes: every test runs on every size on each, side by
    /// side in the report. Empty: the backend's own (ECS: `cpu_architecture`; local and
    /// docker: this machine's).
    pub architectures: Vec<Arch>,
    /// The suite file's `[ecs]` table (same keys as the deploy script's config file), which
    /// the config file and flags override ([`EcsSettings::resolve`]).
    pub ecs: Option<EcsSettings>,
}

impl TryFrom<SuiteFile> for Suite {
    type Error = BenchError;

    fn try_from(file: SuiteFile) -> Result<Suite> {
        file.validate()
    }
}

/// Where a run's suite comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuiteSource<'a> {
    /// A TOML file.
    File(&'a Path),
    /// A built-in preset by name ([`PRESETS`]).
    Preset(&'a str),
    /// The default suite of the backend: [`Suite::default_suite`], or on ECS
    /// [`Suite::default_ecs`].
    Default {
        /// The run goes to ECS Fargate.
        ecs: bool,
    },
    /// The suite stored in a results directory's `run.json`: what `--resume DIR` will run, so
    /// the estimate, `--max-cost`, `--dry-run` and every size and architecture check see it.
    Resumed(&'a Path),
}

impl Suite {
    /// The default suite: short tcp-stream, tcp-rr, udp-stream and a quick memprobe, three
    /// interleaved repetitions on a 1 vCPU / 2 GB size; about a minute on loopback.
    pub fn default_suite() -> Suite {
        SuiteFile::default_suite()
            .validate()
            .expect("the default suite is valid")
    }

    /// The default suite on ECS: a token-bucket network is measured until its baseline holds
    /// (capped at 20 minutes), with request/response latency and a quick memory test, on one
    /// 1 vCPU / 2 GB size.
    pub fn default_ecs() -> Suite {
        SuiteFile::default_ecs()
            .validate()
            .expect("the default ECS suite is valid")
    }

    /// A built-in preset ([`PRESETS`]).
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the presets there are.
    pub fn preset(name: &str) -> Result<Suite> {
        SuiteFile::preset(name)?.validate()
    }

    /// Reads and validates a TOML suite file.
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the file, the key and the fix, or
    /// [`BenchError::InvalidSize`].
    pub fn from_file(path: &Path) -> Result<Suite> {
        SuiteFile::from_file(path)?
            .validate()
            .map_err(|e| e.in_file(path))
    }

    /// Parses and validates a suite from TOML text (what [`Suite::from_file`] reads).
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the key and the fix, or [`BenchError::InvalidSize`].
    pub fn from_toml(text: &str) -> Result<Suite> {
        SuiteFile::from_toml(text)?.validate()
    }

    /// The suite from `source` with `overrides` applied, validated.
    ///
    /// # Errors
    /// [`BenchError::Suite`] or [`BenchError::InvalidSize`] naming the file, key and fix;
    /// [`BenchError::Resume`] when a resumed suite would change (only its concurrency may);
    /// [`BenchError::NotAResultsDir`].
    pub fn load(source: SuiteSource<'_>, overrides: &SuiteOverrides) -> Result<Suite> {
        let suite = match source {
            SuiteSource::File(path) => Suite::from_file(path)?,
            SuiteSource::Preset(name) => Suite::preset(name)?,
            SuiteSource::Default { ecs: false } => Suite::default_suite(),
            SuiteSource::Default { ecs: true } => Suite::default_ecs(),
            SuiteSource::Resumed(dir) => {
                let stored = crate::store::read_meta(dir)?.suite;
                // A resumed run runs what is stored; only how many items run at once may change.
                let only_concurrency = SuiteOverrides {
                    concurrency: overrides.concurrency,
                    ..SuiteOverrides::default()
                };
                if *overrides != only_concurrency {
                    return Err(BenchError::Resume {
                        dir: dir.to_owned(),
                        why: "a resumed run runs the suite stored in its run.json; only the \
                              concurrency may change (drop the size, test, duration, \
                              receive-wait, repetition and architecture flags, or start a new \
                              run)"
                            .into(),
                    });
                }
                stored
            }
        };
        let mut file = SuiteFile::from(suite);
        file.apply(overrides);
        file.validate().map_err(|e| match (e, source) {
            (BenchError::Suite { path: None, why }, SuiteSource::File(p)) => BenchError::Suite {
                path: Some(p.to_owned()),
                why: format!("{why} (after the command line's changes)"),
            },
            (e, _) => e,
        })
    }
}

/// A suite of `tests` on `sizes` crossed with `architectures` (names as a file writes them),
/// validated: the shape the planning, estimate and runner tests start from.
#[cfg(test)]
pub(crate) fn test_suite(
    tests: Vec<TestSpec>,
    sizes: &[&str],
    architectures: &[&str],
    repetitions: u32,
) -> Suite {
    SuiteFile {
        repetitions,
        sizes: sizes.iter().map(|s| (*s).to_owned()).collect(),
        concurrency: 1,
        tests,
        architectures: architectures.iter().map(|a| (*a).to_owned()).collect(),
        ecs: None,
    }
    .validate()
    .expect("a valid test suite")
}

#[cfg(test)]
mod tests;
