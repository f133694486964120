//! An emulated network link for the local and docker backends: `--link RATE` (a plain shaped link) or
//! `--link fargate` (per size, Fargate's published burst and baseline, the burst window scaled
//! by `--link-time-scale`).
//!
//! The shaping sits *in the path*, as Fargate's does outside the task. Locally: three network
//! namespaces, client - router - server, the router's `tc tbf` shaping its egress towards each
//! side; on docker, the host side of each container's veth (what the bridge sends into it) (`rate` = baseline, `peakrate` = burst, `burst` = the bucket). Shaping the sender's own
//! interface would block a UDP sender instead of dropping its excess, which is not what a
//! Fargate task meets. Needs root; everything created is removed when the item ends, when the
//! run ends (also on error and Ctrl-C) and by `cleanup`.

use std::process::Command;

use crate::error::{BenchError, Result};
use crate::sizes::TaskSize;

/// How many times faster than real an emulated Fargate burst window runs by default: a
/// 410 s burst takes 2 s, and every size's bucket fits what `tc tbf` can hold.
pub const DEFAULT_TIME_SCALE: f64 = 200.0;

/// Largest bucket `tc tbf` takes: its `burst` is a 32-bit byte count.
const MAX_BUCKET_BYTES: u64 = u32::MAX as u64 - (1 << 20);

/// Longest a full bucket may take to refill at the baseline: `tc tbf` keeps the bucket as a
/// 32-bit count of 64 ns ticks at the rate (about 274 s).
const MAX_BUCKET_SECS_AT_RATE: f64 = 270.0;

/// Smallest bucket that can pass one 64 KiB segment.
const MIN_BUCKET_BYTES: u64 = 64 * 1024;

/// The link asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinkSpec {
    /// One rate, no burst.
    Plain {
        /// Bits per second.
        rate_bits_per_sec: u64,
    },
    /// Fargate's published burst and baseline for each task size.
    Fargate {
        /// Burst windows run this many times faster than on Fargate.
        time_scale: f64,
    },
}

/// What `tc tbf` is given for one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TbfParams {
    /// The sustained rate (Fargate's baseline).
    pub rate_bits_per_sec: u64,
    /// The burst rate, with a bucket.
    pub peak_bits_per_sec: Option<u64>,
    /// Bytes the bucket holds.
    pub bucket_bytes: u64,
}

/// Published Fargate figures (eu-west-1, 2024) by task memory: GB, burst Gbit/s, burst
/// seconds, baseline Gbit/s. Sizes between are interpolated on log(memory).
const FARGATE_POINTS: [(f64, f64, f64, f64); 3] = [
    (0.5, 4.21, 410.0, 0.063),
    (4.0, 4.90, 1120.0, 0.508),
    (16.0, 9.87, 750.0, 1.241),
];

fn interpolate(memory_gb: f64, pick: impl Fn(&(f64, f64, f64, f64)) -> f64) -> f64 {
    let x = memory_gb.ln();
    let first = FARGATE_POINTS[0];
    let last = FARGATE_POINTS[FARGATE_POINTS.len() - 1];
    if memory_gb <= first.0 {
        return pick(&first);
    }
    if memory_gb >= last.0 {
        return pick(&last);
    }
    for w in FARGATE_POINTS.windows(2) {
        let (a, b) = (w[0], w[1]);
        if memory_gb <= b.0 {
            let t = (x - a.0.ln()) / (b.0.ln() - a.0.ln());
            return pick(&a) + t * (pick(&b) - pick(&a));
        }
    }
    pick(&last)
}

fn bad(value: &str, why: String) -> BenchError {
    BenchError::Link {
        why: format!("--link {value}: {why}"),
    }
}

