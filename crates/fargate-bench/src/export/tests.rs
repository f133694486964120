//! Golden output of every text format for one fixed document: a column that drifts, a unit
//! that changes or CSV escaping that breaks shows as a diff against `golden/`. After a change
//! meant to alter the output, `UPDATE_GOLDEN=1 cargo test -p fargate-bench golden` rewrites the
//! files; read the diff before committing it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use probe_core::report::Direction;
use probe_core::stats::SampleSummary;
use probe_core::LatencyHistogram;

use super::{write_document, Format};
use crate::sizes::{Arch, Capacity};
use crate::store::{RunMeta, RunStatus};
use crate::summary::{
    ArchComparison, BucketRow, CurvePoint, Failure, MemRow, Merged, MergedLatency, NetRow,
    Placement, Pricing, RefillIdle, RefillRow, SharedBucketRow, Summary, Unit,
    SUMMARY_SCHEMA_VERSION,
};

fn s(values: &[f64]) -> SampleSummary {
    SampleSummary::from_values(values).unwrap()
}

fn at(text: &str) -> Placement {
    text.parse().unwrap()
}

fn net(test: &str, kind: &str, size: &str) -> NetRow {
    let size = at(size);
    NetRow {
        test: test.into(),
        kind: kind.into(),
        size,
        arch: size.arch,
        direction: None,
        repetitions: 3,
        throughput_bits_per_sec: None,
        rtt: None,
        rtt_percentiles: None,
        transactions_per_sec: None,
        udp_loss_ratio: None,
        udp_receiver_drop_ratio: None,
        udp_jitter_ns: None,
        retransmits: None,
        cost_per_hour: Some(0.04937),
        gbit_per_sec_per_dollar_hour: None,
        regimes: BTreeMap::new(),
        bucket: None,
        refill: None,
        latency_under_load: None,
        bucket_sharing: None,
    }
}

