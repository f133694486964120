//! The network sections: throughput over time per size and direction, and round-trip latency
//! percentiles per size.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use probe_core::report::Direction;
use probe_core::units::format_bits_per_sec;
use probe_core::LatencyHistogram;

use super::chart::{Chart, Series};
use super::{empty, escape, figure, section, tabular};
use crate::export::{bucket_sharing, hgrm, tables};
use crate::summary::{Merged, Placement};

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::ServerToClient => "server to client",
        Direction::ClientToServer => "client to server",
    }
}

pub(super) fn throughput_section(body: &mut String, doc: &Merged) {
    section(body, "throughput", "Throughput over time");
    let rows = tables::throughput(&doc.summary);
    if doc.series.is_empty() && rows.rows.is_empty() {
        return empty(
            body,
            "No bulk network test in this run (tcp-stream or udp-stream), or none recorded \
             interval samples: nothing to plot over time.",
        );
    }
    body.push_str(if doc.series.is_empty() {
        "<p class=\"why\">No repetition recorded interval samples: nothing to plot over time.</p>"
    } else {
        "<p>Every repetition's interval samples on one time axis per size and direction. Dashed: \
         the detected burst and baseline (medians over repetitions).</p>"
    });
    // Each test's charts by size, x86 before ARM64 at one size (the series' own order).
    for lane in &doc.series {
        let mut series = Vec::new();
        let mut end = 0.0_f64;
        for (rep, samples) in &lane.repetitions {
            let points: Vec<(f64, f64)> = samples
                .iter()
                .map(|i| {
                    let mid = (i.start_ns as f64 + i.duration_ns as f64 / 2.0) / 1e9;
                    end = end.max((i.start_ns + i.duration_ns) as f64 / 1e9);
                    (mid, i.bits_per_sec / 1e9)
                })
                .collect();
            series.push(Series {
                name: format!("repetition {rep}"),
                points,
                reference: false,
            });
        }
        let row = doc
            .summary
            .network_row(&lane.test, lane.placement, Some(lane.direction));
        if let Some(bucket) = row.and_then(|r| r.bucket.as_ref()) {
            for (name, value) in [
                ("burst", bucket.burst_bits_per_sec.median),
                ("baseline", bucket.baseline_bits_per_sec.median),
            ] {
                series.push(Series {
                    name: format!("{name} {}", format_bits_per_sec(value)),
                    points: vec![(0.0, value / 1e9), (end, value / 1e9)],
                    reference: true,
                });
            }
        }
        figure(
            body,
            &Chart {
                kind: "throughput",
                title: format!(
                    "{} at {}, {}",
                    lane.test,
                    lane.placement,
                    direction_words(lane.direction)
                ),
                x_label: "time since the test started (s)".into(),
                y_label: "throughput (Gbit/s)".into(),
                x_log: false,
                y_log: false,
                legend_left: false,
                x_ticks: None,
                categories: Vec::new(),
                series,
                notes: Vec::new(),
                size: lane.placement.to_string(),
            },
        );
        loaded_chart(body, lane, row.and_then(|r| r.bucket.as_ref()));
    }
    refill_charts(body, doc);
    tabular(body, &rows);
    // Each with its title: their columns only make sense with it.
    for table in [
        tables::buckets(&doc.summary),
        tables::refills(&doc.summary),
        bucket_sharing::shared_buckets(&doc.summary),
        crate::export::loaded::latency_under_load(&doc.summary),
    ] {
        if !table.rows.is_empty() {
            let _ = write!(body, "<h3>{}</h3>", escape(table.title));
            tabular(body, &table);
        }
    }
    let sentences = crate::export::loaded::sentences(&doc.summary);
    if !sentences.is_empty() {
        body.push_str("<ul class=\"verdicts\">");
        for line in sentences {
            let _ = write!(body, "<li>{}</li>", escape(&line));
        }
        body.push_str("</ul>");
    }
    body.push_str("</section>");
}

/// Latency under load drawn (issue 24, item 3): under a lane's throughput chart, the p99
/// round trip of the probes beside the stream in each interval, one line per repetition, on
/// the same time axis, with the median change from burst to baseline marked: a queue shows as
/// a step up at the change, a policer as no step (its losses are in the table, not drawn).
fn loaded_chart(
    body: &mut String,
    lane: &crate::summary::Series,
    bucket: Option<&crate::summary::BucketRow>,
) {
    let series: Vec<Series> = lane
        .repetitions
        .iter()
        .filter_map(|(rep, samples)| {
            let points: Vec<(f64, f64)> = samples
                .iter()
                .filter_map(|i| {
                    let mid = (i.start_ns as f64 + i.duration_ns as f64 / 2.0) / 1e9;
                    Some((mid, i.probe_p99_ns? as f64 / 1e6))
                })
                .collect();
            (!points.is_empty()).then(|| Series {
                name: format!("repetition {rep}"),
                points,
                reference: false,
            })
        })
        .collect();
    if series.is_empty() {
        return;
    }
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    let mut series = series;
    if let Some(change) = bucket.map(|b| b.burst_duration_ns.median / 1e9) {
        series.push(Series {
            name: format!("burst ends at {change:.1} s"),
            points: vec![(change, 0.0), (change, top)],
            reference: true,
        });
    }
    figure(
        body,
        &Chart {
            kind: "loaded-latency",
            title: format!(
                "{} at {}, {}: round trips beside the stream",
                lane.test,
                lane.placement,
                direction_words(lane.direction)
            ),
            x_label: "time since the test started (s)".into(),
            y_label: "p99 round trip per interval (ms)".into(),
            x_log: false,
            y_log: false,
            legend_left: false,
            x_ticks: None,
            categories: Vec::new(),
            series,
            notes: Vec::new(),
            size: lane.placement.to_string(),
        },
    );
}

