//! What to measure: tests, sizes, repetitions. From flags or a TOML suite file; validated
//! before anything runs, with errors that name the key and the fix.
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

pub use probe_core::contract::ReceiveWait;
use probe_core::contract::{ClientOptions, Flow, RequestCaps, TestKind as NetTestKind};

use crate::error::{BenchError, Result};
use crate::sizes::{Arch, TaskSize};

/// The test kinds a suite can hold (also the values of `--test`): every network test of the
/// probe contract, and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TestKind {
    /// A netprobe server/client pair runs it.
    Network(NetTestKind),
    /// memprobe bandwidth and latency.
    Memory,
}

impl TestKind {
    /// bulk TCP, as suites name it.
    pub const TCP_STREAM: TestKind = TestKind::Network(NetTestKind::TcpStream);
    /// paced UDP.
    pub const UDP_STREAM: TestKind = TestKind::Network(NetTestKind::UdpStream);
    /// TCP request/response.
    pub const TCP_RR: TestKind = TestKind::Network(NetTestKind::TcpRr);

    /// Every kind, network kinds first.
    pub fn all() -> impl Iterator<Item = TestKind> {
        NetTestKind::ALL
            .into_iter()
            .map(TestKind::Network)
            .chain([TestKind::Memory])
    }

    /// Name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TestKind::Network(k) => k.name(),
            TestKind::Memory => "memory",
        }
    }

    /// Whether a server/client pair runs it.
    pub fn is_network(self) -> bool {
        self != TestKind::Memory
    }

    /// The network kind, for a network test.
    pub fn network(self) -> Option<NetTestKind> {
        match self {
            TestKind::Network(k) => Some(k),
            TestKind::Memory => None,
        }
    }

    /// A clap parser of the names, listing them in `--help`.
    pub fn value_parser() -> impl clap::builder::TypedValueParser<Value = TestKind> {
        use clap::builder::TypedValueParser as _;
        let names: Vec<&'static str> = TestKind::all().map(TestKind::name).collect();
        clap::builder::PossibleValuesParser::new(names)
            .map(|name| name.parse::<TestKind>().expect("a listed name"))
    }
}

impl std::str::FromStr for TestKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        TestKind::all().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = TestKind::all().map(TestKind::name).collect();
            format!("unknown test kind {s:?}; use one of {}", names.join(", "))
        })
    }
}

impl TryFrom<String> for TestKind {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<TestKind> for String {
    fn from(k: TestKind) -> String {
        k.name().to_owned()
    }
}

/// A clap parser of [`ReceiveWait`] names, listing them in `--help`.
pub fn receive_wait_parser() -> impl clap::builder::TypedValueParser<Value = ReceiveWait> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(ReceiveWait::ALL.map(ReceiveWait::name))
        .map(|name| name.parse::<ReceiveWait>().expect("a listed name"))
}

/// One test of a suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// What to run.
    pub kind: TestKind,
    /// Label in reports (default: derived from kind and options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Measured seconds (network tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Warm-up seconds excluded from the figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omit: Option<f64>,
    /// Parallel streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<u32>,
    /// Server sends.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reverse: bool,
    /// Both directions.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bidir: bool,
    /// Write, datagram or request size (`128K`, `1400`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Response size of rr tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// UDP bit rate (`1G`) or open-loop requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// How bulk receivers wait (tcp-stream, udp-stream); netprobe's default is `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_wait: Option<ReceiveWait>,
    /// memprobe `--quick`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick: Option<bool>,
    /// memprobe: skip the latency curve.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_latency: bool,
    /// tcp-stream, udp-stream: run until the burst has ended and the baseline held
    /// `baseline_hold` seconds, at most `max_duration` seconds.
    #[serde(default, skip_serializing_if = "is_false")]
    pub until_baseline: bool,
    /// With `until_baseline`: the cap in seconds (default [`DEFAULT_MAX_DURATION_SECS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<f64>,
    /// With `until_baseline`: seconds the baseline must hold (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_hold: Option<f64>,
    /// Interval sample length in seconds (0.1 to 10; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
}