/// A document with one row of every kind: a stream that found a bucket and measured its
/// refill, a UDP stream with loss, a request/response test, two memory rows (one throttled), a
/// latency curve, an architecture comparison and a failure whose reason needs CSV quoting.
pub(crate) fn fixed_document() -> Merged {
    let mut stream = net("tcp-stream", "tcp-stream", "1x2");
    stream.direction = Some(Direction::ClientToServer);
    stream.throughput_bits_per_sec = Some(s(&[2.1e9, 2.2e9, 2.3e9]));
    stream.retransmits = Some(12);
    stream.regimes = BTreeMap::from([("burst_then_baseline".into(), 3)]);
    stream.bucket = Some(BucketRow {
        repetitions: 3,
        burst_bits_per_sec: s(&[4.1e9, 4.2e9, 4.4e9]),
        burst_duration_ns: s(&[8e9, 9e9, 7e9]),
        burst_bytes_above_baseline: s(&[4.0e9, 4.5e9, 3.9e9]),
        baseline_bits_per_sec: s(&[63e6, 60e6, 66e6, 64e6, 62e6, 65e6, 61e6]),
        burst_gbit_per_sec_per_dollar_hour: Some(4.2 / 0.04937),
    });
    stream.gbit_per_sec_per_dollar_hour = Some(0.063 / 0.04937);
    // Idle 30 s and 120 s after each drain: about 61 Mbit/s back, the baseline's rate.
    stream.refill = Some(RefillRow {
        repetitions: 3,
        refill_bits_per_sec: Some(s(&[60e6, 61e6, 62e6, 59e6, 60.5e6, 61.5e6])),
        refill_to_baseline: Some(60.75 / 63.0),
        full_refill_ns: Some(s(&[530e9, 520e9, 540e9])),
        idles: vec![
            RefillIdle {
                idle_ns: 30_000_000_000,
                recovered_bytes: s(&[226e6, 229e6, 231e6]),
                share_of_bucket: Some(s(&[0.056, 0.057, 0.058])),
                full: 0,
                reached_cap: 0,
            },
            RefillIdle {
                idle_ns: 120_000_000_000,
                recovered_bytes: s(&[905e6, 915e6, 925e6]),
                share_of_bucket: Some(s(&[0.225, 0.228, 0.231])),
                full: 0,
                reached_cap: 0,
            },
        ],
        saturates_at_bucket: None,
        verdicts: BTreeMap::from([("at_baseline_rate".into(), 3)]),
        verdict: probe_core::refill::RefillVerdict::AtBaselineRate,
    });
    // Drained client to server, the other direction then started at the drained baseline in
    // two repetitions: one bucket; the third could not tell.
    stream.bucket_sharing = Some(SharedBucketRow {
        repetitions: 3,
        drained_baseline_bits_per_sec: Some(s(&[63e6, 60e6, 66e6])),
        drained_bucket_bytes: Some(s(&[4.0e9, 4.5e9, 3.9e9])),
        other_bits_per_sec: Some(s(&[62e6, 64e6])),
        other_burst_bits_per_sec: None,
        other_bucket_bytes: None,
        verdicts: BTreeMap::from([("shared".into(), 2), ("undecided".into(), 1)]),
        verdict: probe_core::bucket_sharing::SharingVerdict::Shared,
    });
    let mut udp = net("udp", "udp-stream", "1x2");
    udp.direction = Some(Direction::ServerToClient);
    udp.repetitions = 1;
    udp.throughput_bits_per_sec = Some(s(&[950e6]));
    udp.udp_loss_ratio = Some(0.0125);
    udp.udp_receiver_drop_ratio = Some(0.0025);
    udp.udp_jitter_ns = Some(s(&[41_000.0]));
    udp.gbit_per_sec_per_dollar_hour = Some(0.95 / 0.04937);
    let mut rr = net("tcp-rr", "tcp-rr", "1x2");
    let mut h = LatencyHistogram::new();
    (1..=1000u64).for_each(|v| h.record(v * 1_000));
    rr.rtt = h.summary();
    rr.transactions_per_sec = Some(s(&[26_000.0, 26_500.0, 25_800.0]));
    let mem = |size: &str, kernel: &str, best: f64, sustained: f64, throttled: bool| MemRow {
        size: at(size),
        arch: at(size).arch,
        kernel: kernel.into(),
        stores: "temporal".into(),
        threads: 1,
        best_bytes_per_sec: s(&[best, best * 0.99, best * 1.01]),
        sustained_bytes_per_sec: s(&[sustained]),
        cost_per_hour: Some(0.01234),
        gb_per_sec_per_dollar_hour: Some(sustained / 1e9 / 0.01234),
        quota_throttled: throttled,
    };
    let summary = Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        run: RunMeta {
            controller_version: "0.0.0".into(),
            status: RunStatus::Complete,
            ..RunMeta::new(
                "golden",
                "local",
                crate::Suite::default_suite(),
                "2026-12-04T00:00:00Z",
            )
        },
        pricing: Some(Pricing {
            region: "us-east-1".into(),
            arch: Arch::X86,
            as_of: "2026-11-01".into(),
            capacity: Capacity::OnDemand,
            unknown: None,
        }),
        network: vec![rr, stream, udp],
        memory_bandwidth: vec![
            mem("0.25x0.5 X86_64", "triad", 43.7e9, 10.0e9, true),
            mem("0.25x0.5 ARM64", "triad", 30.0e9, 29.0e9, false),
        ],
        memory_latency: vec![
            CurvePoint {
                size: at("1x2"),
                working_set_bytes: 16 << 10,
                huge_pages: false,
                ns_per_load: s(&[1.2, 1.3, 1.25]),
            },
            CurvePoint {
                size: at("1x2"),
                working_set_bytes: 32 << 10,
                huge_pages: false,
                ns_per_load: s(&[1.3]),
            },
        ],
        architectures: vec![ArchComparison {
            what: "memory triad temporal x1 sustained".into(),
            size: at("0.25x0.5").size,
            unit: Unit::BytesPerSec,
            x86: 10.0e9,
            arm: 29.0e9,
            x86_per_dollar_hour: Some(10.0e9 / 0.01234),
            arm_per_dollar_hour: Some(29.0e9 / 0.01000),
            arm_over_x86_per_dollar: Some(3.58),
            verdict: "ARM64 (Graviton): 3.58x the figure per dollar".into(),
        }],
        cpu_generations: vec![],
        by_generation: vec![],
        emulated: vec!["network: tc tbf shaping".into()],
        failures: vec![Failure {
            id: "2/1x2/tcp-crr".into(),
            reason: "CannotPullContainerError: \"manifest unknown\", retried".into(),
        }],
        startup: Vec::new(),
        items_ok: 8,
        warnings: vec!["a warning, with a comma".into()],
    };
    let mut latency = LatencyHistogram::new();
    (1..=100u64).for_each(|v| latency.record(v * 10_000));
    Merged {
        summary,
        latency: vec![MergedLatency {
            test: "tcp-rr".into(),
            placement: at("1x2"),
            rtt: latency,
            uncorrected: None,
        }],
        series: Vec::new(),
        hosts: Vec::new(),
        plateaus: Vec::new(),
        failed_output: BTreeMap::new(),
    }
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/export/golden")
        .join(name)
}

