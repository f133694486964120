//! One test of a suite: what it runs, its options, and the probe arguments they become.

use serde::{Deserialize, Serialize};

use probe_core::contract::{
    quantity, ClientOptions, Flow, ReceiveWait, RequestCaps, SendPath, TestKind as NetTestKind,
    MAX_REFILL_IDLES, MIN_REFILL_IDLE_MS,
};

use super::kind::TestKind;
use crate::platform::ecs::tags;

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
    /// How tcp-stream senders hand over their payload; netprobe's default is `auto` (splice
    /// where a pipe holds one write, else copy); `copy` for an application's CPU per byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_path: Option<SendPath>,
    /// Closed-loop tcp-rr and udp-rr: the waiting side spins instead of sleeping
    /// (`--busy-poll`); each side then spends a CPU for lower latency.
    #[serde(default, skip_serializing_if = "is_false")]
    pub busy_poll: bool,
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
    /// tcp-stream, one direction: a refill test. After the until-baseline drain, stay idle
    /// each of these times (`"30s"`, `"2m"`) and burst again until the baseline is back; the
    /// bytes each re-burst sends above the baseline give the refill rate. Implies
    /// `until_baseline`; each idle time at most the cap (`max_duration`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refill: Vec<String>,
    /// tcp-stream, udp-stream, one direction: send a traffic pattern instead of as fast as the
    /// path allows, steps of `RATE:TIME` (`"2G:20s,0:40s,500M:30s"`); on tcp-stream what the
    /// path cannot take yet waits and goes as soon as it can, the backlog `simulate` models.
    /// At most `duration` long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_profile: Option<String>,
    /// tcp-stream, one direction: latency under load. This many small round-trip probes a
    /// second on a flow of their own beside the stream (1 to 1000; 50 resolves a queue's
    /// growth within a second); the report gives their round trips and losses and the
    /// stream's retransmits at the burst and at the baseline, and whether the limit queues or
    /// drops. Best with `until_baseline`, so both regimes are in the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_under_load: Option<u32>,
    /// tcp-stream, udp-stream, one direction: one bucket or two. After the until-baseline
    /// drain, the same test runs at once in the other direction until its own baseline holds,
    /// and the report says whether inbound and outbound share one token bucket. Implies
    /// `until_baseline`; priced at the cap (`max_duration`) for both directions.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shared_bucket: bool,
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
            send_path: None,
            busy_poll: false,
            quick: None,
            no_latency: false,
            until_baseline: false,
            max_duration: None,
            baseline_hold: None,
            refill: Vec::new(),
            rate_profile: None,
            latency_under_load: None,
            shared_bucket: false,
            interval: None,
        }
    }

    /// Whether the test runs until its baseline holds: `until_baseline`, or a refill or
    /// shared-bucket test (whose drain does).
    pub fn drains(&self) -> bool {
        self.until_baseline || !self.refill.is_empty() || self.shared_bucket
    }

    /// The refill idle times in milliseconds, those that parse (all of them in a validated
    /// suite).
    fn refill_idle_ms(&self) -> impl Iterator<Item = u64> + '_ {
        self.refill
            .iter()
            .filter_map(|idle| quantity::parse_duration_ms(idle).ok())
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
        if self.rate_profile.is_some() {
            label.push_str(" profile");
        }
        if !self.refill.is_empty() {
            let idles: Vec<&str> = self.refill.iter().map(|i| i.trim()).collect();
            label.push_str(&format!(" refill {}", idles.join(" ")));
        } else if self.shared_bucket {
            label.push_str(" shared-bucket");
        } else if self.until_baseline {
            label.push_str(" until-baseline");
        }
        if let Some(w) = self.receive_wait {
            label.push_str(&format!(" rx-{}", w.name()));
        }
        if let Some(p) = self.send_path {
            label.push_str(&format!(" send-{}", p.name()));
        }
        if self.busy_poll {
            label.push_str(" busy-poll");
        }
        if let Some(n) = self.latency_under_load {
            label.push_str(&format!(" latency-under-load {n}/s"));
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
            // An until-baseline test is planned (and priced) at its cap; a refill test at its
            // drain and every re-burst at the cap, plus the idle times; a shared-bucket test at
            // its drain and the other direction at the cap.
            _ if self.drains() => {
                let cap = self.max_duration.unwrap_or(DEFAULT_MAX_DURATION_SECS);
                let idles: Vec<u64> = self.refill_idle_ms().collect();
                let idle_secs = idles.iter().sum::<u64>() as f64 / 1000.0;
                let phases = 1 + idles.len() + usize::from(self.shared_bucket);
                cap * phases as f64 + idle_secs + self.omit.unwrap_or(0.0)
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
        if let Some(p) = self.send_path {
            o.send_path = p;
        }
        o.busy_poll = self.busy_poll;
        if let Some(i) = self.interval {
            o.interval_secs = i;
        }
        if self.drains() {
            o.until_baseline = true;
            o.duration_secs = self.max_duration.unwrap_or(DEFAULT_MAX_DURATION_SECS);
            if let Some(h) = self.baseline_hold {
                o.baseline_hold_secs = h;
            }
        }
        o.refill.clone_from(&self.refill);
        o.shared_bucket = self.shared_bucket;
        o.rate_profile.clone_from(&self.rate_profile);
        o.latency_under_load = self.latency_under_load;
        Some(o)
    }

    /// The caps this test's server runs with: netprobe's defaults, except that a refill test's
    /// drain, re-bursts and idle times, or a shared-bucket test's two directions, which can
    /// outlast the default cap of a test, are covered: `(1 + idles) x cap + sum(idles)` or
    /// `2 x cap`, in whole seconds.
    pub fn server_caps(&self) -> RequestCaps {
        let default = RequestCaps::default();
        if self.refill.is_empty() && !self.shared_bucket {
            return default;
        }
        let worst_ms = (self.expected_secs() * 1000.0).ceil() as u64;
        RequestCaps {
            max_duration_ms: default.max_duration_ms.max(worst_ms.div_ceil(1000) * 1000),
            ..default
        }
    }

    /// The `netprobe server` arguments this test needs beyond its defaults: a `--max-duration`
    /// that covers a refill or shared-bucket test ([`TestSpec::server_caps`]), nothing for any
    /// other test.
    pub fn server_args(&self) -> Vec<String> {
        let caps = self.server_caps();
        if caps == RequestCaps::default() {
            return Vec::new();
        }
        vec![
            "--max-duration".to_owned(),
            (caps.max_duration_ms / 1000).to_string(),
        ]
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

    /// Checks the test as the `index`-th (0-based) of its suite: every key applies to its kind
    /// and holds a value the probe and its server accept. The error names the test and the key.
    pub(super) fn validate(&self, index: usize) -> std::result::Result<(), String> {
        let at = format!("test #{} ({})", index + 1, self.kind.name());
        if let Some(name) = &self.name {
            tags::check_name(name).map_err(|why| format!("{at}: `name = {name:?}` {why}"))?;
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
                ("send_path", self.send_path.is_some()),
                ("busy_poll", self.busy_poll),
                ("until_baseline", self.until_baseline),
                ("max_duration", self.max_duration.is_some()),
                ("baseline_hold", self.baseline_hold.is_some()),
                ("refill", !self.refill.is_empty()),
                ("shared_bucket", self.shared_bucket),
                ("rate_profile", self.rate_profile.is_some()),
                ("latency_under_load", self.latency_under_load.is_some()),
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
        if self.drains() && self.duration.is_some() {
            return Err(format!(
                "{at}: an until_baseline test has no fixed `duration`; give its cap as \
                 `max_duration` (default {DEFAULT_MAX_DURATION_SECS} s)"
            ));
        }
        if !self.drains() && (self.max_duration.is_some() || self.baseline_hold.is_some()) {
            return Err(format!(
                "{at}: `max_duration` and `baseline_hold` go with `until_baseline = true`; add \
                 it, or use `duration` for a fixed length"
            ));
        }
        self.validate_refill(&at)?;
        self.validate_shared_bucket(&at)?;
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
        if self.send_path.is_some() && self.kind.network() != Some(NetTestKind::TcpStream) {
            return Err(format!(
                "{at}: `send_path` applies to tcp-stream only; remove it"
            ));
        }
        if self.busy_poll
            && (!matches!(
                self.kind.network(),
                Some(NetTestKind::TcpRr | NetTestKind::UdpRr)
            ) || self.rate.is_some())
        {
            return Err(format!(
                "{at}: `busy_poll` applies to closed-loop tcp-rr and udp-rr (without `rate`); \
                 remove it"
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
                .replace("--rate-profile", "`rate_profile`")
                .replace("--latency-under-load", "`latency_under_load`")
                .replace("--shared-bucket", "`shared_bucket`")
                .replace(
                    "--until-baseline and --refill",
                    "`until_baseline` and `refill`",
                )
                .replace("--rate ", "`rate` ")
                .replace("--rate,", "`rate`,")
                .replace("--time", "`duration`")
                .replace("--omit", "`omit`");
            format!("{at}: {e}")
        })?;
        self.server_caps()
            .check(&request)
            .map_err(|e| format!("{at}: {e}"))?;
        Ok(())
    }

    /// The `shared_bucket` key's own checks, in the suite's words (the probe's would name its
    /// flags): a drain of one direction of a bulk test, then the other direction.
    fn validate_shared_bucket(&self, at: &str) -> std::result::Result<(), String> {
        if !self.shared_bucket {
            return Ok(());
        }
        let fix = if !matches!(self.kind, TestKind::TCP_STREAM | TestKind::UDP_STREAM) {
            format!("not {}; remove it", self.kind.name())
        } else if self.bidir {
            "not `bidir`: it drains one direction, then runs the other; remove `bidir` \
             (`reverse = true` drains server to client first)"
                .into()
        } else if !self.refill.is_empty() || self.rate_profile.is_some() {
            "not with `refill` or `rate_profile`; give it a test of its own".into()
        } else if self.omit.is_some() {
            "not with `omit`: a warm-up spends, unmeasured, the burst the other direction is \
             read by; remove `omit`"
                .into()
        } else if self.kind == TestKind::UDP_STREAM && self.rate.as_deref() == Some("unlimited") {
            "with a `rate` like \"1G\" on udp-stream: the server sends the other direction, \
             and never unpaced"
                .into()
        } else {
            return Ok(());
        };
        Err(format!(
            "{at}: `shared_bucket = true` applies to one direction of tcp-stream or udp-stream, \
             {fix}"
        ))
    }

    /// The `refill` key's own checks, in the suite's words (the probe's would name its flags).
    fn validate_refill(&self, at: &str) -> std::result::Result<(), String> {
        if self.refill.is_empty() {
            return Ok(());
        }
        let list = format!("`refill = {:?}`", self.refill);
        if self.kind != TestKind::TCP_STREAM || self.bidir {
            return Err(format!(
                "{at}: {list} applies to one direction of tcp-stream; remove it{}",
                if self.bidir {
                    " or `bidir` (`reverse = true` measures server to client)"
                } else {
                    ""
                }
            ));
        }
        if self.omit.is_some() {
            return Err(format!(
                "{at}: `omit` with {list}: a warm-up spends bucket the test cannot count; \
                 remove `omit`"
            ));
        }
        if self.refill.len() > MAX_REFILL_IDLES {
            return Err(format!(
                "{at}: {list} lists {} idle times; give at most {MAX_REFILL_IDLES}",
                self.refill.len()
            ));
        }
        let cap = self.max_duration.unwrap_or(DEFAULT_MAX_DURATION_SECS);
        for idle in &self.refill {
            let ms = quantity::parse_duration_ms(idle).map_err(|e| format!("{at}: {list}: {e}"))?;
            let secs = ms as f64 / 1000.0;
            if ms < MIN_REFILL_IDLE_MS {
                return Err(format!(
                    "{at}: {list}: an idle time of {secs} s refills nothing measurable; give \
                     idle times of at least {} s, like [\"30s\", \"120s\"]",
                    MIN_REFILL_IDLE_MS as f64 / 1000.0
                ));
            }
            if secs > cap {
                return Err(format!(
                    "{at}: {list}: an idle time of {secs} s is longer than the test's cap of \
                     {cap} s (`max_duration`); idle at most the cap, or raise `max_duration`"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use probe_core::contract::{Refusal, RequestCaps};

    use super::TestSpec;
    use crate::error::Result;
    use crate::platform::ecs::tags::MAX_NAME_CHARS;
    use crate::suite::Suite;
    use crate::suite::TestKind;

    fn parse(text: &str) -> Result<Suite> {
        Suite::from_toml(text)
    }

    #[test]
    fn a_full_suite_parses() {
        let s = parse(
            "repetitions = 2\nsizes = [\"0.25x0.5\", \"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\n\
             duration = 5\nstreams = 4\nreverse = true\nreceive_wait = \"block\"\n\
             send_path = \"copy\"\n[[test]]\nkind = \"memory\"\nquick = true\n",
        )
        .unwrap();
        assert_eq!(s.tests.len(), 2);
        assert_eq!(
            s.tests[0].label(),
            "tcp-stream P4 reverse rx-block send-copy"
        );
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
                "block",
                "--send-path",
                "copy"
            ]
        );
    }

    /// Issue 26: `busy_poll` reaches the probe as `--busy-poll`, on closed-loop round trips
    /// only; anywhere else the suite is refused naming the key.
    #[test]
    fn busy_poll_is_a_closed_loop_round_trip_key() {
        let s =
            parse("sizes = [\"1x2\"]\n[[test]]\nkind = \"udp-rr\"\nbusy_poll = true\n").unwrap();
        assert_eq!(s.tests[0].label(), "udp-rr busy-poll");
        assert!(s.tests[0].probe_args().contains(&"--busy-poll".to_owned()));
        assert!(
            s.tests[0]
                .client_options()
                .unwrap()
                .to_request()
                .unwrap()
                .busy_poll
        );
        for keys in [
            "kind = \"tcp-stream\"\nbusy_poll = true",
            "kind = \"tcp-crr\"\nbusy_poll = true",
            "kind = \"tcp-rr\"\nbusy_poll = true\nrate = \"1000\"",
            "kind = \"memory\"\nbusy_poll = true",
        ] {
            let e = parse(&format!("sizes = [\"1x2\"]\n[[test]]\n{keys}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("`busy_poll`") && e.contains("test #1"),
                "{keys}: {e}"
            );
        }
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

    /// Issue 24: `refill` drains, idles and bursts again; the server is told to allow every
    /// phase, and the plan, the estimate and the deadlines count every phase.
    #[test]
    fn a_refill_test_drains_and_its_server_covers_every_phase() {
        let s = parse(
            "sizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nrefill = [\"30s\", \"2m\"]\n\
             baseline_hold = 60\n[[test]]\nkind = \"tcp-stream\"\nreverse = true\n\
             until_baseline = true\nmax_duration = 600\nrefill = [\"4s\"]\n",
        )
        .unwrap();
        let (t, r) = (&s.tests[0], &s.tests[1]);
        assert_eq!(t.label(), "tcp-stream refill 30s 2m");
        assert_eq!(r.label(), "tcp-stream reverse refill 4s");
        let args = t.probe_args();
        for (flag, value) in [("--time", "1200"), ("--refill", "30s,2m")] {
            assert!(
                args.windows(2).any(|w| w[0] == flag && w[1] == value),
                "{args:?}"
            );
        }
        assert!(args.contains(&"--until-baseline".to_owned()), "{args:?}");
        // The drain and two re-bursts at the 1200 s cap, and 150 s idle.
        assert_eq!(t.expected_secs(), 3.0 * 1200.0 + 150.0);
        assert_eq!(r.expected_secs(), 2.0 * 600.0 + 4.0);
        assert_eq!(t.server_args(), ["--max-duration", "3750"]);
        // The server's default cap (1800 s) would refuse the first; the second fits it.
        let request = t.client_options().unwrap().to_request().unwrap();
        assert_eq!(request.worst_case_ms(), 3_750_000);
        let refused = RequestCaps::default().check(&request).unwrap_err();
        assert!(
            matches!(refused, Refusal::RefillDuration { .. }),
            "{refused}"
        );
        t.server_caps().check(&request).unwrap();
        assert!(r.server_args().is_empty(), "{:?}", r.server_args());
        assert!(TestSpec::new(TestKind::TCP_STREAM).server_args().is_empty());
    }

    /// Issue 24, bad input: an idle time of zero, negative, unreadable or longer than the cap,
    /// too many of them, or `refill` on a test that cannot drain one direction is refused with
    /// the value and the fix.
    #[test]
    fn refill_values_are_refused_with_the_value_and_the_fix() {
        let stream =
            |keys: &str| format!("sizes=[\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\n{keys}\n");
        let many = format!("refill = {:?}", vec!["1s"; 17]);
        for (text, needle) in [
            (stream("refill = [\"0s\"]"), "an idle time of 0 s refills nothing measurable; give idle times of at least 0.1 s"),
            (stream("refill = [\"30s\", \"-4s\"]"), "\"-4s\" is a negative time; give a time like 30s"),
            (stream("refill = [\"soon\"]"), "`refill = [\"soon\"]`: \"soon\" is not a time; give a time like 30s"),
            (
                stream("refill = [\"21m\"]"),
                "an idle time of 1260 s is longer than the test's cap of 1200 s (`max_duration`); idle at most the cap, or raise `max_duration`",
            ),
            (
                stream("refill = [\"90s\"]\nmax_duration = 60"),
                "an idle time of 90 s is longer than the test's cap of 60 s",
            ),
            (stream(&many), "lists 17 idle times; give at most 16"),
            (stream("refill = [\"4s\"]\nbidir = true"), "`reverse = true` measures server to client"),
            (stream("refill = [\"4s\"]\nomit = 2"), "remove `omit`"),
            (stream("refill = [\"4s\"]\nduration = 60"), "no fixed `duration`"),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"udp-stream\"\nrefill = [\"4s\"]\n".into(),
                "applies to one direction of tcp-stream; remove it",
            ),
            (
                "sizes=[\"1x2\"]\n[[test]]\nkind = \"memory\"\nrefill = [\"4s\"]\n".into(),
                "`refill` does not apply to memory tests",
            ),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?} gave {err}");
            assert!(err.contains("test #1"), "{text:?} gave {err}");
        }
    }

    /// Issue 24, item 5: `rate_profile` sends a pattern on tcp-stream or udp-stream; a
    /// profile that cannot be read, outlasts the test or goes with keys it cannot is refused
    /// with the value and the fix, in the suite's words.
    #[test]
    fn a_rate_profile_is_passed_on_and_its_bad_values_are_refused() {
        let s = parse(
            "sizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nduration = 15\n\
             rate_profile = \"150M:3s,0:3s\"\n",
        )
        .unwrap();
        let t = &s.tests[0];
        assert_eq!(t.label(), "tcp-stream profile");
        let args = t.probe_args();
        assert!(
            args.windows(2)
                .any(|w| w[0] == "--rate-profile" && w[1] == "150M:3s,0:3s"),
            "{args:?}"
        );
        let test = |keys: &str| format!("sizes=[\"1x2\"]\n[[test]]\n{keys}\n");
        for (text, needle) in [
            (
                test("kind = \"tcp-stream\"\nrate_profile = \"150M:30s\""),
                "the rate profile lasts 30 s, longer than the test's 10 s (`duration`)",
            ),
            (
                test("kind = \"udp-stream\"\nrate_profile = \"fast\""),
                "`rate_profile` \"fast\" has a step \"fast\" without a `:`",
            ),
            (
                test("kind = \"udp-stream\"\nrate = \"1G\"\nrate_profile = \"1G:1s\""),
                "give `rate` or `rate_profile`, not both",
            ),
            (
                test("kind = \"tcp-rr\"\nrate_profile = \"1M:1s\""),
                "applies to one direction of tcp-stream or udp-stream, not tcp-rr",
            ),
            (
                test("kind = \"memory\"\nrate_profile = \"1M:1s\""),
                "`rate_profile` does not apply to memory tests",
            ),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?} gave {err}");
        }
    }

    /// Issue 24, item 3: `latency_under_load` reaches the probe as its flag and labels the
    /// test; a rate out of range, or the key on a test it cannot ride beside, is refused in the
    /// suite's words.
    #[test]
    fn latency_under_load_is_passed_on_and_its_bad_values_are_refused() {
        let s = parse(
            "sizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nuntil_baseline = true\n\
             max_duration = 300\nbaseline_hold = 10\nlatency_under_load = 50\n",
        )
        .unwrap();
        let t = &s.tests[0];
        assert_eq!(
            t.label(),
            "tcp-stream until-baseline latency-under-load 50/s"
        );
        let args = t.probe_args();
        assert!(
            args.windows(2)
                .any(|w| w[0] == "--latency-under-load" && w[1] == "50"),
            "{args:?}"
        );
        let test = |keys: &str| format!("sizes=[\"1x2\"]\n[[test]]\n{keys}\n");
        for (text, needle) in [
            (
                test("kind = \"tcp-stream\"\nlatency_under_load = 0"),
                "`latency_under_load` 0 must be 1..=1000 probes per second",
            ),
            (
                test("kind = \"tcp-stream\"\nlatency_under_load = 5000"),
                "`latency_under_load` 5000 must be 1..=1000",
            ),
            (
                test("kind = \"tcp-rr\"\nlatency_under_load = 50"),
                "`latency_under_load` applies to one direction of tcp-stream, not tcp-rr",
            ),
            (
                test("kind = \"tcp-stream\"\nbidir = true\nlatency_under_load = 50"),
                "not tcp-stream --bidir",
            ),
            (
                test("kind = \"tcp-stream\"\nrefill = [\"4s\"]\nlatency_under_load = 50"),
                "does not combine with --refill; run them as two tests",
            ),
            (
                test("kind = \"memory\"\nlatency_under_load = 50"),
                "`latency_under_load` does not apply to memory tests",
            ),
            (
                test("kind = \"tcp-stream\"\nlatency_under_load = -3"),
                "latency_under_load",
            ),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?} gave {err}");
        }
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
}