/// The cap of an until-baseline test when the suite names none: 20 minutes, past the longest
/// published Fargate burst (about 19 minutes at 1 vCPU / 4 GB).
pub const DEFAULT_MAX_DURATION_SECS: f64 = 1200.0;

fn is_false(b: &bool) -> bool {
    !*b
}

/// The longest test name: item ids (`REP/SIZE/NAME`) become ECS tag values, which hold at most
/// 256 characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Whether `name` can label results and ECS tasks. The ECS API reference (Tag, TagResource)
/// allows in tag values "letters, numbers, and spaces representable in UTF-8, and the following
/// characters: + - = . _ : / @", up to 256 characters; a name outside that would fail RunTask
/// after the run had started.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.trim().is_empty() {
        return Err("is empty; give the test a name or remove the key".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "is longer than {MAX_NAME_CHARS} characters; shorten it"
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_tag_char(*c)) {
        return Err(format!(
            "contains {bad:?}; use letters, digits, spaces and + - = . _ : / @ (ECS tag rules)"
        ));
    }
    Ok(())
}

/// A character ECS allows in tag keys and values.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c)
}

impl TestSpec {
    /// A test of `kind` with its defaults.
    pub fn new(kind: TestKind) -> Self {
        TestSpec {
            kind,
            name: None,
            duration: None,
            omit: None,
            streams: None,
            reverse: false,
            bidir: false,
            message: None,
            response: None,
            rate: None,
            receive_wait: None,
            quick: None,
            no_latency: false,
            until_baseline: false,
            max_duration: None,
            baseline_hold: None,
            interval: None,
        }
    }

    /// A test of `kind` as `--test KIND` adds it: memory quick, udp-stream at 1 Gbit/s, the
    /// others at the probe's defaults.
    pub fn from_flag(kind: TestKind) -> Self {
        let mut t = TestSpec::new(kind);
        if kind == TestKind::Memory {
            t.quick = Some(true);
        } else if kind == TestKind::UDP_STREAM {
            t.rate = Some("1G".into());
        }
        t
    }