fn check(format: Format, name: &str) {
    let mut out = Vec::new();
    write_document(format, &fixed_document(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let path = golden(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if text != want {
        let first = text
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(text.lines().count().min(want.lines().count()));
        panic!(
            "{format:?} output differs from {} from line {}:\n got: {:?}\nwant: {:?}\n\
             (UPDATE_GOLDEN=1 rewrites it if the change is meant)",
            path.display(),
            first + 1,
            text.lines().nth(first),
            want.lines().nth(first)
        );
    }
}

#[test]
fn golden_table() {
    check(Format::Table, "table.txt");
}

#[test]
fn golden_wide_table() {
    check(Format::Wide, "wide.txt");
}

/// Issue 22 (7): the default table fits a 120-column terminal (the wide one was 291); what it
/// leaves out is in the wide table, and it says so.
#[test]
fn the_default_table_fits_120_columns_and_the_wide_one_has_the_rest() {
    let render = |format| {
        let mut out = Vec::new();
        write_document(format, &fixed_document(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let (narrow, wide) = (render(Format::Table), render(Format::Wide));
    for line in narrow.lines() {
        assert!(
            line.chars().count() <= 120,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(narrow.contains("--wide adds"), "{narrow}");
    assert!(narrow.contains("baseline 63.00 Mbit/s ±4.8%"), "{narrow}");
    for detail in [
        "median 95% CI",
        "of it at receiver",
        "X86_64 per $/h",
        "[60.00 Mbit/s",
    ] {
        assert!(!narrow.contains(detail), "{detail} in {narrow}");
        assert!(wide.contains(detail), "{detail} not in {wide}");
    }
    assert!(wide.lines().any(|l| l.chars().count() > 120));
}

#[test]
fn golden_csv() {
    check(Format::Csv, "report.csv");
}

#[test]
fn golden_markdown() {
    check(Format::Markdown, "report.md");
}

#[test]
fn golden_hgrm() {
    check(Format::Hgrm, "latency.hgrm");
}

#[test]
fn csv_quotes_what_needs_it_and_every_row_has_the_header_width() {
    let mut out = Vec::new();
    write_document(Format::Csv, &fixed_document(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#""CannotPullContainerError: ""manifest unknown"", retried""#),
        "{text}"
    );
    // Every section's rows have as many fields as its header (no quoted comma split).
    let fields = |line: &str| {
        let mut n = 1;
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => n += 1,
                _ => {}
            }
        }
        n
    };
    let mut width = 0;
    for line in text.lines() {
        if line.starts_with("table,") {
            width = fields(line);
        } else {
            assert_eq!(fields(line), width, "{line}");
        }
    }
}

#[test]
fn the_headline_is_the_same_number_everywhere() {
    let doc = fixed_document();
    // The stream found a bucket: every output quotes the baseline's median (63 Mbit/s), never
    // the mean over burst and baseline (2.2 Gbit/s).
    let mut table = Vec::new();
    write_document(Format::Table, &doc, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("baseline 63.00 Mbit/s"), "{table}");
    assert!(!table.contains("2.20 Gbit/s"), "{table}");
    let mut page = Vec::new();
    write_document(Format::Html, &doc, &mut page).unwrap();
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("baseline 63.00 Mbit/s"));
    let changes = crate::compare::compare(&doc.summary, &doc.summary);
    let stream = changes
        .iter()
        .find(|c| c.metric.starts_with("tcp-stream"))
        .unwrap();
    assert_eq!(
        (stream.metric.as_str(), stream.a),
        ("tcp-stream client->server baseline at 1x2", 63e6)
    );
    // The throttled kernel is quoted at what it sustains.
    let mem = changes
        .iter()
        .find(|c| c.metric.contains("X86_64"))
        .unwrap();
    assert_eq!(mem.a, 10.0e9, "{mem:?}");
}

/// Issue 24, item 6: the page draws the refill: what each idle time gave back (229 and 915 MB
/// after 30 and 120 s) against a bucket refilling at the 63 Mbit/s baseline (945 MB by 120 s,
/// under the 4 GB bucket).
#[test]
fn the_page_draws_the_refill_against_the_baseline_rate() {
    let doc = fixed_document();
    let mut page = Vec::new();
    write_document(Format::Html, &doc, &mut page).unwrap();
    let page = String::from_utf8(page).unwrap();
    let figure = page
        .split("<figure class=\"chart\" data-chart=\"refill\"")
        .nth(1)
        .and_then(|rest| rest.split("</figure>").next())
        .expect("a refill chart");
    assert!(
        figure.contains("Refill of tcp-stream at 1x2, client to server"),
        "{figure}"
    );
    assert!(
        figure.contains("data-series=\"recovered (median of repetitions)|at the baseline rate 63.00 Mbit/s, up to the bucket\""),
        "{figure}"
    );
    assert!(figure.contains("data-x-range=\"0,"), "{figure}");
    // Only the row with a refill test gets one.
    assert_eq!(page.matches("data-chart=\"refill\"").count(), 1);
}

/// Issue 24, items 2 and 6: the shared-bucket answer is a table in every format and on the
/// page, with the verdict most repetitions gave and how many gave each.
#[test]
fn the_shared_bucket_answer_is_in_every_format() {
    let doc = fixed_document();
    for format in [Format::Table, Format::Wide, Format::Markdown, Format::Html] {
        let mut out = Vec::new();
        write_document(format, &doc, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("One bucket or two"), "{format:?}: {text}");
        let verdict = if format == Format::Table {
            "shared"
        } else {
            "one shared bucket (2x shared, 1x undecided)"
        };
        assert!(text.contains(verdict), "{format:?}: {text}");
    }
    let mut csv = Vec::new();
    write_document(Format::Csv, &doc, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let row = csv
        .lines()
        .find(|l| l.contains("one shared bucket"))
        .expect("a shared-bucket row");
    // Machines get base units: the drained baseline's median and the other direction's.
    assert_eq!(row.matches(",63000000,").count(), 2, "{row}");
    assert!(row.contains(",4000000000,"), "{row}");
}

#[test]
fn a_median_interval_needs_six_repetitions_and_one_repetition_says_so() {
    let doc = fixed_document();
    let mut out = Vec::new();
    write_document(Format::Wide, &doc, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    // Seven baseline values: the interval of their median is the minimum and maximum.
    assert!(
        text.contains("(median 95% CI 60.00 Mbit/s .. 66.00 Mbit/s)"),
        "{text}"
    );
    assert!(text.contains("950.00 Mbit/s (one repetition)"), "{text}");
    let negative = |w: &str| w.len() > 1 && w.starts_with('-') && w.as_bytes()[1].is_ascii_digit();
    assert!(
        !text.split_whitespace().any(negative),
        "no negative figure: {text}"
    );
}
