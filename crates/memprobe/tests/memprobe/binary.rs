//! The built `memprobe` binary: streaming stores really in the code, thread count from the
//! affinity mask, sizing from an injected memory limit, and a report that validates.

use std::process::Command;

use probe_core::{result_line, Report};

const MEMPROBE: &str = env!("CARGO_BIN_EXE_memprobe");

fn run(prefix: &[&str], args: &[&str]) -> (Report, String) {
    let (program, rest) = match prefix.split_first() {
        Some((p, rest)) => (
            *p,
            rest.iter().copied().chain([MEMPROBE]).collect::<Vec<_>>(),
        ),
        None => (MEMPROBE, Vec::new()),
    };
    let out = Command::new(program)
        .args(rest)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "memprobe failed: {stderr}");
    let report = result_line::find_in_lines(String::from_utf8_lossy(&out.stdout).lines()).unwrap();
    (report, stderr)
}

#[test]
#[cfg(target_arch = "x86_64")]
fn the_binary_contains_streaming_store_instructions() {
    let out = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn", MEMPROBE])
        .output()
        .expect("objdump (binutils) is needed for this test");
    let asm = String::from_utf8_lossy(&out.stdout);
    for insn in ["vmovntpd", "movntpd", "sfence"] {
        assert!(asm.contains(insn), "no {insn} in the memprobe binary");
    }
    // The 512-bit variant too: zmm registers in a streaming store.
    assert!(
        asm.lines()
            .any(|l| l.contains("vmovntpd") && l.contains("zmm")),
        "no AVX-512 streaming store"
    );
}

#[test]
fn under_taskset_one_cpu_it_runs_one_thread_and_says_so() {
    let (report, stderr) = run(&["taskset", "-c", "0"], &["--quick", "--no-latency"]);
    assert_eq!(report.host.affinity_cpus, vec![0]);
    assert_eq!(report.test.parameters["threads"], serde_json::json!([1]));
    assert!(report
        .metrics
        .memory_bandwidth
        .iter()
        .all(|b| b.threads == 1));
    assert!(stderr.contains("threads measured: [1]"), "{stderr}");
}

#[test]
fn an_injected_memory_limit_shrinks_the_arrays_and_warns() {
    let (report, _) = run(
        &[],
        &[
            "--quick",
            "--no-latency",
            "--memory-limit",
            "96M",
            "--threads",
            "1",
        ],
    );
    let each = report.test.parameters["array_bytes_each"].as_u64().unwrap();
    assert!(
        each * 3 <= 96 * 1024 * 1024 * 6 / 10,
        "{each} bytes per array"
    );
    assert!(
        report.warnings.iter().any(|w| w.contains("memory limit")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_size_that_does_not_fit_is_a_clear_usage_error() {
    let out = Command::new(MEMPROBE)
        .args(["--quick", "--memory-limit", "64M", "--size", "1G"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("smaller --size"));
}

#[test]
fn a_quick_run_reports_every_kernel_and_a_latency_curve_that_validates() {
    let (report, _) = run(&[], &["--quick", "--threads", "1"]);
    let kernels: Vec<(&str, &str)> = report
        .metrics
        .memory_bandwidth
        .iter()
        .map(|b| (b.kernel.as_str(), b.stores.as_str()))
        .collect();
    for want in [
        ("read", "none"),
        ("copy", "cached"),
        ("triad", "cached"),
        ("memcpy", "libc"),
    ] {
        assert!(kernels.contains(&want), "{want:?} missing from {kernels:?}");
    }
    if cfg!(target_arch = "x86_64") {
        assert!(kernels.contains(&("triad", "nontemporal")));
    }
    for b in &report.metrics.memory_bandwidth {
        assert!(b.best_bytes_per_sec >= b.median_bytes_per_sec);
        assert!(b.median_bytes_per_sec >= b.worst_bytes_per_sec && b.worst_bytes_per_sec > 1e8);
        assert!(b.passes >= 5);
    }
    let curve = &report.metrics.memory_latency;
    assert!(curve.len() > 10);
    assert!(curve
        .windows(2)
        .all(|w| w[0].working_set_bytes < w[1].working_set_bytes || w[1].huge_pages));
    assert!(!report.metrics.cache_plateaus.is_empty());
    assert_eq!(report.metrics.memory_parallelism.len(), 5);
    let value = serde_json::to_value(&report).unwrap();
    let schema: serde_json::Value = serde_json::from_str(probe_core::REPORT_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
