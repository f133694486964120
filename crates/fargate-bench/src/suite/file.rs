//! The suite file: the TOML document a user writes (and the shape `run.json` stores), with
//! sizes and architectures as written; the built-in presets and defaults; and what flags change
//! in it. [`SuiteFile::validate`] turns it into the typed [`Suite`] a run takes.
//!
//! ```toml
//! repetitions = 3
//! sizes = ["0.25x0.5", "1x2"]
//! concurrency = 1
//!
//! [[test]]
//! kind = "tcp-stream"
//! duration = 10
//! omit = 2
//! streams = 4
//!
//! [[test]]
//! kind = "memory"
//! quick = true
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use probe_core::contract::{ReceiveWait, TestKind as NetTestKind};

use super::kind::TestKind;
use super::spec::{TestSpec, DEFAULT_MAX_DURATION_SECS};
use super::Suite;
use crate::error::{BenchError, Result};
use crate::platform::ecs::settings::EcsSettings;
use crate::sizes::{Arch, TaskSize};

/// A suite as its TOML file (and `run.json`) has it: sizes and architectures as written,
/// nothing checked yet. [`SuiteFile::validate`] gives the [`Suite`] a run takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// Repetitions of every test on every size (interleaved).
    #[serde(default = "default_repetitions")]
    pub repetitions: u32,
    /// Task sizes, `VCPUxGB`.
    #[serde(default)]
    pub sizes: Vec<String>,
    /// Items run at once.
    #[serde(default = "one")]
    pub concurrency: u32,
    /// The tests.
    #[serde(default, rename = "test")]
    pub tests: Vec<TestSpec>,
    /// CPU architectures crossed with the sizes (`X86_64`, `ARM64`): every test runs on every
    /// size on each, side by side in the report with each one's price. Empty: the backend's
    /// own (ECS: `cpu_architecture`; local and docker: this machine's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// ECS settings (`[ecs]` table, same keys as the deploy script's config file); flags
    /// override them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsSettings>,
}

fn default_repetitions() -> u32 {
    3
}

fn one() -> u32 {
    1
}

/// Built-in suites, `run --preset NAME`; `fargate-bench presets NAME` prints one to copy.
pub const PRESETS: [(&str, &str, &str); 4] = [
    (
        "published-2021",
        "the 2021 blog method: 10 sizes, 2 streams each way for 60 s (the burst only), memory",
        include_str!("../../suites/published-2021.toml"),
    ),
    (
        "sizing",
        "the same 10 sizes until the baseline holds (burst, its length, baseline), rr, memory",
        include_str!("../../suites/sizing.toml"),
    ),
    (
        "sizing-refill",
        "sizing, then idle 5 and 15 minutes and burst again: how fast each bucket refills",
        include_str!("../../suites/sizing-refill.toml"),
    ),
    (
        "fleet",
        "the same 10 sizes on both architectures, 10 short tasks each: the CPU generation mix",
        include_str!("../../suites/fleet.toml"),
    ),
];

/// What flags (or another tool) change in a suite; every field left empty keeps the suite's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuiteOverrides {
    /// Replace the sizes.
    pub sizes: Vec<String>,
    /// Replace the tests with these kinds ([`TestSpec::from_flag`]).
    pub tests: Vec<TestKind>,
    /// Seconds of every network test.
    pub duration: Option<f64>,
    /// Receive wait of every bulk test.
    pub receive_wait: Option<ReceiveWait>,
    /// Repetitions.
    pub repetitions: Option<u32>,
    /// Items at once.
    pub concurrency: Option<u32>,
    /// Replace the architectures (`X86_64`, `ARM64`).
    pub architectures: Vec<String>,
}

impl From<Suite> for SuiteFile {
    /// The file form of a validated suite (what `run.json` stores): sizes and architectures
    /// written by their names.
    fn from(s: Suite) -> SuiteFile {
        SuiteFile {
            repetitions: s.repetitions,
            sizes: s.sizes.iter().map(ToString::to_string).collect(),
            concurrency: s.concurrency,
            tests: s.tests,
            architectures: s
                .architectures
                .iter()
                .map(|a| a.ecs_name().to_owned())
                .collect(),
            ecs: s.ecs,
        }
    }
}