impl LinkSpec {
    /// `fargate`, or a rate with decimal suffixes (`200M`, `1G`).
    ///
    /// # Errors
    /// [`BenchError::Link`] naming the value and what to give instead.
    pub fn parse(value: &str, time_scale: f64) -> Result<LinkSpec> {
        if !time_scale.is_finite() || time_scale <= 0.0 {
            return Err(bad(
                value,
                format!("--link-time-scale {time_scale} must be a positive number, like 120"),
            ));
        }
        if value == "fargate" {
            return Ok(LinkSpec::Fargate { time_scale });
        }
        let rate = probe_core::contract::quantity::parse_rate(value)
            .map_err(|e| bad(value, format!("{e}; or give `fargate`")))?;
        if rate < 1_000_000 {
            return Err(bad(
                value,
                "a link under 1 Mbit/s measures nothing useful; give at least 1M".into(),
            ));
        }
        Ok(LinkSpec::Plain {
            rate_bits_per_sec: rate,
        })
    }

    /// The shaping for a task of `size`.
    ///
    /// # Errors
    /// [`BenchError::Link`] when the kernel's shaper cannot hold the bucket (raise the time
    /// scale).
    pub fn params(&self, size: TaskSize) -> Result<TbfParams> {
        match *self {
            LinkSpec::Plain { rate_bits_per_sec } => Ok(TbfParams {
                rate_bits_per_sec,
                peak_bits_per_sec: None,
                // A few milliseconds of line rate: enough for segment offload, no burst.
                bucket_bytes: (rate_bits_per_sec / 8 / 200).max(MIN_BUCKET_BYTES),
            }),
            LinkSpec::Fargate { time_scale } => {
                let gb = size.memory_gb();
                let burst = interpolate(gb, |p| p.1) * 1e9;
                let secs = interpolate(gb, |p| p.2) / time_scale;
                let baseline = interpolate(gb, |p| p.3) * 1e9;
                let bucket = ((burst - baseline) * secs / 8.0) as u64;
                let refill = bucket as f64 * 8.0 / baseline;
                if bucket > MAX_BUCKET_BYTES {
                    let needed = time_scale * bucket as f64 / MAX_BUCKET_BYTES as f64;
                    return Err(bad(
                        "fargate",
                        format!(
                            "at {size} the scaled bucket ({} MB) is more than tc tbf holds (4 GB); \
                             raise --link-time-scale to {:.0} or more",
                            bucket / 1_000_000,
                            needed.ceil()
                        ),
                    ));
                }
                if refill > MAX_BUCKET_SECS_AT_RATE {
                    return Err(bad(
                        "fargate",
                        format!(
                            "at {size} the scaled bucket ({} MB) takes {refill:.0} s to fill at the \
                             baseline, more than tc tbf holds ({MAX_BUCKET_SECS_AT_RATE:.0} s); raise \
                             --link-time-scale above {time_scale}",
                            bucket / 1_000_000
                        ),
                    ));
                }
                Ok(TbfParams {
                    rate_bits_per_sec: baseline as u64,
                    peak_bits_per_sec: Some(burst as u64),
                    bucket_bytes: bucket.max(MIN_BUCKET_BYTES),
                })
            }
        }
    }

    /// How the report names it.
    pub fn describe(&self, size: TaskSize) -> String {
        match (self, self.params(size)) {
            (LinkSpec::Plain { rate_bits_per_sec }, _) => format!(
                "network: a {} link (tc tbf in a router namespace)",
                probe_core::units::format_bits_per_sec(*rate_bits_per_sec as f64)
            ),
            (LinkSpec::Fargate { time_scale }, Ok(p)) => format!(
                "network: Fargate's published token bucket for {size} (burst {} for {:.1} s, \
                 baseline {}, bucket {} MB; burst window {time_scale}x shorter than on Fargate; \
                 what exceeds it waits in a {} MB queue, an assumption: whether Fargate queues \
                 or drops is what `latency_under_load` measures)",
                probe_core::units::format_bits_per_sec(p.peak_bits_per_sec.unwrap_or(0) as f64),
                p.bucket_bytes as f64 * 8.0
                    / (p.peak_bits_per_sec.unwrap_or(1) as f64 - p.rate_bits_per_sec as f64),
                probe_core::units::format_bits_per_sec(p.rate_bits_per_sec as f64),
                p.bucket_bytes / 1_000_000,
                QUEUE_BYTES / 1_000_000
            ),
            (LinkSpec::Fargate { .. }, Err(e)) => format!("network: {e}"),
        }
    }
}