    /// The label used to group results: the name, or kind plus distinguishing options.
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let mut label = self.kind.name().to_owned();
        if let Some(p) = self.streams.filter(|p| *p > 1) {
            label.push_str(&format!(" P{p}"));
        }
        if self.reverse {
            label.push_str(" reverse");
        }
        if self.bidir {
            label.push_str(" bidir");
        }
        if let Some(m) = &self.message {
            label.push_str(&format!(" {m}"));
        }
        if let Some(r) = &self.rate {
            label.push_str(&format!(" @{r}"));
        }
        if self.until_baseline {
            label.push_str(" until-baseline");
        }
        if let Some(w) = self.receive_wait {
            label.push_str(&format!(" rx-{}", w.name()));
        }
        label
    }

    /// Seconds the test occupies a task pair, for planning and deadlines.
    pub fn expected_secs(&self) -> f64 {
        match self.kind {
            TestKind::Memory => {
                if self.quick.unwrap_or(false) {
                    10.0
                } else {
                    60.0
                }
            }
            // An until-baseline test is planned (and priced) at its cap.
            _ if self.until_baseline => {
                self.max_duration.unwrap_or(DEFAULT_MAX_DURATION_SECS) + self.omit.unwrap_or(0.0)
            }
            _ => self.duration.unwrap_or(10.0) + self.omit.unwrap_or(0.0),
        }
    }

    /// The netprobe client options of a network test (the probe contract's defaults for what
    /// the suite leaves out); `None` for memory tests.
    pub fn client_options(&self) -> Option<ClientOptions> {
        let kind = self.kind.network()?;
        let mut o = ClientOptions::new(kind);
        if let Some(d) = self.duration {
            o.duration_secs = d;
        }
        if let Some(omit) = self.omit {
            o.omit_secs = omit;
        }
        if let Some(p) = self.streams {
            o.streams = p;
        }
        o.flow = match (self.reverse, self.bidir) {
            (true, _) => Flow::Reverse,
            (_, true) => Flow::Bidirectional,
            _ => Flow::Forward,
        };
        o.length.clone_from(&self.message);
        o.response_size.clone_from(&self.response);
        o.rate.clone_from(&self.rate);
        if let Some(w) = self.receive_wait {
            o.receive_wait = w;
        }
        if let Some(i) = self.interval {
            o.interval_secs = i;
        }
        if self.until_baseline {
            o.until_baseline = true;
            o.duration_secs = self.max_duration.unwrap_or(DEFAULT_MAX_DURATION_SECS);
            if let Some(h) = self.baseline_hold {
                o.baseline_hold_secs = h;
            }
        }
        Some(o)
    }

    /// The netprobe client arguments (after `client --server ADDR`), or memprobe arguments.
    pub fn probe_args(&self) -> Vec<String> {
        match self.client_options() {
            Some(options) => options.to_args(),
            None => {
                let mut out = Vec::new();
                if self.quick.unwrap_or(false) {
                    out.push("--quick".to_owned());
                }
                if self.no_latency {
                    out.push("--no-latency".to_owned());
                }
                out
            }
        }
    }

    fn validate(&self, index: usize) -> std::result::Result<(), String> {
        let at = format!("test #{} ({})", index + 1, self.kind.name());
        if let Some(name) = &self.name {
            check_name(name).map_err(|why| format!("{at}: `name = {name:?}` {why}"))?;
        }
        let secs = |v: Option<f64>, key: &str, min: f64| -> std::result::Result<(), String> {
            match v {
                Some(s) if !s.is_finite() || s < min || s > 3600.0 => Err(format!(
                    "{at}: `{key} = {s}` must be between {min} and 3600 seconds"
                )),
                _ => Ok(()),
            }
        };
        if self.kind == TestKind::Memory {
            for (key, set) in [
                ("duration", self.duration.is_some()),
                ("omit", self.omit.is_some()),
                ("streams", self.streams.is_some()),
                ("reverse", self.reverse),
                ("bidir", self.bidir),
                ("message", self.message.is_some()),
                ("response", self.response.is_some()),
                ("rate", self.rate.is_some()),
                ("receive_wait", self.receive_wait.is_some()),
                ("until_baseline", self.until_baseline),
                ("max_duration", self.max_duration.is_some()),
                ("baseline_hold", self.baseline_hold.is_some()),
                ("interval", self.interval.is_some()),
            ] {
                if set {
                    return Err(format!(
                        "{at}: `{key}` does not apply to memory tests; remove it"
                    ));
                }
            }
            return Ok(());
        }
        if self.quick.is_some() || self.no_latency {
            return Err(format!(
                "{at}: `quick`/`no_latency` apply to memory tests only; remove them"
            ));
        }
        secs(self.duration, "duration", 0.1)?;
        secs(self.max_duration, "max_duration", 0.1)?;
        secs(self.baseline_hold, "baseline_hold", 0.1)?;
        if self.until_baseline && self.duration.is_some() {
            return Err(format!(
                "{at}: an until_baseline test has no fixed `duration`; give its cap as \
                 `max_duration` (default {DEFAULT_MAX_DURATION_SECS} s)"
            ));
        }
        if !self.until_baseline && (self.max_duration.is_some() || self.baseline_hold.is_some()) {
            return Err(format!(
                "{at}: `max_duration` and `baseline_hold` go with `until_baseline = true`; add \
                 it, or use `duration` for a fixed length"
            ));
        }
        secs(self.omit, "omit", 0.0)?;
        if let Some(p) = self.streams {
            if p == 0 || p > 128 {
                return Err(format!("{at}: `streams = {p}` must be 1..=128"));
            }
        }
        if self.reverse && self.bidir {
            return Err(format!(
                "{at}: `reverse` and `bidir` exclude each other; keep one"
            ));
        }
        if (self.reverse || self.bidir) && !self.kind.network().is_some_and(NetTestKind::is_bulk) {
            return Err(format!(
                "{at}: `reverse`/`bidir` apply to tcp-stream and udp-stream only"
            ));
        }
        if self.receive_wait.is_some() && !self.kind.network().is_some_and(NetTestKind::is_bulk) {
            return Err(format!(
                "{at}: `receive_wait` applies to tcp-stream and udp-stream only; remove it"
            ));
        }
        if self.kind == TestKind::TCP_STREAM && self.rate.is_some() {
            return Err(format!(
                "{at}: `rate` does not apply to tcp-stream; TCP runs as fast as it can"
            ));
        }
        // The probe's own check and the caps its server runs with: a suite accepted here is
        // never refused by a probe after its tasks were launched.
        let options = self.client_options().expect("a network test");
        let request = options.to_request().map_err(|e| {
            let e = e
                .to_string()
                .replace("--length", "`message`")
                .replace("--response-size", "`response`")
                .replace("--rate", "`rate`")
                .replace("--time", "`duration`")
                .replace("--omit", "`omit`");
            format!("{at}: {e}")
        })?;
        RequestCaps::default()
            .check(&request)
            .map_err(|e| format!("{at}: {e}"))?;
        Ok(())
    }
}