/// A refill test's answer drawn (issue 24, item 6): per size and direction, what each idle time
/// gave back (the median over repetitions), against what a bucket refilling at the baseline
/// rate would have, up to the drained bucket.
fn refill_charts(body: &mut String, doc: &Merged) {
    for row in &doc.summary.network {
        let Some(refill) = row.refill.as_ref().filter(|r| !r.idles.is_empty()) else {
            continue;
        };
        let mb = |bytes: f64| bytes / 1e6;
        let measured: Vec<(f64, f64)> = refill
            .idles
            .iter()
            .map(|i| (i.idle_ns as f64 / 1e9, mb(i.recovered_bytes.median)))
            .collect();
        let longest = measured.iter().map(|p| p.0).fold(0.0, f64::max);
        let mut series = vec![Series {
            name: "recovered (median of repetitions)".into(),
            points: measured,
            reference: false,
        }];
        if let Some(bucket) = &row.bucket {
            let rate = bucket.baseline_bits_per_sec.median / 8.0;
            let cap = bucket.burst_bytes_above_baseline.median;
            let full_at = if rate > 0.0 {
                cap / rate
            } else {
                f64::INFINITY
            };
            let mut line = vec![(0.0, 0.0)];
            if full_at < longest {
                line.push((full_at, mb(cap)));
            }
            line.push((longest, mb((rate * longest).min(cap))));
            series.push(Series {
                name: format!(
                    "at the baseline rate {}, up to the bucket",
                    format_bits_per_sec(bucket.baseline_bits_per_sec.median)
                ),
                points: line,
                reference: true,
            });
        }
        figure(
            body,
            &Chart {
                kind: "refill",
                title: format!(
                    "Refill of {} at {}{}",
                    row.test,
                    row.size,
                    row.direction
                        .map(|d| format!(", {}", direction_words(d)))
                        .unwrap_or_default()
                ),
                x_label: "idle time (s)".into(),
                y_label: "recovered above the baseline (MB)".into(),
                x_log: false,
                y_log: false,
                legend_left: true,
                x_ticks: None,
                categories: Vec::new(),
                series,
                notes: Vec::new(),
                size: row.size.to_string(),
            },
        );
    }
}

/// "Number of nines" of a quantile: 0.9 -> 1, 0.99 -> 2.
fn nines(q: f64) -> f64 {
    -(1.0 - q.min(0.999_999_9)).log10()
}

/// A percentile tick: as many decimals as its nines need, so 7 nines reads 99.99999%, not 100%.
fn percent_label(nines: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-nines));
    let decimals = (nines.ceil() as usize).saturating_sub(2);
    let text = format!("{p:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}%")
}

/// The percentile curve of a histogram: (nines, microseconds).
fn curve(h: &LatencyHistogram) -> Vec<(f64, f64)> {
    hgrm::steps(h, hgrm::TICKS_PER_HALF_DISTANCE)
        .into_iter()
        .map(|s| (nines(s.quantile), s.value_ns as f64 / 1e3))
        .collect()
}

pub(super) fn latency_section(body: &mut String, doc: &Merged) {
    section(body, "latency", "Latency");
    if doc.latency.is_empty() {
        return empty(
            body,
            "No request/response test in this run (tcp-rr, udp-rr, tcp-crr): no latency \
             distribution to plot.",
        );
    }
    body.push_str(
        "<p>Percentile distribution of every round trip of every repetition (merged \
         histograms, never averaged), on HdrHistogram's axis: each step right is one more \
         nine. Open-loop runs show the corrected curve and the raw one.</p>",
    );
    let mut by_size: BTreeMap<Placement, Vec<Series>> = BTreeMap::new();
    for m in &doc.latency {
        let lanes = by_size.entry(m.placement).or_default();
        lanes.push(Series {
            name: m.test.clone(),
            points: curve(&m.rtt),
            reference: false,
        });
        if let Some(raw) = &m.uncorrected {
            lanes.push(Series {
                name: format!("{} (raw, uncorrected)", m.test),
                points: curve(raw),
                reference: true,
            });
        }
    }
    for (size, series) in by_size {
        figure(
            body,
            &Chart {
                kind: "latency",
                title: format!("Round-trip latency at {size}"),
                x_label: "percentile".into(),
                y_label: "round trip (µs, log scale)".into(),
                x_log: false,
                y_log: true,
                legend_left: true,
                x_ticks: Some(percent_label),
                categories: Vec::new(),
                series,
                notes: Vec::new(),
                size: size.to_string(),
            },
        );
    }
    tabular(body, &tables::round_trips(&doc.summary));
    body.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_ticks_keep_every_nine() {
        assert_eq!(percent_label(0.0), "0%");
        assert_eq!(percent_label(1.0), "90%");
        assert_eq!(percent_label(2.0), "99%");
        assert_eq!(percent_label(3.0), "99.9%");
        assert_eq!(percent_label(7.0), "99.99999%");
        assert_eq!(percent_label(2.5), "99.7%");
    }
}
