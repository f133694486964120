//! A network test as a person writes it (flags or a suite entry), turned into a
//! [`TestRequest`] one way for everyone.
//!
//! `netprobe client` parses its flags into [`ClientOptions`]; the controller builds the same
//! struct from a suite entry, checks [`ClientOptions::to_request`] against the server's caps
//! before it launches anything, and hands the probe [`ClientOptions::to_args`]. Both ends
//! therefore agree on every default and every check by construction.

use super::quantity;
use super::request::{Flow, ReceiveWait, SendPath, TestKind, TestRequest};
use crate::error::{CoreError, Result};

/// The options of one netprobe client run, before parsing quantities.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Test to run (`--test`).
    pub kind: TestKind,
    /// Measured seconds (`--time`).
    pub duration_secs: f64,
    /// Warm-up seconds excluded from the figures (`--omit`).
    pub omit_secs: f64,
    /// Interval sample length in seconds (`--interval`).
    pub interval_secs: f64,
    /// Parallel streams (`--parallel`).
    pub streams: u32,
    /// Direction (`--reverse`, `--bidir`).
    pub flow: Flow,
    /// Write, datagram or request size with binary suffixes (`--length`).
    pub length: Option<String>,
    /// Response size of rr tests (`--response-size`; default: the request size).
    pub response_size: Option<String>,
    /// UDP bit rate or open-loop requests per second, decimal suffixes, or `unlimited`
    /// (udp-stream sent by the client) (`--rate`).
    pub rate: Option<String>,
    /// SO_SNDBUF and SO_RCVBUF (`--window`).
    pub window: Option<String>,
    /// TCP maximum segment size (`--mss`).
    pub mss: Option<u32>,
    /// TCP_NODELAY on bulk streams (`--no-delay`; always on for rr tests).
    pub no_delay: bool,
    /// TCP congestion control (`--congestion`).
    pub congestion: Option<String>,
    /// Zero-copy data path (`--zerocopy`).
    pub zerocopy: bool,
    /// How bulk receivers wait (`--receive-wait`).
    pub receive_wait: ReceiveWait,
    /// How bulk TCP senders hand over their payload (`--send-path`).
    pub send_path: SendPath,
    /// CPUs for the server's data threads (`--server-cpus`).
    pub server_cpus: Vec<u32>,
    /// udp-rr per-request timeout (`--timeout-ms`).
    pub timeout_ms: u64,
    /// Stop once the baseline has held `baseline_hold_secs` (`--until-baseline`); the
    /// duration is then the cap.
    pub until_baseline: bool,
    /// How long the baseline must hold (`--baseline-hold`).
    pub baseline_hold_secs: f64,
    /// Refill test (`--refill 30s,120s`): idle times as written, each followed by a re-burst
    /// after the until-baseline drain. Implies until-baseline.
    pub refill: Vec<String>,
    /// Closed-loop rr tests: spin instead of sleeping while waiting (`--busy-poll`).
    pub busy_poll: bool,
    /// Paced sender following steps of rate (`--rate-profile 400M:2s,0:3s`), as written; see
    /// [`super::rate_profile`].
    pub rate_profile: Option<String>,
    /// Latency under load (`--latency-under-load 50`): round-trip probes per second beside a
    /// `tcp-stream`.
    pub latency_under_load: Option<u32>,
    /// One bucket or two (`--shared-bucket`): after the drain, the other direction until its
    /// baseline holds, on the same session. Implies until-baseline.
    pub shared_bucket: bool,
}

/// The stream's congestion control under `--latency-under-load` unless `--congestion` names
/// one: Linux's default loss-based algorithm.
pub const LOADED_CONGESTION: &str = "cubic";

/// Defaults of the flags, as `netprobe client --help` shows them.
pub mod defaults {
    /// `--time`.
    pub const DURATION_SECS: f64 = 10.0;
    /// `--interval`.
    pub const INTERVAL_SECS: f64 = 1.0;
    /// `--timeout-ms`.
    pub const TIMEOUT_MS: u64 = 100;
    /// `--baseline-hold`: a minute of stable samples.
    pub const BASELINE_HOLD_SECS: f64 = 60.0;
}

