//! The page of `fargate-bench simulate --format html`: for each size, the traffic the profile
//! offers against what the size delivered, and its bucket's level and the backlog over time
//! (the replay's samples, [`crate::simulate::Sample`]), above the table every format prints.

use std::fmt::Write as _;

use probe_core::units::{format_bits_per_sec, format_bytes};

use super::chart::{Chart, Series};
use super::{escape, figure, page, section, tabular};
use crate::export::simulate::{not_simulated, replays};
use crate::simulate::{Simulation, SizeOutcome};

/// A time axis in the unit the profile's length reads best in: seconds, minutes or hours.
fn time_axis(secs: f64) -> (f64, &'static str) {
    if secs > 2.0 * 3600.0 {
        (3600.0, "h")
    } else if secs > 600.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    }
}

/// Bits per second in the unit the peak reads best in.
fn rate_axis(peak_bits_per_sec: f64) -> (f64, &'static str) {
    if peak_bits_per_sec >= 1e9 {
        (1e9, "Gbit/s")
    } else {
        (1e6, "Mbit/s")
    }
}

/// Bytes in the unit the largest level reads best in, binary as the table writes bytes.
fn bytes_axis(most: f64) -> (f64, &'static str) {
    if most >= f64::from(1u32 << 30) {
        (f64::from(1u32 << 30), "GiB")
    } else {
        (f64::from(1u32 << 20), "MiB")
    }
}

/// The page of a simulation.
pub(crate) fn render(sim: &Simulation) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>fargate-bench simulate: {}</h1><p class=\"meta\">{:.0} s of traffic, {} offered, at \
         most {}, replayed against each size's {} bucket in steps of {} s</p>",
        escape(&sim.profile),
        sim.profile_secs,
        format_bytes(sim.offered_bytes as u64),
        format_bits_per_sec(sim.peak_bits_per_sec),
        escape(sim.direction),
        sim.step_secs
    );
    section(&mut body, "sizes", "What each size delivers");
    body.push_str(
        "<p>Per size: the traffic the profile offers and what the size delivered (dashed: \
         offered), then the credit left in its bucket and the bytes waiting. Where delivered \
         falls under offered, traffic waits; it goes out later, at the baseline once the credit \
         is spent.</p>",
    );
    for size in &sim.sizes {
        size_charts(&mut body, sim, size);
    }
    let unread: Vec<&SizeOutcome> = sim.sizes.iter().filter(|s| s.bucket.is_none()).collect();
    let mut tables = vec![replays(sim)];
    if !unread.is_empty() {
        tables.push(not_simulated(&unread));
    }
    for t in tables.iter().filter(|t| !t.rows.is_empty()) {
        let _ = write!(body, "<h3>{}</h3>", escape(t.title));
        tabular(&mut body, t);
    }
    let cheapest = match &sim.cheapest_unthrottled {
        Some(size) => format!("The cheapest size that never throttles it: {size}."),
        None => "No measured, priced size serves it without a queue.".into(),
    };
    let _ = write!(body, "<p><strong>{}</strong></p><ul>", escape(&cheapest));
    for a in &sim.assumptions {
        let _ = write!(body, "<li>assumed: {}</li>", escape(a));
    }
    body.push_str("</ul></section>");
    page(&format!("fargate-bench simulate {}", sim.profile), &body)
}