impl SuiteFile {
    /// Applies `o` over this suite (not validated: call [`SuiteFile::validate`] after).
    pub fn apply(&mut self, o: &SuiteOverrides) {
        if !o.sizes.is_empty() {
            self.sizes.clone_from(&o.sizes);
        }
        if !o.tests.is_empty() {
            self.tests = o.tests.iter().map(|&k| TestSpec::from_flag(k)).collect();
        }
        for t in &mut self.tests {
            let bulk = t.kind.network().is_some_and(NetTestKind::is_bulk);
            if let (Some(w), true) = (o.receive_wait, bulk) {
                t.receive_wait = Some(w);
            }
            match (o.duration, t.kind.is_network(), t.drains()) {
                (Some(d), true, false) => t.duration = Some(d),
                (Some(d), true, true) => t.max_duration = Some(d),
                _ => {}
            }
        }
        if let Some(n) = o.repetitions {
            self.repetitions = n;
        }
        if let Some(c) = o.concurrency {
            self.concurrency = c;
        }
        if !o.architectures.is_empty() {
            self.architectures.clone_from(&o.architectures);
        }
    }

    /// Reads a TOML suite file (at most [`crate::files::MAX_CONFIG_BYTES`]); nothing is checked
    /// but its syntax and keys.
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the file and the key.
    pub fn from_file(path: &Path) -> Result<SuiteFile> {
        let text = crate::files::read_text(path, crate::files::MAX_CONFIG_BYTES)
            .map_err(|why| BenchError::Suite { path: None, why })
            .and_then(|text| SuiteFile::from_toml(&text));
        text.map_err(|e| e.in_file(path))
    }

    /// Parses a suite from TOML text; nothing is checked but its syntax and keys.
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the key.
    pub fn from_toml(text: &str) -> Result<SuiteFile> {
        toml::from_str(text).map_err(|e| BenchError::Suite {
            path: None,
            why: e.to_string().trim().replace('\n', " "),
        })
    }