impl ClientOptions {
    /// The defaults of `netprobe client --test KIND`.
    pub fn new(kind: TestKind) -> Self {
        Self {
            kind,
            duration_secs: defaults::DURATION_SECS,
            omit_secs: 0.0,
            interval_secs: defaults::INTERVAL_SECS,
            streams: 1,
            flow: Flow::Forward,
            length: None,
            response_size: None,
            rate: None,
            window: None,
            mss: None,
            no_delay: false,
            congestion: None,
            zerocopy: false,
            receive_wait: ReceiveWait::Auto,
            send_path: SendPath::Auto,
            server_cpus: Vec::new(),
            timeout_ms: defaults::TIMEOUT_MS,
            until_baseline: false,
            baseline_hold_secs: defaults::BASELINE_HOLD_SECS,
            refill: Vec::new(),
            busy_poll: false,
            rate_profile: None,
            latency_under_load: None,
            shared_bucket: false,
        }
    }

    /// The request these options ask for, checked with [`TestRequest::validate`].
    ///
    /// # Errors
    /// [`CoreError::InvalidOption`] naming the flag and value, or [`CoreError::InvalidRequest`]
    /// with the refusal a server would give.
    pub fn to_request(&self) -> Result<TestRequest> {
        let duration_ms = millis(self.duration_secs, "--time")?;
        let mut r = TestRequest::new(self.kind, std::time::Duration::from_millis(duration_ms));
        r.omit_ms = millis(self.omit_secs, "--omit")?;
        r.interval_ms = millis(self.interval_secs, "--interval")?.clamp(100, duration_ms.max(100));
        r.streams = self.streams;
        r.flow = self.flow;
        let size = |flag: &'static str, text: &str| {
            quantity::parse_bytes_u32(text).map_err(|e| option(flag, text, e))
        };
        if let Some(l) = &self.length {
            r.message_bytes = size("--length", l)?;
        }
        if let Some(s) = &self.response_size {
            r.response_bytes = size("--response-size", s)?;
        } else if !self.kind.is_bulk() {
            r.response_bytes = r.message_bytes;
        }
        r.rate = match self.rate.as_deref() {
            Some("unlimited") if self.kind == TestKind::UdpStream => None,
            Some(text) => Some(quantity::parse_rate(text).map_err(|e| option("--rate", text, e))?),
            None => r.rate,
        };
        if let Some(w) = &self.window {
            let bytes = size("--window", w)?;
            r.socket.send_buffer_bytes = Some(bytes);
            r.socket.recv_buffer_bytes = Some(bytes);
        }
        r.socket.mss_bytes = self.mss;
        r.socket.no_delay |= self.no_delay;
        r.socket.congestion.clone_from(&self.congestion);
        r.zerocopy = self.zerocopy;
        r.receive_wait = self.receive_wait;
        r.send_path = self.send_path;
        r.server_cpus.clone_from(&self.server_cpus);
        r.request_timeout_ms = self.timeout_ms;
        if self.until_baseline || !self.refill.is_empty() || self.shared_bucket {
            r.baseline_hold_ms = Some(millis(self.baseline_hold_secs, "--baseline-hold")?);
        }
        r.busy_poll = self.busy_poll;
        r.latency_under_load = self.latency_under_load;
        // A loss-based sender fills whatever queue the limit keeps, which is what the probes
        // are there to read; a delay-based one (BBR, this kernel's default on some hosts)
        // keeps a shaper's queue short, and the limit would look like it neither queues nor
        // drops. `--congestion` still decides when given.
        if self.latency_under_load.is_some() && self.congestion.is_none() {
            r.socket.congestion = Some(LOADED_CONGESTION.to_owned());
        }
        r.shared_bucket = self.shared_bucket;
        r.refill_idle_ms = self
            .refill
            .iter()
            .map(|text| quantity::parse_duration_ms(text).map_err(|e| option("--refill", text, e)))
            .collect::<Result<_>>()?;
        if let Some(text) = &self.rate_profile {
            r.rate_profile =
                super::rate_profile::parse(text).map_err(|why| CoreError::InvalidOption {
                    option: "--rate-profile",
                    value: text.clone(),
                    why,
                })?;
            if self.rate.is_none() {
                r.rate = None; // the profile is the rate
            }
        }
        r.validate().map_err(CoreError::InvalidRequest)?;
        Ok(r)
    }

    /// The `netprobe client` arguments that give these options (after `--server ADDR`); flags
    /// at their defaults are left out.
    pub fn to_args(&self) -> Vec<String> {
        let d = ClientOptions::new(self.kind);
        let mut a: Vec<String> = vec![
            "--test".into(),
            self.kind.name().into(),
            "--time".into(),
            self.duration_secs.to_string(),
        ];
        let mut push = |flag: &str, value: String| {
            a.push(flag.to_owned());
            a.push(value);
        };
        if self.omit_secs != d.omit_secs {
            push("--omit", self.omit_secs.to_string());
        }
        if self.interval_secs != d.interval_secs {
            push("--interval", self.interval_secs.to_string());
        }
        if self.streams != d.streams {
            push("--parallel", self.streams.to_string());
        }
        for (flag, value) in [
            ("--length", &self.length),
            ("--response-size", &self.response_size),
            ("--rate", &self.rate),
            ("--rate-profile", &self.rate_profile),
            ("--window", &self.window),
            ("--congestion", &self.congestion),
        ] {
            if let Some(v) = value {
                push(flag, v.clone());
            }
        }
        if let Some(m) = self.mss {
            push("--mss", m.to_string());
        }
        if !self.server_cpus.is_empty() {
            let list: Vec<String> = self.server_cpus.iter().map(u32::to_string).collect();
            push("--server-cpus", list.join(","));
        }
        if !self.refill.is_empty() {
            push("--refill", self.refill.join(","));
        }
        if let Some(per_sec) = self.latency_under_load {
            push("--latency-under-load", per_sec.to_string());
        }
        if self.timeout_ms != d.timeout_ms {
            push("--timeout-ms", self.timeout_ms.to_string());
        }
        if self.baseline_hold_secs != d.baseline_hold_secs {
            push("--baseline-hold", self.baseline_hold_secs.to_string());
        }
        match self.flow {
            Flow::Forward => {}
            Flow::Reverse => a.push("--reverse".into()),
            Flow::Bidirectional => a.push("--bidir".into()),
        }
        if self.no_delay {
            a.push("--no-delay".into());
        }
        if self.zerocopy {
            a.push("--zerocopy".into());
        }
        if self.until_baseline {
            a.push("--until-baseline".into());
        }
        if self.busy_poll {
            a.push("--busy-poll".into());
        }
        if self.shared_bucket {
            a.push("--shared-bucket".into());
        }
        if self.receive_wait != d.receive_wait {
            a.push("--receive-wait".into());
            a.push(self.receive_wait.name().into());
        }
        if self.send_path != d.send_path {
            a.push("--send-path".into());
            a.push(self.send_path.name().into());
        }
        a
    }
}