/// The two charts of one simulated size (nothing for a size that was not simulated: the table
/// under the charts says why).
fn size_charts(body: &mut String, sim: &Simulation, size: &SizeOutcome) {
    let (Some(bucket), Some(outcome)) = (&size.bucket, &size.outcome) else {
        return;
    };
    let (t_div, t_unit) = time_axis(outcome.delivered_by_secs.max(sim.profile_secs));
    let (r_div, r_unit) = rate_axis(sim.peak_bits_per_sec.max(bucket.burst_bits_per_sec));
    let most = outcome
        .samples
        .iter()
        .map(|s| s.bucket_level_bytes.max(s.backlog_bytes))
        .fold(bucket.bucket_bytes, f64::max);
    let (b_div, b_unit) = bytes_axis(most);
    let points = |f: &dyn Fn(&crate::simulate::Sample) -> f64, div: f64| -> Vec<(f64, f64)> {
        outcome
            .samples
            .iter()
            .map(|s| (s.t_secs / t_div, f(s) / div))
            .collect()
    };
    let refill = if bucket.refill_assumed {
        format!(
            "refill {} assumed = baseline",
            format_bits_per_sec(bucket.refill_bits_per_sec)
        )
    } else {
        format!(
            "refill {} measured",
            format_bits_per_sec(bucket.refill_bits_per_sec)
        )
    };
    let chart = |kind, title: String, y_label: String, series| Chart {
        kind,
        title,
        x_label: format!("time since the profile started ({t_unit})"),
        y_label,
        x_log: false,
        y_log: false,
        legend_left: true,
        x_ticks: None,
        categories: Vec::new(),
        series,
        notes: Vec::new(),
        size: size.size.to_string(),
    };
    // The bucket's figures go in the text, where they wrap: in the chart's title they ran past
    // its edge at a narrow size (the Chromium layout test).
    let _ = write!(
        body,
        "<h3>{}</h3><p>Burst {}, baseline {}, {}.</p>",
        escape(&size.size.to_string()),
        escape(&format_bits_per_sec(bucket.burst_bits_per_sec)),
        escape(&format_bits_per_sec(bucket.baseline_bits_per_sec)),
        escape(&refill)
    );
    figure(
        body,
        &chart(
            "simulate-traffic",
            format!("Offered and delivered at {}", size.size),
            format!("traffic ({r_unit})"),
            vec![
                Series {
                    name: "offered".into(),
                    points: points(&|s| s.offered_bits_per_sec, r_div),
                    reference: true,
                },
                Series {
                    name: "delivered".into(),
                    points: points(&|s| s.delivered_bits_per_sec, r_div),
                    reference: false,
                },
            ],
        ),
    );
    figure(
        body,
        &chart(
            "simulate-bucket",
            format!(
                "Bucket and backlog at {} (bucket {})",
                size.size,
                format_bytes(bucket.bucket_bytes as u64)
            ),
            format!("bytes ({b_unit})"),
            vec![
                Series {
                    name: "credit left in the bucket".into(),
                    points: points(&|s| s.bucket_level_bytes, b_div),
                    reference: false,
                },
                Series {
                    name: "waiting (backlog)".into(),
                    points: points(&|s| s.backlog_bytes, b_div),
                    reference: false,
                },
            ],
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{simulate, Profile};

    #[test]
    fn each_simulated_size_gets_its_traffic_and_its_bucket_drawn_and_the_rest_are_listed() {
        let doc = crate::export::tests::fixed_document();
        // 1x2 (burst 4.2 Gbit/s, 4.0 GB, baseline 63 Mbit/s, refill measured at 60.75 Mbit/s):
        // 5 Gbit/s for 20 s is over the burst rate and spends the bucket.
        let profile = Profile::load("5G for 20s").unwrap();
        let sim = simulate(
            &profile,
            std::slice::from_ref(&doc),
            probe_core::report::Direction::ClientToServer,
        )
        .unwrap();
        let page = render(&sim);
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        for needle in [
            "data-chart=\"simulate-traffic\" data-size=\"1x2\"",
            "data-chart=\"simulate-bucket\" data-size=\"1x2\"",
            "data-series=\"offered|delivered\"",
            "refill 60.75 Mbit/s measured",
            "traffic (Gbit/s)",
            "bytes (GiB)",
            "Not simulated",
            "no tcp-stream",
        ] {
            assert!(page.contains(needle), "{needle} not in the page");
        }
        // Every series is drawn, from the replay's samples.
        let drawn = |name: &str| -> usize {
            let at = page
                .find(&format!("data-name=\"{name}\"><polyline"))
                .unwrap_or_else(|| panic!("no series {name}"));
            let from = at + page[at..].find("points=\"").unwrap() + "points=\"".len();
            let to = from + page[from..].find('"').unwrap();
            page[from..to].split_whitespace().count()
        };
        for name in [
            "offered",
            "delivered",
            "credit left in the bucket",
            "waiting (backlog)",
        ] {
            assert!(drawn(name) > 10, "{name}: {} points", drawn(name));
        }
        // Only the simulated size is drawn: the memory-only size is in the table alone.
        assert_eq!(page.matches("<figure class=\"chart\"").count(), 2);
        assert!(!page.contains("data-size=\"0.25x0.5 X86_64\""));
        // The bucket empties: some sample has no credit left, and one has a backlog.
        let o = sim.sizes.iter().find_map(|s| s.outcome.as_ref()).unwrap();
        assert!(o.samples.iter().any(|s| s.bucket_level_bytes < 1e6));
        assert!(o.samples.iter().any(|s| s.backlog_bytes > 1e9));
    }
}
