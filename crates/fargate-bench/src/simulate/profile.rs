//! Traffic profiles: what a workload offers over time, as a piecewise-constant rate.
//!
//! Three ways to write one:
//! - a pattern: `2G for 20m every 1h` (2 Gbit/s for 20 minutes at the start of every hour,
//!   over a day unless `over 3d` says otherwise), or `500M for 90s` (once);
//! - a CSV file with a header: a time column (seconds from the start, or RFC 3339 timestamps)
//!   and one of `bytes` (bytes in the interval up to the next row), `bytes_per_sec` or
//!   `bits_per_sec`; each row lasts until the next, the last as long as the one before;
//! - a CloudWatch export, as `aws cloudwatch get-metric-statistics` prints it (`Datapoints`
//!   with a `Unit` of `Bytes`, `Bytes/Second`, `Bits` or `Bits/Second`; the `Sum` statistic,
//!   else `Average`) or as `aws cloudwatch get-metric-data` prints it (`MetricDataResults`, no
//!   unit: read as the Sum of bytes per period, and said so). A datapoint covers one period
//!   (the shortest spacing); a period with no datapoint offered nothing.

use std::path::Path;
use std::time::Duration;

use crate::error::{BenchError, Result};

/// The longest profile replayed: a month of traffic.
pub const MAX_PROFILE_SECS: f64 = 31.0 * 86_400.0;

/// A pattern with `every` and no `over` is replayed for this long.
pub const DEFAULT_PATTERN_SPAN: Duration = Duration::from_secs(86_400);

/// A piecewise-constant offered rate from time zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Where it came from, as the user named it.
    pub source: String,
    /// Segment ends in seconds, increasing; segment `i` runs from `ends[i - 1]` (or 0).
    ends: Vec<f64>,
    /// Bytes per second in each segment.
    rates: Vec<f64>,
    /// Bytes offered up to the end of each segment.
    cumulative: Vec<f64>,
    /// What was assumed in reading it (said in every report).
    pub assumptions: Vec<String>,
}

impl Profile {
    /// A profile of segments given as (bits per second, seconds).
    ///
    /// # Errors
    /// No segments, a negative or non-finite rate, or a duration that is not positive.
    pub fn from_rates(segments: &[(f64, f64)]) -> Result<Profile> {
        let mut b = Builder::new("segments");
        for &(bits, secs) in segments {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(b.error(format!("a segment lasts {secs} s: give a positive time")));
            }
            b.push(secs, bits / 8.0, "a segment")?;
        }
        b.finish()
    }

    /// One rate for `secs` seconds.
    ///
    /// # Panics
    /// A negative rate or a time that is not positive (a test's or caller's mistake).
    pub fn constant(bits_per_sec: f64, secs: f64) -> Profile {
        Profile::from_rates(&[(bits_per_sec, secs)]).expect("a valid constant profile")
    }

    /// Reads `arg`: a CSV or CloudWatch file when such a file exists, else a pattern.
    ///
    /// # Errors
    /// [`BenchError::Profile`] naming the profile, what is wrong and how to write it.
    pub fn load(arg: &str) -> Result<Profile> {
        let path = Path::new(arg);
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| BenchError::Profile {
                source_name: arg.to_owned(),
                why: format!("cannot be read: {e}"),
            })?;
            if text.trim_start().starts_with('{') {
                cloudwatch(arg, &text)
            } else {
                csv(arg, &text)
            }
        } else {
            pattern(arg)
        }
    }

    /// The profile's length, seconds.
    pub fn duration_secs(&self) -> f64 {
        *self.ends.last().expect("a profile has a segment")
    }

    /// All the bytes it offers.
    pub fn total_bytes(&self) -> f64 {
        *self.cumulative.last().expect("a profile has a segment")
    }

    /// The highest rate it offers, bits per second.
    pub fn peak_bits_per_sec(&self) -> f64 {
        self.rates.iter().fold(0.0_f64, |a, &r| a.max(r)) * 8.0
    }

    /// The shortest segment, seconds.
    pub fn shortest_segment_secs(&self) -> f64 {
        let mut start = 0.0;
        let mut shortest = f64::INFINITY;
        for &end in &self.ends {
            shortest = shortest.min(end - start);
            start = end;
        }
        shortest
    }

    /// Bytes offered from time zero to `t` (clamped to the profile).
    fn offered_by(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let i = self.ends.partition_point(|&end| end <= t);
        if i >= self.ends.len() {
            return self.total_bytes();
        }
        let (start, before) = match i {
            0 => (0.0, 0.0),
            _ => (self.ends[i - 1], self.cumulative[i - 1]),
        };
        before + (t - start) * self.rates[i]
    }

    /// Bytes offered between `from` and `to` seconds.
    pub fn bytes_between(&self, from: f64, to: f64) -> f64 {
        (self.offered_by(to) - self.offered_by(from)).max(0.0)
    }
}

