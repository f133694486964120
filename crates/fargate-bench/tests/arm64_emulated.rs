//! Issue 15: ARM64 (Graviton) probes, built on this x86_64 machine and run under qemu-user
//! through binfmt_misc, directly and in `docker run --platform linux/arm64`. Emulation is never
//! taken for hardware: every report from them says so, and the summary marks their figures
//! functional only.
//!
//! Needs root and Docker, and the cross toolchain and qemu-aarch64 that
//! `scripts/setup-cross.sh` installs and registers (`scripts/test.sh` runs it first).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use fargate_bench::store::{ItemRecord, ItemStatus, RunMeta, RunStatus};
use probe_core::{result_line, Report};

const CONTROLLER: &str = env!("CARGO_BIN_EXE_fargate-bench");
const PREFIX: &str = "fbtest-arm64/";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const KEY: &str = "arm64-emulation-test-key";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the arm64 images once, under their own prefix (the host's images stay as they are).
fn arm64_images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Command::new(repo().join("scripts/build-images.sh"))
            .args(["--arch", "arm64"])
            .env("IMAGE_PREFIX", PREFIX)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "build-images.sh --arch arm64: {stderr}"
        );
        // It says which toolchain it used.
        assert!(stderr.contains("static arm64 binaries"), "{stderr}");
    });
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().unwrap()
}

fn image(probe: &str) -> String {
    format!("{PREFIX}{probe}:{VERSION}")
}

fn assert_emulated_aarch64(report: &Report) {
    assert_eq!(report.host.architecture, "aarch64");
    let why = report.host.emulation.as_deref().expect("emulation named");
    assert!(why.contains("functional only"), "{why}");
    assert!(
        report.warnings.iter().any(|w| w == why),
        "{:?}",
        report.warnings
    );
}

#[test]
#[ignore = "needs root, Docker and qemu-user-static (scripts/setup-cross.sh)"]
fn the_arm64_memprobe_image_gives_a_valid_report_marked_as_emulated() {
    arm64_images();
    let arch = docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Architecture}}",
        &image("memprobe"),
    ]);
    assert_eq!(String::from_utf8_lossy(&arch.stdout).trim(), "arm64");
    let size = docker(&["image", "inspect", "-f", "{{.Size}}", &image("memprobe")]);
    let bytes: u64 = String::from_utf8_lossy(&size.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(bytes < 5_000_000, "{bytes} bytes");
    let out = docker(&[
        "run",
        "--rm",
        "--platform",
        "linux/arm64",
        &image("memprobe"),
        "--quick",
        "--no-latency",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = result_line::find_in_lines(stdout.lines()).unwrap();
    assert_emulated_aarch64(&report);
    let bandwidth = &report.metrics.memory_bandwidth;
    assert!(!bandwidth.is_empty());
    for b in bandwidth {
        // Kernels are named; memprobe fails rather than report a result whose arrays do not
        // check out, so a report is a validated one.
        assert!(
            !b.kernel.is_empty() && !b.implementation.is_empty(),
            "{b:?}"
        );
        assert!(b.best_bytes_per_sec > 0.0);
    }
}

/// An arm64 netprobe server (in a container, under emulation) and this machine's amd64
/// client complete a tcp-rr and a tcp-stream; the result lines parse and merge, and the
/// summary marks the run's figures functional only.
#[test]
#[ignore = "needs root, Docker and qemu-user-static (scripts/setup-cross.sh)"]
fn an_arm64_server_and_an_amd64_client_complete_tcp_rr_and_tcp_stream() {
    arm64_images();
    let client_bin = Path::new(CONTROLLER).parent().unwrap().join("netprobe");
    let mut records = Vec::new();
    for (n, test) in ["tcp-rr", "tcp-stream"].into_iter().enumerate() {
        let port = (25_301 + n).to_string();
        let name = format!("fbtest-arm64-server-{}-{n}", std::process::id());
        let started = docker(&[
            "run",
            "-d",
            "--platform",
            "linux/arm64",
            "--network",
            "host",
            "--name",
            &name,
            &image("netprobe"),
            "server",
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--psk",
            KEY,
            "--once",
            "--idle-timeout",
            "60",
        ]);
        assert!(
            started.status.success(),
            "{}",
            String::from_utf8_lossy(&started.stderr)
        );
        let client = Command::new(&client_bin)
            .args([
                "client",
                "--server",
                &format!("127.0.0.1:{port}"),
                "--psk",
                KEY,
            ])
            .args(["--test", test, "-t", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let waited = docker(&["wait", &name]);
        let logs = docker(&["logs", &name]);
        let _ = docker(&["rm", "-f", &name]);
        assert!(
            client.status.success(),
            "client: {}\nserver: {}",
            String::from_utf8_lossy(&client.stderr),
            String::from_utf8_lossy(&logs.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&waited.stdout).trim(), "0");
        let client_report =
            result_line::find_in_lines(String::from_utf8_lossy(&client.stdout).lines()).unwrap();
        let server_report =
            result_line::find_in_lines(String::from_utf8_lossy(&logs.stdout).lines()).unwrap();
        assert_eq!(client_report.host.architecture, std::env::consts::ARCH);
        assert_eq!(client_report.host.emulation, None);
        assert_emulated_aarch64(&server_report);
        match test {
            "tcp-rr" => assert!(
                client_report
                    .metrics
                    .latency
                    .as_ref()
                    .unwrap()
                    .transactions_per_sec
                    > 0.0
            ),
            _ => assert!(client_report.metrics.throughput[0].bits_per_sec > 0.0),
        }
        records.push(ItemRecord {
            id: format!("1/1x2/{test}"),
            label: test.into(),
            kind: test.into(),
            size: "1x2".into(),
            arch: None,
            repetition: 1,
            status: ItemStatus::Ok,
            reports: vec![client_report, server_report],
            reason: None,
            last_lines: vec![],
            emulated: vec![],
            finished_at: fargate_bench::store::now_rfc3339(),
        });
    }
    let meta = RunMeta {
        run_id: "arm64-emulated".into(),
        backend: "docker".into(),
        suite: fargate_bench::suite::Suite::default_suite(),
        controller_version: VERSION.into(),
        started_at: fargate_bench::store::now_rfc3339(),
        status: RunStatus::Complete,
        finished_at: None,
        command_line: None,
    };
    let summary = fargate_bench::merge::summarize(&meta, &records, None);
    assert_eq!(summary.items_ok, 2);
    assert!(summary.network.len() >= 2, "{:?}", summary.network);
    assert!(
        summary
            .emulated
            .iter()
            .any(|e| e.contains("aarch64 probes ran under emulation")),
        "{:?}",
        summary.emulated
    );
}