/// A whole suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
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
    pub ecs: Option<crate::platform::ecs::settings::EcsSettings>,
}

fn default_repetitions() -> u32 {
    3
}

fn one() -> u32 {
    1
}

/// Built-in suites, `run --preset NAME`; `fargate-bench presets NAME` prints one to copy.
pub const PRESETS: [(&str, &str, &str); 2] = [
    (
        "published-2021",
        "the 2021 blog method: 10 sizes, 2 streams each way for 60 s (the burst only), memory",
        include_str!("../suites/published-2021.toml"),
    ),
    (
        "sizing",
        "the same 10 sizes until the baseline holds (burst, its length, baseline), rr, memory",
        include_str!("../suites/sizing.toml"),
    ),
];

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

impl Suite {
    /// Applies `o` over this suite (not validated: call [`Suite::validate`] after).
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
            match (o.duration, t.kind.is_network(), t.until_baseline) {
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

    /// The architectures the suite crosses its sizes with, in the order given; empty when it
    /// leaves the choice to the backend.
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming an unknown or repeated architecture.
    pub fn arches(&self) -> Result<Vec<Arch>> {
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

    /// A built-in preset.
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the presets there are.
    pub fn preset(name: &str) -> Result<Suite> {
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

    /// The suite from `source` with `overrides` applied, validated, and its sizes.
    ///
    /// # Errors
    /// [`BenchError::Suite`] or [`BenchError::InvalidSize`] naming the file, key and fix.
    pub fn load(
        source: SuiteSource<'_>,
        overrides: &SuiteOverrides,
    ) -> Result<(Suite, Vec<TaskSize>)> {
        let file = match source {
            SuiteSource::File(path) => Some(path),
            _ => None,
        };
        let mut suite = match source {
            SuiteSource::File(path) => Suite::from_file(path)?,
            SuiteSource::Preset(name) => Suite::preset(name)?,
            SuiteSource::Default { ecs: false } => Suite::default_suite(),
            SuiteSource::Default { ecs: true } => Suite::default_ecs(),
            SuiteSource::Resumed(dir) => crate::store::read_meta(dir)?.suite,
        };
        if let SuiteSource::Resumed(dir) = source {
            // A resumed run runs what is stored; only how many items run at once may change.
            let only_concurrency = SuiteOverrides {
                concurrency: overrides.concurrency,
                ..SuiteOverrides::default()
            };
            if *overrides != only_concurrency {
                return Err(BenchError::Resume {
                    dir: dir.to_owned(),
                    why: "a resumed run runs the suite stored in its run.json; only the \
                          concurrency may change (drop the size, test, duration, receive-wait, \
                          repetition and architecture flags, or start a new run)"
                        .into(),
                });
            }
        }
        suite.apply(overrides);
        let sizes = suite.validate().map_err(|e| match (e, file) {
            (BenchError::Suite { path: None, why }, Some(p)) => BenchError::Suite {
                path: Some(p.to_owned()),
                why: format!("{why} (after the command line's changes)"),
            },
            (e, _) => e,
        })?;
        Ok((suite, sizes))
    }

    /// The default suite on ECS: a token-bucket network is measured until its baseline holds
    /// (capped at 20 minutes), with request/response latency and a quick memory test, on one
    /// 1 vCPU / 2 GB size.
    pub fn default_ecs() -> Suite {
        Suite {
            repetitions: 3,
            sizes: vec!["1x2".into()],
            concurrency: 1,
            ecs: None,
            architectures: Vec::new(),
            tests: vec![
                TestSpec {
                    until_baseline: true,
                    max_duration: Some(DEFAULT_MAX_DURATION_SECS),
                    ..TestSpec::new(TestKind::TCP_STREAM)
                },
                TestSpec {
                    duration: Some(10.0),
                    ..TestSpec::new(TestKind::TCP_RR)
                },
                TestSpec {
                    quick: Some(true),
                    ..TestSpec::new(TestKind::Memory)
                },
            ],
        }
    }

    /// The default suite: short tcp-stream, tcp-rr, udp-stream and a quick memprobe, three
    /// interleaved repetitions on a 1 vCPU / 2 GB size; about a minute on loopback.
    pub fn default_suite() -> Suite {
        let net = |kind, duration: f64| TestSpec {
            duration: Some(duration),
            ..TestSpec::new(kind)
        };
        Suite {
            repetitions: 3,
            sizes: vec!["1x2".into()],
            concurrency: 1,
            ecs: None,
            architectures: Vec::new(),
            tests: vec![
                TestSpec {
                    omit: Some(0.5),
                    ..net(TestKind::TCP_STREAM, 2.0)
                },
                net(TestKind::TCP_RR, 2.0),
                TestSpec {
                    rate: Some("1G".into()),
                    ..net(TestKind::UDP_STREAM, 2.0)
                },
                TestSpec {
                    quick: Some(true),
                    ..TestSpec::new(TestKind::Memory)
                },
            ],
        }
    }

    /// Reads and validates a TOML suite file.
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the file, the key and the fix.
    pub fn from_file(path: &Path) -> Result<Suite> {
        let text =
            crate::files::read_text(path, crate::files::MAX_CONFIG_BYTES).map_err(|why| {
                BenchError::Suite {
                    path: Some(path.to_owned()),
                    why,
                }
            })?;
        Self::from_toml(&text).map_err(|e| match e {
            BenchError::Suite { why, .. } => BenchError::Suite {
                path: Some(path.to_owned()),
                why,
            },
            other => other,
        })
    }

    /// Parses and validates a suite from TOML text (what [`Suite::from_file`] reads).
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the key and the fix, or [`BenchError::InvalidSize`].
    pub fn from_toml(text: &str) -> Result<Suite> {
        let suite: Suite = toml::from_str(text).map_err(|e| BenchError::Suite {
            path: None,
            why: e.to_string().trim().replace('\n', " "),
        })?;
        suite.validate()?;
        Ok(suite)
    }

    /// Checks everything and returns the parsed sizes.
    ///
    /// # Errors
    /// [`BenchError::Suite`] or [`BenchError::InvalidSize`].
    pub fn validate(&self) -> Result<Vec<TaskSize>> {
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
        self.arches()?;
        Ok(sizes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Suite> {
        Suite::from_toml(text)
    }

    #[test]
    fn the_default_suite_is_valid_and_short() {
        let s = Suite::default_suite();
        s.validate().unwrap();
        let secs: f64 =
            s.tests.iter().map(TestSpec::expected_secs).sum::<f64>() * f64::from(s.repetitions);
        assert!(secs <= 60.0, "{secs}");
    }

    #[test]
    fn a_full_suite_parses() {
        let s = parse(
            "repetitions = 2\nsizes = [\"0.25x0.5\", \"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\n\
             duration = 5\nstreams = 4\nreverse = true\nreceive_wait = \"block\"\n\
             [[test]]\nkind = \"memory\"\nquick = true\n",
        )
        .unwrap();
        assert_eq!(s.tests.len(), 2);
        assert_eq!(s.tests[0].label(), "tcp-stream P4 reverse rx-block");
        assert_eq!(
            s.tests[0].probe_args(),
            [
                "--test",
                "tcp-stream",
                "--time",
                "5",
                "--parallel",
                "4",
                "--reverse",
                "--receive-wait",
                "block"
            ]
        );
    }

    /// Issue 11, defect 8: names become ECS tag values (API reference, Tag: letters, digits,
    /// spaces and `+ - = . _ : / @`, values up to 256 characters).
    #[test]
    fn test_names_obey_the_ecs_tag_rules() {
        let suite = |name: &str| {
            parse(&format!(
                "sizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nname = {name:?}\n"
            ))
        };
        suite("rr 64B: p99/@edge=1+2_x").unwrap();
        for bad in ["a,b", "quote\"d", "tab\there", "", "x#y"] {
            let e = suite(bad).unwrap_err().to_string();
            assert!(e.contains("name") && e.contains("test #1"), "{bad:?}: {e}");
        }
        let e = suite(&"n".repeat(MAX_NAME_CHARS + 1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("longer than 200"), "{e}");
        // The longest item id still fits a tag value.
        let id = format!("9999/16x120/{}", "n".repeat(MAX_NAME_CHARS));
        assert!(id.len() <= 256);
    }

    #[test]
    fn a_suite_may_carry_ecs_settings() {
        let s = parse(
            "sizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\n[ecs]\ncluster = \"bench\"\nsubnet = \"subnet-1\"\n",
        )
        .unwrap();
        let ecs = s.ecs.unwrap();
        assert_eq!(
            (ecs.cluster.as_str(), ecs.subnet.as_str()),
            ("bench", "subnet-1")
        );
    }

    #[test]
    fn flags_override_the_suite_where_they_apply() {
        let o = SuiteOverrides {
            tests: vec![TestKind::UDP_STREAM, TestKind::Memory, TestKind::TCP_STREAM],
            duration: Some(3.0),
            receive_wait: Some(ReceiveWait::Block),
            repetitions: Some(2),
            sizes: vec!["0.5x1".into()],
            concurrency: None,
            architectures: vec!["ARM64".into()],
        };
        let (s, sizes) = Suite::load(SuiteSource::Default { ecs: false }, &o).unwrap();
        assert_eq!(sizes.len(), 1);
        assert_eq!(s.repetitions, 2);
        assert_eq!(s.arches().unwrap(), [Arch::Arm]);
        assert_eq!(s.tests[0].rate.as_deref(), Some("1G"));
        assert_eq!(s.tests[1].quick, Some(true));
        assert_eq!(s.tests[1].duration, None, "memory has no duration");
        assert_eq!(s.tests[2].receive_wait, Some(ReceiveWait::Block));
        assert_eq!(s.tests[2].duration, Some(3.0));
        let bad = SuiteOverrides {
            duration: Some(-5.0),
            ..Default::default()
        };
        let e = Suite::load(SuiteSource::Default { ecs: false }, &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duration = -5"), "{e}");
    }

    #[test]
    fn presets_and_the_ecs_default_are_valid_and_say_what_they_are() {
        for (name, _, text) in PRESETS {
            let (suite, sizes) = Suite::load(SuiteSource::Preset(name), &Default::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(sizes.len(), 10, "{name}");
            assert!(text.starts_with(&format!("# {name}:")), "{name}");
            assert!(suite.tests.iter().any(|t| t.kind == TestKind::Memory));
        }
        let sizing = Suite::preset("sizing").unwrap();
        let stream = &sizing.tests[0];
        assert!(stream.until_baseline);
        assert_eq!(
            stream.expected_secs(),
            1200.0,
            "planned and priced at its cap"
        );
        let args = stream.probe_args();
        assert!(args.contains(&"--until-baseline".to_owned()), "{args:?}");
        assert!(
            args.windows(2).any(|w| w[0] == "--time" && w[1] == "1200"),
            "{args:?}"
        );
        let (ecs, _) =
            Suite::load(SuiteSource::Default { ecs: true }, &Default::default()).unwrap();
        assert!(ecs.tests[0].until_baseline);
        let e = Suite::preset("fastest").unwrap_err().to_string();
        assert!(e.contains("published-2021, sizing"), "{e}");
    }

    #[test]
    fn until_baseline_keys_are_checked() {
        for (text, needle) in [
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nuntil_baseline = true\nduration = 60\n",
                "`max_duration`",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nmax_duration = 60\n",
                "until_baseline = true",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nuntil_baseline = true\nmax_duration = 60\n",
                "tcp-rr",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nuntil_baseline = true\nmax_duration = 2000\n",
                "over the server's cap",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"memory\"\nuntil_baseline = true\n",
                "does not apply to memory",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?} gave {err}");
        }
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
}