/// Collects segments and checks them as they come.
struct Builder {
    source: String,
    ends: Vec<f64>,
    rates: Vec<f64>,
    cumulative: Vec<f64>,
    assumptions: Vec<String>,
}

impl Builder {
    fn new(source: &str) -> Builder {
        Builder {
            source: source.to_owned(),
            ends: Vec::new(),
            rates: Vec::new(),
            cumulative: Vec::new(),
            assumptions: Vec::new(),
        }
    }

    fn error(&self, why: String) -> BenchError {
        BenchError::Profile {
            source_name: self.source.clone(),
            why,
        }
    }

    fn push(&mut self, secs: f64, bytes_per_sec: f64, what: &str) -> Result<()> {
        if !(bytes_per_sec.is_finite() && bytes_per_sec >= 0.0) {
            return Err(self.error(format!(
                "{what} offers {} bytes per second: traffic cannot be negative",
                bytes_per_sec
            )));
        }
        let end = self.ends.last().copied().unwrap_or(0.0) + secs;
        if end > MAX_PROFILE_SECS {
            return Err(self.error(format!(
                "it lasts more than 31 days ({:.0} s): replay a month at the most",
                end
            )));
        }
        let before = self.cumulative.last().copied().unwrap_or(0.0);
        self.ends.push(end);
        self.rates.push(bytes_per_sec);
        self.cumulative.push(before + secs * bytes_per_sec);
        Ok(())
    }

    fn finish(self) -> Result<Profile> {
        if self.ends.is_empty() {
            return Err(self.error(
                "it has no rows: give at least two rows of time and bytes, or a pattern like \
                 `2G for 20m every 1h`"
                    .into(),
            ));
        }
        Ok(Profile {
            source: self.source,
            ends: self.ends,
            rates: self.rates,
            cumulative: self.cumulative,
            assumptions: self.assumptions,
        })
    }
}

/// A rate with an optional `bit/s`, `bps` or `b/s` after the number: `2G`, `500Mbit/s`.
fn parse_bits_per_sec(text: &str) -> std::result::Result<f64, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let number = ["bit/s", "bits/s", "bps", "b/s"]
        .iter()
        .find_map(|unit| lower.strip_suffix(unit).map(|_| &t[..t.len() - unit.len()]))
        .unwrap_or(t);
    probe_core::contract::quantity::parse_rate(number)
        .map(|r| r as f64)
        .map_err(|e| e.to_string())
}

fn parse_duration(text: &str, what: &str) -> std::result::Result<f64, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("{what} {text:?} is not a time ({e}): write it like 90s, 20m or 1h")
    })?;
    if d.is_zero() {
        return Err(format!("{what} {text:?} is zero: give a positive time"));
    }
    Ok(d.as_secs_f64())
}