/// Bytes tbf queues beyond the bucket before it drops (its `limit`): what exceeds the rate
/// waits here, as behind a shaper.
pub const QUEUE_BYTES: u64 = 4_000_000;

/// The `tc qdisc ... tbf` arguments for `p` (after `tbf`).
pub fn tbf_args(p: &TbfParams) -> Vec<String> {
    let mut args = vec![
        "rate".to_owned(),
        format!("{}bit", p.rate_bits_per_sec),
        "burst".to_owned(),
        format!("{}b", p.bucket_bytes),
    ];
    if let Some(peak) = p.peak_bits_per_sec {
        args.extend([
            "peakrate".to_owned(),
            format!("{peak}bit"),
            "mtu".to_owned(),
            "64kb".to_owned(),
        ]);
    }
    args.extend(["limit".to_owned(), format!("{QUEUE_BYTES}b")]);
    args
}

/// Addresses of an emulated link (every link uses the same: they live in their own
/// namespaces).
pub const CLIENT_IP: &str = "10.233.1.1";
/// The router's side towards the client.
const ROUTER_C: &str = "10.233.1.2";
/// The router's side towards the server.
const ROUTER_S: &str = "10.233.2.1";
/// The server.
pub const SERVER_IP: &str = "10.233.2.2";

/// Prefix of every namespace a link creates, so `cleanup` finds them.
pub const NS_PREFIX: &str = "fbl-";

/// Three namespaces and two shaped veth pairs; [`RoutedLink::remove`] deletes them.
#[derive(Debug)]
pub struct RoutedLink {
    /// Client, router and server namespace names.
    pub namespaces: [String; 3],
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| BenchError::Backend {
            backend: "local",
            what: "--link needs the `ip` command (iproute2)".into(),
            source: Some(Box::new(e)),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let hint = if stderr.contains("Operation not permitted") || stderr.contains("Permission denied")
    {
        "; --link needs root (network namespaces and tc): run as root, or drop --link"
    } else {
        ""
    };
    Err(BenchError::Backend {
        backend: "local",
        what: format!("ip {}: {stderr}{hint}", args.join(" ")),
        source: None,
    })
}

impl RoutedLink {
    /// Builds client - router - server namespaces named `fbl-<tag>-c/r/s`, shaped by `p`.
    ///
    /// # Errors
    /// [`BenchError::Backend`] naming the command that failed (and root, when that is why).
    pub fn create(tag: &str, p: &TbfParams) -> Result<RoutedLink> {
        let link = RoutedLink {
            namespaces: ["c", "r", "s"].map(|x| format!("{NS_PREFIX}{tag}-{x}")),
        };
        link.remove();
        let built = link.build(tag, p);
        if built.is_err() {
            link.remove();
        }
        built.map(|()| link)
    }