    /// A built-in preset, as written ([`crate::Suite::preset`] validates it).
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the presets there are.
    pub fn preset(name: &str) -> Result<SuiteFile> {
        let (_, _, text) = PRESETS.iter().find(|(n, _, _)| *n == name).ok_or_else(|| {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _, _)| *n).collect();
            BenchError::Suite {
                path: None,
                why: format!("no preset {name:?}; the presets are {}", names.join(", ")),
            }
        })?;
        toml::from_str(text).map_err(|e| BenchError::Suite {
            path: None,
            why: format!("preset {name}: {e}"),
        })
    }

    /// `tests` three times, interleaved, on one 1 vCPU / 2 GB size: the shape of both defaults.
    fn three_times_at_1x2(tests: Vec<TestSpec>) -> SuiteFile {
        SuiteFile {
            repetitions: 3,
            sizes: vec!["1x2".into()],
            concurrency: 1,
            ecs: None,
            architectures: Vec::new(),
            tests,
        }
    }

    /// The default suite on ECS: a token-bucket network is measured until its baseline holds
    /// (capped at 20 minutes), with request/response latency and a quick memory test, on one
    /// 1 vCPU / 2 GB size.
    pub(super) fn default_ecs() -> SuiteFile {
        SuiteFile::three_times_at_1x2(vec![
            TestSpec {
                until_baseline: true,
                max_duration: Some(DEFAULT_MAX_DURATION_SECS),
                ..TestSpec::new(TestKind::TCP_STREAM)
            },
            TestSpec {
                duration: Some(10.0),
                ..TestSpec::new(TestKind::TCP_RR)
            },
            TestSpec::from_flag(TestKind::Memory),
        ])
    }

    /// The default suite: short tcp-stream, tcp-rr, udp-stream and a quick memprobe, three
    /// interleaved repetitions on a 1 vCPU / 2 GB size; about a minute on loopback.
    pub(super) fn default_suite() -> SuiteFile {
        let net = |kind, duration: f64| TestSpec {
            duration: Some(duration),
            ..TestSpec::new(kind)
        };
        SuiteFile::three_times_at_1x2(vec![
            TestSpec {
                omit: Some(0.5),
                ..net(TestKind::TCP_STREAM, 2.0)
            },
            net(TestKind::TCP_RR, 2.0),
            TestSpec {
                rate: Some("1G".into()),
                ..net(TestKind::UDP_STREAM, 2.0)
            },
            TestSpec::from_flag(TestKind::Memory),
        ])
    }

    /// The architectures the suite crosses its sizes with, in the order given; empty when it
    /// leaves the choice to the backend. An unknown or repeated one is an error naming it.
    fn arches(&self) -> Result<Vec<Arch>> {
        let bad = |why: String| BenchError::Suite { path: None, why };
        let mut arches = Vec::new();
        for name in &self.architectures {
            let arch = Arch::parse(name).map_err(|e| bad(format!("`architectures`: {e}")))?;
            if arches.contains(&arch) {
                return Err(bad(format!(
                    "`architectures` lists {arch} twice (as {name:?}); list each once"
                )));
            }
            arches.push(arch);
        }
        Ok(arches)
    }

    /// Checks everything and gives the suite a run takes: sizes and architectures parsed, each
    /// listed once, every test valid for its kind and the probes' caps.
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the key and the fix, or [`BenchError::InvalidSize`].
    pub fn validate(&self) -> Result<Suite> {
        let bad = |why: String| BenchError::Suite { path: None, why };
        if self.tests.is_empty() {
            return Err(bad(
                "no tests; add a [[test]] table with `kind = \"tcp-stream\"` (or another kind)"
                    .into(),
            ));
        }
        if !(1..=100).contains(&self.repetitions) {
            return Err(bad(format!(
                "`repetitions = {}` must be 1..=100",
                self.repetitions
            )));
        }
        if !(1..=64).contains(&self.concurrency) {
            return Err(bad(format!(
                "`concurrency = {}` must be 1..=64",
                self.concurrency
            )));
        }
        for (i, t) in self.tests.iter().enumerate() {
            t.validate(i).map_err(bad)?;
        }
        let mut labels = std::collections::HashSet::new();
        for t in &self.tests {
            if !labels.insert(t.label()) {
                return Err(bad(format!(
                    "two tests share the label {:?}; give one a distinct `name`",
                    t.label()
                )));
            }
        }
        if self.sizes.is_empty() {
            return Err(bad("no sizes; add e.g. `sizes = [\"1x2\"]`".into()));
        }
        let sizes = self
            .sizes
            .iter()
            .map(|s| TaskSize::parse(s))
            .collect::<Result<Vec<_>>>()?;
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = sizes.iter().find(|s| !seen.insert(**s)) {
            return Err(bad(format!("size {dup} is listed twice")));
        }
        Ok(Suite {
            repetitions: self.repetitions,
            sizes,
            concurrency: self.concurrency,
            tests: self.tests.clone(),
            architectures: self.arches()?,
            ecs: self.ecs.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Suite> {
        Suite::from_toml(text)
    }

    #[test]
    fn an_unknown_key_is_named() {
        let err =
            parse("sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\ndurtion = 5\n").unwrap_err();
        assert!(err.to_string().contains("durtion"), "{err}");
        assert!(err.to_string().contains("duration"), "{err}");
    }

    #[test]
    fn each_bad_value_says_what_to_change() {
        for (text, needle) in [
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nduration = -1\n",
                "duration = -1",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"memory\"\nstreams = 2\n",
                "`streams` does not apply",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nreverse = true\n",
                "reverse",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nrate = \"1G\"\n",
                "rate",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nreceive_wait = \"poll\"\n",
                "`receive_wait` applies to tcp-stream and udp-stream only",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nreceive_wait = \"spin\"\n",
                "unknown variant",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"udp-stream\"\nsend_path = \"copy\"\n",
                "`send_path` applies to tcp-stream only",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nsend_path = \"sendfile\"\n",
                "unknown variant",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"udp-stream\"\nrate = \"fast\"\n",
                "not a number",
            ),
            (
                "sizes=[\"1x3.5\"]\n[[test]]\nkind = \"tcp-stream\"\n",
                "nearest valid",
            ),
            ("sizes=[]\n[[test]]\nkind = \"tcp-stream\"\n", "no sizes"),
            ("sizes=[\"1x2\"]\n", "no tests"),
            (
                "sizes=[\"1x2\"]\nrepetitions = 0\n[[test]]\nkind = \"tcp-rr\"\n",
                "repetitions",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\n[[test]]\nkind = \"tcp-rr\"\n",
                "distinct `name`",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"quic\"\n",
                "unknown test kind \"quic\"; use one of tcp-stream",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nmessage = \"1G\"\n",
                "write size",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nmessage = \"0.0001\"\n",
                "`message` \"0.0001\" is not a whole number",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"udp-rr\"\nrate = \"1e30\"\n",
                "`rate` \"1e30\"",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nduration = 1800\nomit = 10\n",
                "over the server's cap",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nstreams = 100\nbidir = true\n",
                "200 parallel streams",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?} gave {err}");
        }
    }

    #[test]
    fn unknown_or_repeated_architectures_are_refused_by_name() {
        let mut suite = SuiteFile::default_suite();
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