/// `RATE for DURATION [every PERIOD [over SPAN]]`.
fn pattern(text: &str) -> Result<Profile> {
    let mut b = Builder::new(text);
    let how = "write a pattern like `2G for 20m every 1h` (rates in bit/s), or name a CSV or \
               CloudWatch file that exists";
    let words: Vec<&str> = text.split_whitespace().collect();
    let (rate, on, period, span) = match words.as_slice() {
        [rate, "for", on] => (rate, on, None, None),
        [rate, "for", on, "every", period] => (rate, on, Some(period), None),
        [rate, "for", on, "every", period, "over", span] => (rate, on, Some(period), Some(span)),
        _ => return Err(b.error(format!("is not a file nor a pattern: {how}"))),
    };
    let bits = parse_bits_per_sec(rate).map_err(|e| b.error(format!("{e}; {how}")))?;
    let on = parse_duration(on, "the burst time").map_err(|e| b.error(e))?;
    let Some(period) = period else {
        b.push(on, bits / 8.0, "the pattern")?;
        return b.finish();
    };
    let period = parse_duration(period, "the period").map_err(|e| b.error(e))?;
    if on > period {
        return Err(b.error(format!(
            "it is on for {on} s in every {period} s: the time on must fit in the period"
        )));
    }
    let span = match span {
        Some(s) => parse_duration(s, "the span").map_err(|e| b.error(e))?,
        None => {
            b.assumptions.push(format!(
                "the pattern is replayed over {} (add `over 3d` for another span)",
                humantime::format_duration(DEFAULT_PATTERN_SPAN)
            ));
            DEFAULT_PATTERN_SPAN.as_secs_f64()
        }
    };
    if span > MAX_PROFILE_SECS {
        return Err(b.error(format!(
            "the span {span} s is over 31 days: replay a month at the most"
        )));
    }
    let mut t = 0.0;
    while t < span {
        let burst = on.min(span - t);
        b.push(burst, bits / 8.0, "the pattern")?;
        t += burst;
        let idle = (period - on).min(span - t);
        if idle > 0.0 {
            b.push(idle, 0.0, "the pattern")?;
            t += idle;
        }
    }
    b.finish()
}

/// Seconds, or an RFC 3339 timestamp as seconds since the epoch.
fn parse_time(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let at = humantime::parse_rfc3339_weak(t).ok()?;
    let since = at.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(since.as_secs_f64())
}

/// How a column's values turn into bytes per second over an interval of `secs`.
#[derive(Debug, Clone, Copy)]
enum Amount {
    Bytes,
    BytesPerSec,
    BitsPerSec,
    Bits,
}

impl Amount {
    fn bytes_per_sec(self, value: f64, secs: f64) -> f64 {
        match self {
            Amount::Bytes => value / secs,
            Amount::BytesPerSec => value,
            Amount::BitsPerSec => value / 8.0,
            Amount::Bits => value / 8.0 / secs,
        }
    }
}

/// Fills `b` from points (time, value), each lasting until the next; the last lasts `last`
/// (or as long as the one before it). Points are in order: `check_order` refuses otherwise.
fn from_points(
    b: &mut Builder,
    points: &[(f64, f64)],
    amount: Amount,
    last: Option<f64>,
) -> Result<()> {
    if points.len() < 2 && last.is_none() {
        return Err(b.error(
            "it has one row, so how long it lasts is unknown: give at least two rows".into(),
        ));
    }
    for (i, &(t, value)) in points.iter().enumerate() {
        let secs = match points.get(i + 1) {
            Some(&(next, _)) => next - t,
            None => last.unwrap_or_else(|| t - points[i - 1].0),
        };
        let what = format!("the row at {t} s");
        if value < 0.0 || !value.is_finite() {
            return Err(b.error(format!(
                "{what} has {value}: traffic cannot be negative or missing"
            )));
        }
        b.push(secs, amount.bytes_per_sec(value, secs), &what)?;
    }
    Ok(())
}

fn check_order(b: &Builder, times: &[f64]) -> Result<()> {
    for pair in times.windows(2) {
        if pair[1] <= pair[0] {
            return Err(b.error(format!(
                "its times are out of order ({} then {}): sort the rows by time, each time \
                 once",
                pair[0], pair[1]
            )));
        }
    }
    Ok(())
}

