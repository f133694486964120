//! A rate profile: traffic that changes rate over time, for a paced sender to follow
//! (`--rate-profile 400M:2s,0:3s,100M:5s`, suite key `rate_profile`). It is how a workload's
//! pattern is sent through a link whose bucket is known, so what arrives can be held against
//! what `fargate-bench simulate` predicts for that bucket.
//!
//! A profile is steps of a rate (bits per second, decimal suffixes; `0` is a pause) held for
//! a time (`500ms`, `2s`, `1m`), from the start of the test, then silence. On `tcp-stream` the
//! sender keeps whatever the path could not take yet in a backlog and sends it as soon as the
//! path allows (an application's queue, which is the backlog `simulate` models); on
//! `udp-stream` it is the datagram schedule.

use serde::{Deserialize, Serialize};

use super::quantity;

/// One step of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateStep {
    /// The rate offered during the step (0: a pause).
    pub bits_per_sec: u64,
    /// How long the step lasts.
    pub duration_ms: u64,
}

/// Most steps in one profile (each crosses the control channel in the request).
pub const MAX_RATE_STEPS: usize = 1000;

/// Shortest step: below it the sender's timer cannot keep the step apart from its neighbours.
pub const MIN_RATE_STEP_MS: u64 = 10;

/// How a profile is written, for every message about one.
const EXAMPLE: &str = "write steps of RATE:TIME, like 400M:2s,0:3s,100M:5s";

/// Parses `RATE:TIME[,RATE:TIME...]`; the reason it cannot, in words, otherwise.
///
/// # Errors
/// The step that could not be read, why, and how a profile is written.
pub fn parse(text: &str) -> Result<Vec<RateStep>, String> {
    if text.trim().is_empty() {
        return Err(format!("is empty; {EXAMPLE}"));
    }
    text.split(',')
        .map(|step| {
            let step = step.trim();
            let Some((rate, time)) = step.split_once(':') else {
                return Err(format!("has a step {step:?} without a `:`; {EXAMPLE}"));
            };
            let bits_per_sec = match rate.trim() {
                "0" => 0,
                r => quantity::parse_rate(r)
                    .map_err(|e| format!("has a step {step:?}: {}", quantity_why(e)))?,
            };
            let duration_ms = quantity::parse_duration_ms(time)
                .map_err(|e| format!("has a step {step:?}: {}", quantity_why(e)))?;
            Ok(RateStep {
                bits_per_sec,
                duration_ms,
            })
        })
        .collect()
}

fn quantity_why(e: crate::CoreError) -> String {
    match e {
        crate::CoreError::Quantity { text, why } => format!("{text:?} {why}"),
        other => other.to_string(),
    }
}

/// Writes `steps` back the way [`parse`] reads them.
pub fn format(steps: &[RateStep]) -> String {
    steps
        .iter()
        .map(|s| format!("{}:{}ms", s.bits_per_sec, s.duration_ms))
        .collect::<Vec<_>>()
        .join(",")
}

/// How long `steps` last, in ms.
pub fn duration_ms(steps: &[RateStep]) -> u64 {
    steps
        .iter()
        .fold(0u64, |total, s| total.saturating_add(s.duration_ms))
}

/// The highest rate of `steps`.
pub fn peak_bits_per_sec(steps: &[RateStep]) -> u64 {
    steps.iter().map(|s| s.bits_per_sec).max().unwrap_or(0)
}

/// Checks a profile on its own: steps, their lengths, something offered, and that it fits a
/// test of `test_ms`.
///
/// # Errors
/// What is wrong, with the value and the fix.
pub fn check(steps: &[RateStep], test_ms: u64) -> Result<(), String> {
    if steps.is_empty() {
        return Err(format!("the rate profile has no steps; {EXAMPLE}"));
    }
    if steps.len() > MAX_RATE_STEPS {
        return Err(format!(
            "the rate profile has {} steps; give at most {MAX_RATE_STEPS}",
            steps.len()
        ));
    }
    if let Some(short) = steps.iter().find(|s| s.duration_ms < MIN_RATE_STEP_MS) {
        return Err(format!(
            "a rate profile step of {} ms is shorter than {MIN_RATE_STEP_MS} ms; merge it with \
             its neighbour or lengthen it",
            short.duration_ms
        ));
    }
    if peak_bits_per_sec(steps) == 0 {
        return Err(format!(
            "the rate profile offers nothing (every step is 0); {EXAMPLE}"
        ));
    }
    let total = duration_ms(steps);
    if total > test_ms {
        return Err(format!(
            "the rate profile lasts {} s, longer than the test's {} s (--time); raise --time \
             (leave room for a backlog to drain) or shorten the profile",
            total as f64 / 1000.0,
            test_ms as f64 / 1000.0
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_and_write_back() {
        let steps = parse("400M:2s, 0:500ms,1G:1m").unwrap();
        assert_eq!(
            steps,
            [
                RateStep {
                    bits_per_sec: 400_000_000,
                    duration_ms: 2000
                },
                RateStep {
                    bits_per_sec: 0,
                    duration_ms: 500
                },
                RateStep {
                    bits_per_sec: 1_000_000_000,
                    duration_ms: 60_000
                },
            ]
        );
        assert_eq!(parse(&format(&steps)).unwrap(), steps);
        assert_eq!(duration_ms(&steps), 62_500);
        assert_eq!(peak_bits_per_sec(&steps), 1_000_000_000);
        assert!(check(&steps, 62_500).is_ok());
    }

    #[test]
    fn bad_profiles_name_the_step_and_the_fix() {
        let err = |text: &str| parse(text).unwrap_err();
        assert!(err("").contains("is empty; write steps of RATE:TIME"));
        assert!(err("400M").contains("has a step \"400M\" without a `:`"));
        assert!(
            err("400M:2s,fast:1s").contains("has a step \"fast:1s\": \"fast\" is not"),
            "{}",
            err("400M:2s,fast:1s")
        );
        assert!(err("400M:-2s").contains("\"-2s\" is a negative time"));
        assert!(err("-5M:2s").contains("has a step \"-5M:2s\""));
        let steps = |text: &str| parse(text).unwrap();
        assert!(check(&steps("0:2s,0:1s"), 10_000)
            .unwrap_err()
            .contains("offers nothing"));
        assert!(check(&steps("1M:5ms"), 10_000)
            .unwrap_err()
            .contains("step of 5 ms is shorter than 10 ms"));
        assert!(check(&steps("1M:20s"), 10_000)
            .unwrap_err()
            .contains("lasts 20 s, longer than the test's 10 s (--time)"));
        assert!(check(&[], 10_000).unwrap_err().contains("no steps"));
        let many = vec![
            RateStep {
                bits_per_sec: 1,
                duration_ms: 10
            };
            MAX_RATE_STEPS + 1
        ];
        assert!(check(&many, u64::MAX).unwrap_err().contains("at most 1000"));
    }
}