    fn build(&self, tag: &str, p: &TbfParams) -> Result<()> {
        let [c, r, s] = &self.namespaces;
        for ns in &self.namespaces {
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        // veth names are at most 15 characters.
        let short: String = tag
            .chars()
            .rev()
            .take(8)
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        let (cv, rc, sv, rs) = (
            format!("c{short}"),
            format!("rc{short}"),
            format!("s{short}"),
            format!("rs{short}"),
        );
        ip(&[
            "link", "add", &cv, "netns", c, "type", "veth", "peer", "name", &rc, "netns", r,
        ])?;
        ip(&[
            "link", "add", &sv, "netns", s, "type", "veth", "peer", "name", &rs, "netns", r,
        ])?;
        for (ns, dev, addr) in [
            (c, &cv, CLIENT_IP),
            (r, &rc, ROUTER_C),
            (r, &rs, ROUTER_S),
            (s, &sv, SERVER_IP),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/30"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        ip(&["-n", c, "route", "add", "default", "via", ROUTER_C])?;
        ip(&["-n", s, "route", "add", "default", "via", ROUTER_S])?;
        ip(&["netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        let tbf = tbf_args(p);
        for dev in [&rc, &rs] {
            let mut args = vec![
                "netns", "exec", r, "tc", "qdisc", "add", "dev", dev, "root", "tbf",
            ];
            args.extend(tbf.iter().map(String::as_str));
            ip(&args)?;
        }
        Ok(())
    }

    /// Deletes the namespaces (and with them the veths and qdiscs); quiet when already gone.
    pub fn remove(&self) {
        for ns in &self.namespaces {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }

    /// Deletes every namespace whose name starts with `fbl-<prefix>`; returns what it removed.
    pub fn remove_all(prefix: &str) -> Vec<String> {
        let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
            return Vec::new();
        };
        let wanted = format!("{NS_PREFIX}{prefix}");
        let mut removed = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if name.starts_with(&wanted)
                && Command::new("ip")
                    .args(["netns", "del", name])
                    .status()
                    .is_ok_and(|s| s.success())
            {
                removed.push(format!("network namespace {name}"));
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(s: &str) -> TaskSize {
        TaskSize::parse(s).unwrap()
    }

    #[test]
    fn fargate_params_follow_the_published_figures() {
        // At 120x the 1 vCPU / 4 GB bucket (5.1 GB) is more than tc holds; the default fits all.
        let e = LinkSpec::parse("fargate", 120.0)
            .unwrap()
            .params(size("1x4"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("raise --link-time-scale to 144"), "{e}");
        let default = LinkSpec::parse("fargate", DEFAULT_TIME_SCALE).unwrap();
        for s in crate::sizes::all_sizes() {
            default.params(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        let link = default;
        let p = link.params(size("0.25x0.5")).unwrap();
        assert_eq!(p.rate_bits_per_sec, 63_000_000);
        assert_eq!(p.peak_bits_per_sec, Some(4_210_000_000));
        // (4.21 - 0.063) Gbit/s for 410 / 200 s.
        let expected = ((4.21e9 - 0.063e9) * (410.0 / 200.0) / 8.0) as u64;
        assert!(p.bucket_bytes.abs_diff(expected) < 1000, "{p:?}");
        let big = link.params(size("4x16")).unwrap();
        assert_eq!(big.rate_bits_per_sec, 1_241_000_000);
        let mid = link.params(size("1x2")).unwrap();
        assert!(mid.rate_bits_per_sec > 63_000_000 && mid.rate_bits_per_sec < 508_000_000);
        assert!(link
            .describe(size("1x2"))
            .contains("burst window 200x shorter"));
    }

    #[test]
    fn impossible_links_are_refused_with_the_fix() {
        for (value, scale, needle) in [
            ("0", 120.0, "\"0\""),
            ("-5M", 120.0, "-5M"),
            ("fast", 120.0, "or give `fargate`"),
            ("500k", 120.0, "at least 1M"),
            ("fargate", 0.0, "positive"),
            ("fargate", f64::NAN, "positive"),
        ] {
            let e = LinkSpec::parse(value, scale).unwrap_err().to_string();
            assert!(e.contains(needle), "{value}: {e}");
        }
        // Real time at 0.25x0.5: a bucket of 212 GB refills in 27,000 s at 63 Mbit/s.
        let e = LinkSpec::parse("fargate", 1.0)
            .unwrap()
            .params(size("0.25x0.5"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("raise --link-time-scale"), "{e}");
    }

    #[test]
    fn a_plain_rate_has_no_peak_and_a_small_bucket() {
        let p = LinkSpec::parse("200M", 120.0)
            .unwrap()
            .params(size("1x2"))
            .unwrap();
        assert_eq!(p.rate_bits_per_sec, 200_000_000);
        assert_eq!(p.peak_bits_per_sec, None);
        assert!(p.bucket_bytes >= MIN_BUCKET_BYTES && p.bucket_bytes < 1 << 20);
    }
}