fn csv(name: &str, text: &str) -> Result<Profile> {
    let mut b = Builder::new(name);
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(header) = lines.next() else {
        return b.finish();
    };
    let columns: Vec<String> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let amount = match columns.get(1).map(String::as_str) {
        Some("bytes") => Amount::Bytes,
        Some("bytes_per_sec") => Amount::BytesPerSec,
        Some("bits_per_sec") => Amount::BitsPerSec,
        other => {
            return Err(b.error(format!(
                "its second column is {:?}, a unit it cannot read: name it bytes (bytes in the \
                 interval), bytes_per_sec or bits_per_sec, after a time column",
                other.unwrap_or("missing")
            )))
        }
    };
    let mut points = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let row = n + 2;
        let (Some(t), Some(v)) = (cells.first(), cells.get(1)) else {
            return Err(b.error(format!("line {row} has fewer than two columns: {line:?}")));
        };
        let t = parse_time(t).ok_or_else(|| {
            b.error(format!(
                "line {row}: {t:?} is not a time: give seconds from the start or an RFC 3339 \
                 timestamp"
            ))
        })?;
        let v: f64 = v.parse().map_err(|_| {
            b.error(format!(
                "line {row}: {v:?} is not a number of {}",
                columns[1]
            ))
        })?;
        points.push((t, v));
    }
    if points.is_empty() {
        return b.finish();
    }
    let times: Vec<f64> = points.iter().map(|p| p.0).collect();
    check_order(&b, &times)?;
    let start = times[0];
    let points: Vec<(f64, f64)> = points.into_iter().map(|(t, v)| (t - start, v)).collect();
    from_points(&mut b, &points, amount, None)?;
    b.finish()
}

