//! A need as an operator writes it, parsed and checked before any results are read:
//!
//! ```text
//! tcp-stream.baseline>=500Mbit/s        what a long transfer gets, after the burst
//! tcp-stream.burst>=2Gbit/s for 10m     a burst rate, and how long it must last
//! tcp-rr.p99<=200us                     a round trip's 99th percentile
//! memory.triad>=10GB/s                  a memory kernel's bandwidth
//! memory>=4GB                           the task's memory (Fargate's GB, 1024 MiB)
//! vcpu>=2                               the task's vCPUs
//! ```
//!
//! `FIGURE` is a name of [`crate::figure`]; the comparison is `>=`, `>`, `<=` or `<`. Units
//! are required and kept apart: a network rate in bits (`Mbit/s`, `Gbit/s`, or `M`, `G` as
//! `simulate` and netprobe take them), memory bandwidth in bytes (`GB/s` = 10^9 B/s), times in
//! `ns`, `us`, `ms`, `s` (and `m`, `h` for how long a burst lasts). A rate in the other unit is
//! refused with its conversion rather than guessed at.

use serde::{Serialize, Serializer};

use crate::error::{BenchError, Result};
use crate::figure::{Figure, FigureName};
use crate::summary::Unit;

/// How a figure must compare to a need's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `>=`
    #[serde(rename = ">=")]
    AtLeast,
    /// `>`
    #[serde(rename = ">")]
    Above,
    /// `<=`
    #[serde(rename = "<=")]
    AtMost,
    /// `<`
    #[serde(rename = "<")]
    Below,
}

impl Op {
    /// As written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::AtLeast => ">=",
            Op::Above => ">",
            Op::AtMost => "<=",
            Op::Below => "<",
        }
    }

    /// The need sets a floor: a figure is judged on the lower end of its interval (a ceiling,
    /// on the upper end).
    pub fn floor(self) -> bool {
        matches!(self, Op::AtLeast | Op::Above)
    }

    /// Whether `value` satisfies the need of `need`.
    pub fn holds(self, value: f64, need: f64) -> bool {
        match self {
            Op::AtLeast => value >= need,
            Op::Above => value > need,
            Op::AtMost => value <= need,
            Op::Below => value < need,
        }
    }
}

/// What a need is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A measured figure.
    Figure(FigureName),
    /// The task's memory: a property of the size, exact.
    TaskMemory,
    /// The task's vCPUs.
    TaskVcpu,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Figure(name) => name.fmt(f),
            Target::TaskMemory => f.write_str("memory"),
            Target::TaskVcpu => f.write_str("vcpu"),
        }
    }
}

/// The unit of a need's value and of the figures it is judged on (base units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// A figure of a row.
    Measured(Unit),
    /// Bytes of task memory.
    Bytes,
    /// vCPUs.
    Vcpu,
}