fn option(flag: &'static str, value: &str, source: CoreError) -> CoreError {
    CoreError::InvalidOption {
        option: flag,
        value: value.to_owned(),
        why: match source {
            CoreError::Quantity { why, .. } => why,
            other => other.to_string(),
        },
    }
}

fn millis(secs: f64, flag: &'static str) -> Result<u64> {
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(CoreError::InvalidOption {
            option: flag,
            value: secs.to_string(),
            why: "must be between 0 and 86400 seconds".into(),
        });
    }
    Ok((secs * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{RateStep, Refusal, RequestCaps};

    #[test]
    fn defaults_follow_the_kind() {
        let r = ClientOptions::new(TestKind::TcpRr).to_request().unwrap();
        assert_eq!((r.message_bytes, r.response_bytes), (64, 64));
        assert!(r.socket.no_delay);
        let mut o = ClientOptions::new(TestKind::TcpRr);
        o.length = Some("1K".into());
        let r = o.to_request().unwrap();
        assert_eq!(
            (r.message_bytes, r.response_bytes),
            (1024, 1024),
            "response follows"
        );
        let r = ClientOptions::new(TestKind::UdpStream)
            .to_request()
            .unwrap();
        assert_eq!(r.rate, Some(1_000_000_000));
    }

    #[test]
    fn what_a_probe_would_refuse_is_refused_here() {
        for (edit, needle) in [
            (
                Box::new(|o: &mut ClientOptions| o.length = Some("1G".into()))
                    as Box<dyn Fn(&mut ClientOptions)>,
                "write size",
            ),
            (Box::new(|o| o.length = Some("0.0001".into())), "--length"),
            (Box::new(|o| o.rate = Some("1e30".into())), "--rate"),
            (
                Box::new(|o| o.rate = Some("1G".into())),
                "does not apply to tcp-stream",
            ),
            (Box::new(|o| o.duration_secs = -5.0), "--time"),
            (Box::new(|o| o.streams = 0), "0 streams"),
        ] {
            let mut o = ClientOptions::new(TestKind::TcpStream);
            edit(&mut o);
            let e = o.to_request().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
        let mut o = ClientOptions::new(TestKind::UdpStream);
        o.rate = Some("unlimited".into());
        o.flow = Flow::Reverse;
        assert!(matches!(
            o.to_request(),
            Err(CoreError::InvalidRequest(Refusal::Invalid(_)))
        ));
        let mut o = ClientOptions::new(TestKind::TcpStream);
        o.streams = 129;
        let r = o.to_request().unwrap();
        assert!(matches!(
            RequestCaps::default().check(&r),
            Err(Refusal::Streams { .. })
        ));
    }

    #[test]
    fn until_baseline_makes_the_duration_a_cap_and_checks_the_hold() {
        let mut o = ClientOptions::new(TestKind::TcpStream);
        o.until_baseline = true;
        o.duration_secs = 1200.0;
        let r = o.to_request().unwrap();
        assert_eq!(
            (r.duration_ms, r.baseline_hold_ms),
            (1_200_000, Some(60_000))
        );
        o.baseline_hold_secs = 0.5;
        let e = o.to_request().unwrap_err().to_string();
        assert!(e.contains("at least 3 intervals"), "{e}");
        o.baseline_hold_secs = 60.0;
        o.flow = Flow::Bidirectional;
        assert!(o
            .to_request()
            .unwrap_err()
            .to_string()
            .contains("one direction"));
        let mut o = ClientOptions::new(TestKind::TcpRr);
        o.until_baseline = true;
        o.duration_secs = 120.0;
        assert!(o.to_request().unwrap_err().to_string().contains("tcp-rr"));
    }

    #[test]
    fn refill_implies_until_baseline_and_names_a_bad_idle_time() {
        let mut o = ClientOptions::new(TestKind::TcpStream);
        o.duration_secs = 60.0;
        o.baseline_hold_secs = 3.0;
        o.refill = vec!["4s".into(), "20s".into()];
        let r = o.to_request().unwrap();
        assert_eq!(r.baseline_hold_ms, Some(3_000));
        assert_eq!(r.refill_idle_ms, [4_000, 20_000]);
        assert_eq!(
            o.to_args(),
            [
                "--test",
                "tcp-stream",
                "--time",
                "60",
                "--refill",
                "4s,20s",
                "--baseline-hold",
                "3"
            ]
        );
        for (idle, needle) in [
            (
                "-4s",
                "--refill \"-4s\" is a negative time; give a time like 30s",
            ),
            ("soon", "--refill \"soon\" is not a time"),
            ("0", "a refill idle time of 0 s is too short"),
            (
                "2m",
                "a refill idle time of 120 s is longer than the test's cap of 60 s (--time)",
            ),
        ] {
            o.refill = vec!["4s".into(), idle.into()];
            let e = o.to_request().unwrap_err().to_string();
            assert!(e.contains(needle), "{idle}: {e}");
        }
    }

    #[test]
    fn shared_bucket_implies_until_baseline_and_reaches_the_request_and_the_args() {
        let mut o = ClientOptions::new(TestKind::UdpStream);
        o.duration_secs = 60.0;
        o.baseline_hold_secs = 3.0;
        o.shared_bucket = true;
        o.flow = Flow::Reverse;
        let r = o.to_request().unwrap();
        assert!(r.shared_bucket);
        assert_eq!(r.baseline_hold_ms, Some(3_000));
        assert_eq!(
            o.to_args(),
            [
                "--test",
                "udp-stream",
                "--time",
                "60",
                "--baseline-hold",
                "3",
                "--reverse",
                "--shared-bucket"
            ]
        );
        o.kind = TestKind::TcpRr;
        o.flow = Flow::Forward;
        let e = o.to_request().unwrap_err().to_string();
        assert!(
            e.contains("--shared-bucket applies to one direction"),
            "{e}"
        );
    }

    #[test]
    fn a_rate_profile_is_the_rate_and_is_refused_where_it_cannot_apply() {
        let mut o = ClientOptions::new(TestKind::UdpStream);
        o.rate_profile = Some("400M:2s,0:1s".into());
        o.flow = Flow::Reverse;
        let r = o.to_request().unwrap();
        assert_eq!(r.rate, None, "the profile replaces udp-stream's default 1G");
        assert_eq!(
            r.rate_profile,
            [
                RateStep {
                    bits_per_sec: 400_000_000,
                    duration_ms: 2000
                },
                RateStep {
                    bits_per_sec: 0,
                    duration_ms: 1000
                }
            ]
        );
        assert_eq!(
            o.to_args(),
            [
                "--test",
                "udp-stream",
                "--time",
                "10",
                "--rate-profile",
                "400M:2s,0:1s",
                "--reverse"
            ]
        );
        // Over the server's UDP cap at its peak.
        o.rate_profile = Some("30G:1s".into());
        let r = o.to_request().unwrap();
        assert!(matches!(
            RequestCaps::default().check(&r),
            Err(Refusal::Rate {
                requested: 30_000_000_000,
                ..
            })
        ));
        let refused = |edit: &dyn Fn(&mut ClientOptions)| {
            let mut o = ClientOptions::new(TestKind::TcpStream);
            o.rate_profile = Some("100M:2s".into());
            edit(&mut o);
            o.to_request().unwrap_err().to_string()
        };
        assert!(refused(&|o| o.rate_profile = Some("100M".into()))
            .contains("--rate-profile \"100M\" has a step \"100M\" without a `:`"));
        assert!(
            refused(&|o| o.duration_secs = 1.0).contains("lasts 2 s, longer than the test's 1 s")
        );
        assert!(refused(&|o| o.until_baseline = true).contains("leave out --until-baseline"));
        assert!(refused(&|o| o.omit_secs = 1.0).contains("leave --omit out"));
        assert!(refused(&|o| o.flow = Flow::Bidirectional).contains("tcp-stream --bidir"));
        assert!(refused(&|o| o.kind = TestKind::TcpRr).contains("not tcp-rr"));
        let mut o = ClientOptions::new(TestKind::UdpStream);
        o.rate_profile = Some("100M:2s".into());
        o.rate = Some("1G".into());
        assert!(o.to_request().unwrap_err().to_string().contains("not both"));
    }

    #[test]
    fn args_leave_defaults_out() {
        let mut o = ClientOptions::new(TestKind::UdpRr);
        o.rate = Some("20k".into());
        o.timeout_ms = 250;
        assert_eq!(
            o.to_args(),
            [
                "--test",
                "udp-rr",
                "--time",
                "10",
                "--rate",
                "20k",
                "--timeout-ms",
                "250"
            ]
        );
    }
}