fn cloudwatch(name: &str, text: &str) -> Result<Profile> {
    let mut b = Builder::new(name);
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        b.error(format!(
            "is not JSON ({e}): give the output of aws cloudwatch"
        ))
    })?;
    let (mut points, amount) = if let Some(datapoints) = doc["Datapoints"].as_array() {
        if datapoints.is_empty() {
            return b.finish();
        }
        let mut unit = None;
        let mut points = Vec::new();
        for d in datapoints {
            let t = d["Timestamp"].as_str().and_then(parse_time);
            let v = ["Sum", "Average", "Maximum"]
                .iter()
                .find_map(|k| d[*k].as_f64());
            let (Some(t), Some(v)) = (t, v) else {
                return Err(b.error(format!(
                    "a datapoint has no Timestamp or no Sum/Average: {d}"
                )));
            };
            unit = unit.or_else(|| d["Unit"].as_str().map(str::to_owned));
            points.push((t, v));
        }
        let amount = match unit.as_deref() {
            Some("Bytes") => Amount::Bytes,
            Some("Bytes/Second") => Amount::BytesPerSec,
            Some("Bits") => Amount::Bits,
            Some("Bits/Second") => Amount::BitsPerSec,
            other => {
                return Err(b.error(format!(
                    "its unit is {other:?}: export a network metric in Bytes, Bytes/Second, Bits \
                     or Bits/Second"
                )))
            }
        };
        (points, amount)
    } else if let Some(result) = doc["MetricDataResults"].as_array().and_then(|r| r.first()) {
        let times = result["Timestamps"].as_array().cloned().unwrap_or_default();
        let values = result["Values"].as_array().cloned().unwrap_or_default();
        if times.len() != values.len() {
            return Err(b.error(format!(
                "it has {} timestamps for {} values",
                times.len(),
                values.len()
            )));
        }
        let mut points = Vec::new();
        for (t, v) in times.iter().zip(&values) {
            let (Some(t), Some(v)) = (t.as_str().and_then(parse_time), v.as_f64()) else {
                return Err(b.error(format!("a point is not a timestamp and a number: {t}, {v}")));
            };
            points.push((t, v));
        }
        b.assumptions.push(
            "get-metric-data carries no unit: each value is read as the Sum of bytes in its \
             period"
                .into(),
        );
        (points, Amount::Bytes)
    } else {
        return Err(b.error(
            "has neither Datapoints nor MetricDataResults: give the JSON that aws cloudwatch \
             get-metric-statistics or get-metric-data prints"
                .into(),
        ));
    };
    if points.is_empty() {
        return b.finish();
    }
    // CloudWatch lists newest first: the order is its own, but a time given twice is an error.
    points.sort_by(|x, y| x.0.total_cmp(&y.0));
    let times: Vec<f64> = points.iter().map(|p| p.0).collect();
    check_order(&b, &times)?;
    let period = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    if !period.is_finite() {
        return Err(
            b.error("it has one datapoint, so its period is unknown: export at least two".into())
        );
    }
    // A datapoint covers one period; a period without one offered nothing.
    let start = times[0];
    let mut filled = Vec::new();
    for (i, &(t, v)) in points.iter().enumerate() {
        filled.push((t - start, v));
        if let Some(&(next, _)) = points.get(i + 1) {
            if next - t > period * 1.5 {
                filled.push((t - start + period, 0.0));
            }
        }
    }
    for (i, &(t, v)) in filled.iter().enumerate() {
        if !(v.is_finite() && v >= 0.0) {
            return Err(b.error(format!(
                "the datapoint at {t} s has {v}: traffic cannot be negative"
            )));
        }
        let secs = filled.get(i + 1).map_or(period, |next| next.0 - t);
        // An amount (Bytes, Bits) is over its period; a rate holds until the next point.
        let rate = match amount {
            Amount::Bytes | Amount::Bits => amount.bytes_per_sec(v, period),
            Amount::BytesPerSec | Amount::BitsPerSec => amount.bytes_per_sec(v, secs),
        };
        b.push(secs, rate, "a datapoint")?;
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(r: Result<Profile>) -> String {
        match r {
            Err(BenchError::Profile { why, .. }) => why,
            other => panic!("expected a profile error, got {other:?}"),
        }
    }

    #[test]
    fn a_pattern_repeats_its_burst_over_a_day() {
        let p = pattern("2G for 20m every 1h").unwrap();
        assert_eq!(p.duration_secs(), 86_400.0);
        // 24 bursts of 1200 s at 250 MB/s.
        assert_eq!(p.total_bytes(), 24.0 * 1200.0 * 250e6);
        assert_eq!(p.bytes_between(1200.0, 3600.0), 0.0);
        assert_eq!(p.bytes_between(3600.0, 3601.0), 250e6);
        assert_eq!(p.peak_bits_per_sec(), 2e9);
        assert!(
            p.assumptions[0].contains("over 1day"),
            "{:?}",
            p.assumptions
        );
        let once = pattern("500Mbit/s for 90s").unwrap();
        assert_eq!(
            (once.duration_secs(), once.total_bytes()),
            (90.0, 90.0 * 62.5e6)
        );
        let short = pattern("1G for 10m every 1h over 90m").unwrap();
        assert_eq!(short.duration_secs(), 5400.0);
        assert_eq!(short.total_bytes(), 2.0 * 600.0 * 125e6);
    }

    #[test]
    fn bad_patterns_name_the_value_and_the_fix() {
        assert!(why(pattern("2G for 0s every 1h")).contains("zero"));
        assert!(why(pattern("2G for 2h every 1h")).contains("must fit"));
        assert!(why(pattern("lots for 1h")).contains("2G for 20m every 1h"));
        assert!(why(pattern("2G for 1h every 1h over 40d")).contains("31 days"));
        assert!(why(pattern("nightly export")).contains("pattern like"));
    }

    #[test]
    fn a_csv_of_bytes_lasts_row_to_row() {
        let p = csv("p.csv", "time,bytes\n0,1000\n10,0\n20,5000\n").unwrap();
        assert_eq!(p.duration_secs(), 30.0);
        assert_eq!(p.total_bytes(), 6000.0);
        assert_eq!(p.bytes_between(0.0, 5.0), 500.0);
        let rates = csv("r.csv", "t,bits_per_sec\n100,8000\n101,0\n").unwrap();
        assert_eq!((rates.duration_secs(), rates.total_bytes()), (2.0, 1000.0));
        let stamped = csv(
            "s.csv",
            "timestamp,bytes_per_sec\n2026-12-01T00:00:00Z,10\n2026-12-01T00:01:00Z,20\n",
        )
        .unwrap();
        assert_eq!(stamped.total_bytes(), 60.0 * 10.0 + 60.0 * 20.0);
    }

    #[test]
    fn bad_csv_files_are_refused_with_the_row_and_the_fix() {
        assert!(why(csv("p.csv", "time,bytes\n")).contains("no rows"));
        assert!(why(csv("p.csv", "")).contains("no rows"));
        assert!(why(csv("p.csv", "time,bytes\n0,10\n5,-1\n")).contains("negative"));
        assert!(why(csv("p.csv", "time,bytes\n10,1\n5,1\n")).contains("out of order"));
        assert!(why(csv("p.csv", "time,bytes\n5,1\n5,1\n")).contains("out of order"));
        assert!(why(csv("p.csv", "time,packets\n0,1\n1,1\n")).contains("packets"));
        assert!(why(csv("p.csv", "time,bytes\nnoon,1\n1,1\n")).contains("not a time"));
        assert!(why(csv("p.csv", "time,bytes\n0,1\n")).contains("one row"));
    }

    #[test]
    fn cloudwatch_statistics_fill_gaps_with_nothing() {
        // Newest first, as CloudWatch lists them; 60 s periods, one missing (00:02).
        let json = r#"{"Label":"NetworkTxBytes","Datapoints":[
            {"Timestamp":"2026-12-01T00:03:00Z","Sum":600,"Unit":"Bytes"},
            {"Timestamp":"2026-12-01T00:00:00Z","Sum":60,"Unit":"Bytes"},
            {"Timestamp":"2026-12-01T00:01:00Z","Sum":120,"Unit":"Bytes"}]}"#;
        let p = cloudwatch("cw.json", json).unwrap();
        assert_eq!(p.duration_secs(), 240.0);
        assert_eq!(p.total_bytes(), 780.0);
        assert_eq!(p.bytes_between(120.0, 180.0), 0.0);
        let rate = r#"{"Datapoints":[
            {"Timestamp":"2026-12-01T00:00:00Z","Average":100,"Unit":"Bytes/Second"},
            {"Timestamp":"2026-12-01T00:01:00Z","Average":50,"Unit":"Bytes/Second"}]}"#;
        assert_eq!(cloudwatch("cw.json", rate).unwrap().total_bytes(), 9000.0);
        let data = r#"{"MetricDataResults":[{"Label":"x","Timestamps":
            ["2026-12-01T00:05:00Z","2026-12-01T00:00:00Z"],"Values":[3000,300]}]}"#;
        let p = cloudwatch("md.json", data).unwrap();
        assert_eq!((p.duration_secs(), p.total_bytes()), (600.0, 3300.0));
        assert!(p.assumptions[0].contains("Sum of bytes"));
        let unit = r#"{"Datapoints":[{"Timestamp":"2026-12-01T00:00:00Z","Sum":1,"Unit":"Count"},
            {"Timestamp":"2026-12-01T00:01:00Z","Sum":1,"Unit":"Count"}]}"#;
        assert!(why(cloudwatch("cw.json", unit)).contains("Count"));
        assert!(why(cloudwatch("cw.json", r#"{"Datapoints":[]}"#)).contains("no rows"));
        assert!(why(cloudwatch("cw.json", "{}")).contains("get-metric-statistics"));
    }
}