impl Quantity {
    /// The base unit's name, as JSON gives it.
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Measured(Unit::BitsPerSec) => "bit/s",
            Quantity::Measured(Unit::BytesPerSec) => "B/s",
            Quantity::Measured(Unit::TransactionsPerSec) => "transactions/s",
            Quantity::Measured(Unit::Nanoseconds) => "ns",
            Quantity::Bytes => "B",
            Quantity::Vcpu => "vCPU",
        }
    }

    /// A value as people read it (`500.00 Mbit/s`, `200.0 us`, `4 GB`).
    pub fn format(self, v: f64) -> String {
        let trim = |v: f64| {
            let s = format!("{v:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        };
        match self {
            Quantity::Measured(unit) => unit.format(v),
            Quantity::Bytes => format!("{} GB", trim(v / GIB)),
            Quantity::Vcpu => format!("{} vCPU", trim(v)),
        }
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

const GIB: f64 = (1u64 << 30) as f64;

/// One parsed need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Need {
    /// As written (trimmed).
    pub text: String,
    /// What it is about (`tcp-stream.baseline`, `memory`, `vcpu`).
    #[serde(serialize_with = "display")]
    pub target: Target,
    /// The comparison.
    pub op: Op,
    /// The value, in `unit`.
    pub value: f64,
    /// The base unit of `value`.
    pub unit: Quantity,
    /// With `burst>=RATE for DURATION`: how long the burst must last, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lasting_ns: Option<f64>,
}

fn display<S: Serializer>(t: &Target, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(t)
}

impl Need {
    /// Parses one need.
    ///
    /// # Errors
    /// [`BenchError::Need`] naming it, what is wrong and how to write it.
    pub fn parse(text: &str) -> Result<Need> {
        let written = text.trim();
        let bad = |why: String| BenchError::Need {
            need: written.to_owned(),
            why,
        };
        let (at, op, len) = find_op(written).map_err(bad)?;
        let (lhs, rhs) = (written[..at].trim(), written[at + len..].trim());
        let target = match lhs.to_ascii_lowercase().as_str() {
            "memory" => Target::TaskMemory,
            "vcpu" | "cpu" => Target::TaskVcpu,
            _ => Target::Figure(FigureName::parse(lhs).map_err(bad)?),
        };
        let unit = match &target {
            Target::Figure(name) => Quantity::Measured(name.figure.unit()),
            Target::TaskMemory => Quantity::Bytes,
            Target::TaskVcpu => Quantity::Vcpu,
        };
        let lower = rhs.to_ascii_lowercase();
        let (value_text, lasting_text) = match lower.find(" for ") {
            Some(i) => (rhs[..i].trim(), Some(rhs[i + 5..].trim())),
            None => (rhs, None),
        };
        let value = parse_value(value_text, unit).map_err(bad)?;
        let lasting_ns = match lasting_text {
            None => None,
            Some(t) => {
                let burst = matches!(&target, Target::Figure(n) if n.figure == Figure::Burst);
                if !(burst && op.floor()) {
                    return Err(bad(
                        "only a burst lasts: `for DURATION` goes with a burst floor, such as \
                         tcp-stream.burst>=2Gbit/s for 10m"
                            .into(),
                    ));
                }
                Some(parse_value(t, Quantity::Measured(Unit::Nanoseconds)).map_err(bad)?)
            }
        };
        Ok(Need {
            text: written.to_owned(),
            target,
            op,
            value,
            unit,
            lasting_ns,
        })
    }

    /// Parses every need and refuses a set that contradicts itself (`tcp-rr.p99<=100us` with
    /// `tcp-rr.p99>=200us`): no size could meet it, and the operator meant something else.
    ///
    /// # Errors
    /// [`BenchError::Need`] for the first need that does not parse, or
    /// [`BenchError::NeedsContradict`] naming the two that cannot both hold.
    pub fn parse_all(texts: &[String]) -> Result<Vec<Need>> {
        let needs = texts
            .iter()
            .map(|t| Need::parse(t))
            .collect::<Result<Vec<_>>>()?;
        for (i, a) in needs.iter().enumerate() {
            for b in &needs[i + 1..] {
                let (floor, ceiling) = match (a.op.floor(), b.op.floor()) {
                    (true, false) => (a, b),
                    (false, true) => (b, a),
                    _ => continue,
                };
                let empty = floor.value > ceiling.value
                    || (floor.value == ceiling.value
                        && (floor.op == Op::Above || ceiling.op == Op::Below));
                if a.target == b.target && empty {
                    return Err(BenchError::NeedsContradict {
                        first: a.text.clone(),
                        second: b.text.clone(),
                        why: format!(
                            "no {} is both {} {} and {} {}",
                            a.target,
                            floor.op.symbol(),
                            floor.unit.format(floor.value),
                            ceiling.op.symbol(),
                            ceiling.unit.format(ceiling.value)
                        ),
                    });
                }
            }
        }
        Ok(needs)
    }
}

/// Where the comparison is, which, and how many bytes it takes.
fn find_op(text: &str) -> std::result::Result<(usize, Op, usize), String> {
    let Some(at) = text.find(['<', '>', '=']) else {
        return Err(
            "no comparison: write FIGURE>=VALUE or FIGURE<=VALUE, such as \
             tcp-stream.baseline>=500Mbit/s"
                .into(),
        );
    };
    let bytes = text.as_bytes();
    let then_eq = bytes.get(at + 1) == Some(&b'=');
    match (bytes[at], then_eq) {
        (b'>', true) => Ok((at, Op::AtLeast, 2)),
        (b'>', false) => Ok((at, Op::Above, 1)),
        (b'<', true) => Ok((at, Op::AtMost, 2)),
        (b'<', false) => Ok((at, Op::Below, 1)),
        _ => Err(
            "a measured figure is never exactly a value: write >= for a floor or <= for a \
             ceiling"
                .into(),
        ),
    }
}

/// `500Mbit/s`, `10 GB/s`, `200us`, `4GB` in `unit`'s base unit.
fn parse_value(text: &str, unit: Quantity) -> std::result::Result<f64, String> {
    let t = text.trim();
    let Some((number, suffix)) = (1..=t.len())
        .rev()
        .filter(|&i| t.is_char_boundary(i))
        .find_map(|i| {
            let v: f64 = t[..i].trim().parse().ok()?;
            v.is_finite().then(|| (v, t[i..].trim()))
        })
    else {
        return Err(format!(
            "{t:?} is not a value: write a number and its unit, such as {}",
            example(unit)
        ));
    };
    if number <= 0.0 {
        return Err(format!(
            "{t:?} is not above zero: a need of nothing is no need (drop it)"
        ));
    }
    Ok(number * scale(suffix, unit)?)
}

fn example(unit: Quantity) -> &'static str {
    match unit {
        Quantity::Measured(Unit::BitsPerSec) => "500Mbit/s or 2Gbit/s",
        Quantity::Measured(Unit::BytesPerSec) => "10GB/s",
        Quantity::Measured(Unit::TransactionsPerSec) => "20000/s",
        Quantity::Measured(Unit::Nanoseconds) => "200us, 1ms or 10m",
        Quantity::Bytes => "4GB",
        Quantity::Vcpu => "2",
    }
}

/// The factor of `suffix` to `unit`'s base unit.
fn scale(suffix: &str, unit: Quantity) -> std::result::Result<f64, String> {
    let unknown = || {
        Err(format!(
            "unknown unit {suffix:?} for {}: write it as {}",
            unit.name(),
            example(unit)
        ))
    };
    match unit {
        Quantity::Measured(Unit::BitsPerSec) => {
            if suffix.contains('B') {
                return Err(format!(
                    "{suffix:?} is bytes, and a network rate is in bits: write Mbit/s or \
                     Gbit/s (1 GB/s = 8 Gbit/s)"
                ));
            }
            let lower = suffix.to_ascii_lowercase();
            let (factor, rest) = match lower.chars().next() {
                Some('k') => (1e3, &lower[1..]),
                Some('m') => (1e6, &lower[1..]),
                Some('g') => (1e9, &lower[1..]),
                Some('t') => (1e12, &lower[1..]),
                _ => (1.0, lower.as_str()),
            };
            match rest {
                "bit/s" | "b/s" | "bps" => Ok(factor),
                "" if factor > 1.0 => Ok(factor),
                "" => Err(format!("give a unit: {} (bits per second)", example(unit))),
                _ => unknown(),
            }
        }
        Quantity::Measured(Unit::BytesPerSec) => match suffix {
            "B/s" => Ok(1.0),
            "kB/s" | "KB/s" => Ok(1e3),
            "MB/s" => Ok(1e6),
            "GB/s" => Ok(1e9),
            "TB/s" => Ok(1e12),
            "KiB/s" => Ok(1024.0),
            "MiB/s" => Ok(1024.0 * 1024.0),
            "GiB/s" => Ok(GIB),
            "" => Err("give a unit: GB/s (10^9 bytes per second, as STREAM counts)".into()),
            s if s.contains("bit") || s.contains("b/s") || s.ends_with("bps") => Err(format!(
                "{s:?} is bits, and memory bandwidth is in bytes: write GB/s (8 Gbit/s = 1 GB/s)"
            )),
            _ => unknown(),
        },
        Quantity::Measured(Unit::TransactionsPerSec) => match suffix {
            "" | "/s" | "tps" => Ok(1.0),
            "k" | "k/s" | "ktps" => Ok(1e3),
            _ => unknown(),
        },
        Quantity::Measured(Unit::Nanoseconds) => match suffix {
            "ns" => Ok(1.0),
            "us" | "µs" | "μs" => Ok(1e3),
            "ms" => Ok(1e6),
            "s" => Ok(1e9),
            "m" | "min" => Ok(60e9),
            "h" => Ok(3600e9),
            "" => Err(format!("give a unit: {}", example(unit))),
            _ => unknown(),
        },
        Quantity::Bytes => match suffix {
            "GB" | "GiB" | "G" => Ok(GIB),
            "MB" | "MiB" | "M" => Ok(1024.0 * 1024.0),
            "" => Err("give a unit: GB, as Fargate's sizes (1 GB = 1024 MiB), such as 4GB".into()),
            _ => unknown(),
        },
        Quantity::Vcpu => match suffix.to_ascii_lowercase().as_str() {
            "" | "vcpu" | "vcpus" => Ok(1.0),
            _ => unknown(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(text: &str) -> Need {
        Need::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn refused(text: &str) -> String {
        let e = Need::parse(text).unwrap_err();
        assert!(matches!(e, BenchError::Need { .. }), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        e.to_string()
    }

    #[test]
    fn the_issue_s_needs_parse_into_base_units() {
        let n = need("tcp-stream.baseline>=500Mbit/s");
        assert_eq!(
            (n.op, n.value, n.unit.name()),
            (Op::AtLeast, 500e6, "bit/s")
        );
        assert_eq!(n.target.to_string(), "tcp-stream.baseline");
        let n = need(" tcp-stream.burst >= 2Gbit/s for 10m ");
        assert_eq!((n.value, n.lasting_ns), (2e9, Some(600e9)));
        assert_eq!(n.text, "tcp-stream.burst >= 2Gbit/s for 10m");
        let n = need("tcp-rr.p99<=200us");
        assert_eq!((n.op, n.value, n.unit.name()), (Op::AtMost, 200e3, "ns"));
        assert_eq!(need("memory.triad>=10GB/s").value, 10e9);
        let n = need("memory>=4GB");
        assert_eq!((n.target.clone(), n.value), (Target::TaskMemory, 4.0 * GIB));
        assert_eq!(n.unit.format(n.value), "4 GB");
        assert_eq!(need("vcpu>2").op, Op::Above);
        assert_eq!(need("tcp-stream.throughput>1G").value, 1e9);
        assert_eq!(need("tcp-rr.transactions>=20k/s").value, 20e3);
        assert_eq!(need("tcp-rr.p99.9<1.5ms").value, 1.5e6);
        let json = serde_json::to_value(need("tcp-rr.p99<=200us")).unwrap();
        assert_eq!(json["target"], "tcp-rr.p99");
        assert_eq!(json["op"], "<=");
        assert_eq!(json["unit"], "ns");
    }

    #[test]
    fn unknown_figures_and_units_are_refused_naming_the_fix() {
        let e = refused("tcp-stream.goodput>=1Gbit/s");
        assert!(
            e.contains("tcp-stream.goodput>=1Gbit/s") && e.contains("baseline"),
            "{e}"
        );
        let e = refused("tcp-stream.baseline>=10GB/s");
        assert!(e.contains("bytes") && e.contains("Gbit/s"), "{e}");
        let e = refused("memory.triad>=10Gbit/s");
        assert!(e.contains("bits") && e.contains("GB/s"), "{e}");
        let e = refused("tcp-rr.p99<=200");
        assert!(e.contains("give a unit") && e.contains("us"), "{e}");
        let e = refused("tcp-rr.p99<=200 parsecs");
        assert!(e.contains("unknown unit \"parsecs\""), "{e}");
        let e = refused("memory>=4");
        assert!(e.contains("GB"), "{e}");
        assert!(refused("tcp-stream.baseline=1G").contains(">="));
        assert!(refused("tcp-stream.baseline 1G").contains("no comparison"));
        assert!(refused("tcp-stream.baseline>=0G").contains("above zero"));
        assert!(refused("tcp-stream.baseline>=fast").contains("not a value"));
        let e = refused("tcp-rr.p99<=200us for 10m");
        assert!(e.contains("only a burst lasts"), "{e}");
        assert!(refused("tcp-stream.burst<=2G for 10m").contains("burst floor"));
    }

    #[test]
    fn contradicting_needs_are_refused_naming_both() {
        let texts = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let e = Need::parse_all(&texts(&["tcp-rr.p99<=100us", "tcp-rr.p99>=200us"])).unwrap_err();
        assert!(matches!(e, BenchError::NeedsContradict { .. }));
        assert_eq!(e.exit_code(), 2);
        let e = e.to_string();
        assert!(
            e.contains("tcp-rr.p99<=100us") && e.contains("tcp-rr.p99>=200us"),
            "{e}"
        );
        assert!(e.contains("100.0 us") && e.contains("200.0 us"), "{e}");
        // A floor and a ceiling that meet only where one is strict.
        assert!(Need::parse_all(&texts(&["memory>4GB", "memory<=4GB"])).is_err());
        // Both can hold: a band, or two floors, or the same figure of two tests.
        for ok in [
            &["tcp-rr.p99>=100us", "tcp-rr.p99<=200us"][..],
            &["memory>=4GB", "memory<=4GB"],
            &["tcp-stream.baseline>=1G", "tcp-stream.baseline>=2G"],
            &["tcp-rr.p99<=1ms", "udp-rr.p99>=2ms"],
        ] {
            assert_eq!(Need::parse_all(&texts(ok)).unwrap().len(), 2, "{ok:?}");
        }
    }
}
