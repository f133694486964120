//! Issue 15: ARM64 (Graviton) probes, built on this x86_64 machine and run under qemu-user
//! through binfmt_misc, directly and in `docker run --platform linux/arm64`. Emulation is never
//! taken for hardware: every report from them says so, and the summary marks their figures
//! functional only.
//!
//! Needs root and Docker, and the cross toolchain and qemu-aarch64 that
//! `scripts/setup-cross.sh` installs and registers (`scripts/test.sh` runs it first).

use crate::common::{controller_in, docker, engine_shared, images, repo, Images, CONTROLLER};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use fargate_bench::store::{ItemRecord, ItemStatus, RunMeta, RunStatus};
use probe_core::{result_line, Report};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const KEY: &str = "arm64-emulation-test-key";

/// The images of both architectures (`--arch both`, built once: `common::images`):
/// `PROBE:VERSION` and `PROBE:VERSION-amd64` are this machine's, `PROBE:VERSION-arm64` the
/// emulated one. Checked once per binary: the build named its toolchain for each, and every
/// image carries its architecture and stays under 5 MB (issue 15).
fn arm64_images() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let stderr = images(Images::Both);
        // It says which toolchain it used, for each.
        assert!(stderr.contains("static arm64 binaries"), "{stderr}");
        assert!(
            stderr.contains("amd64") || stderr.contains("x86_64"),
            "{stderr}"
        );
        for (tag, arch) in [("", "amd64"), ("-amd64", "amd64"), ("-arm64", "arm64")] {
            for probe in ["netprobe", "memprobe"] {
                let name = format!("{}{tag}", image(probe));
                let out = docker(&[
                    "image",
                    "inspect",
                    "-f",
                    "{{.Architecture}} {{.Size}}",
                    &name,
                ]);
                let facts = String::from_utf8_lossy(&out.stdout);
                let (found, size) = facts.trim().split_once(' ').expect("architecture and size");
                assert_eq!(found, arch, "{name}");
                let bytes: u64 = size.parse().expect("image size in bytes");
                assert!(bytes < 5_000_000, "{name} is {bytes} bytes");
            }
        }
    });
}

fn image(probe: &str) -> String {
    format!("{probe}:{VERSION}")
}

fn arm64_image(probe: &str) -> String {
    format!("{}-arm64", image(probe))
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
    let _engine = engine_shared();
    arm64_images();
    let memprobe = arm64_image("memprobe");
    let arch = docker(&["image", "inspect", "-f", "{{.Architecture}}", &memprobe]);
    assert_eq!(String::from_utf8_lossy(&arch.stdout).trim(), "arm64");
    let out = docker(&[
        "run",
        "--rm",
        "--platform",
        "linux/arm64",
        &memprobe,
        "--quick",
        "--no-latency",
        // Small arrays: under qemu the SVE kernels run at a fraction of a GB/s.
        "--size",
        "8M",
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
    let _engine = engine_shared();
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
            &arm64_image("netprobe"),
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
            lifecycles: Vec::new(),
        });
    }
    let meta = RunMeta {
        controller_version: VERSION.into(),
        status: RunStatus::Complete,
        ..RunMeta::new(
            "arm64-emulated",
            "docker",
            fargate_bench::suite::Suite::default_suite(),
            fargate_bench::store::now_rfc3339(),
        )
    };
    let summary = fargate_bench::merge::summarize(&meta, &records, None).summary;
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

/// Issue 15: one run over both architectures on the docker backend. Each item runs its own
/// architecture's image (the ARM64 ones under qemu), the report puts the two side by side with
/// each one's price, answers "Graviton or x86" per figure, and marks it functional only.
#[test]
#[ignore = "needs root, Docker and qemu-user-static (scripts/setup-cross.sh)"]
fn one_docker_run_crosses_both_architectures_side_by_side() {
    let _engine = engine_shared();
    arm64_images();
    let tmp = tempfile::tempdir().unwrap();
    let out = controller_in(tmp.path())
        .args([
            "run",
            "--backend",
            "docker",
            "--no-progress",
            "--format",
            "json",
        ])
        .args(["--netprobe-image", &image("netprobe")])
        .args(["--memprobe-image", &image("memprobe")])
        .args([
            "--architecture",
            "X86_64,ARM64",
            "--size",
            "0.5x1",
            "-n",
            "1",
        ])
        .args([
            "--test",
            "tcp-rr",
            "--test",
            "tcp-stream",
            "--duration",
            "2",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["items_ok"], 4, "{summary}");
    let sizes: Vec<&str> = summary["network"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["size"].as_str().unwrap())
        .collect();
    for placement in ["0.5x1 X86_64", "0.5x1 ARM64"] {
        assert_eq!(
            sizes.iter().filter(|s| **s == placement).count(),
            2,
            "{sizes:?}"
        );
    }
    let emulated = summary["emulated"].to_string();
    assert!(
        emulated.contains("aarch64 probes ran under emulation")
            && emulated.contains("ARM64: qemu user-mode emulation"),
        "{emulated}"
    );
    let versus = summary["architectures"].as_array().unwrap();
    assert_eq!(versus.len(), 2, "tcp-rr and tcp-stream: {versus:?}");
    for c in versus {
        assert!(c["arm_over_x86_per_dollar"].as_f64().unwrap() > 0.0, "{c}");
        assert!(
            c["verdict"].as_str().unwrap().contains("functional only"),
            "{c}"
        );
    }
    // The ARM64 rows are priced at the ARM64 rate.
    let cost = |placement: &str| {
        summary["network"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["size"] == placement)
            .unwrap()["cost_per_hour"]
            .as_f64()
            .unwrap()
    };
    assert!(cost("0.5x1 ARM64") < cost("0.5x1 X86_64"));
    // Each server ran its own architecture's image.
    let records = std::fs::read_dir(tmp.path().join("results"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("results.jsonl");
    let text = std::fs::read_to_string(records).unwrap();
    for line in text.lines() {
        let rec: ItemRecord = serde_json::from_str(line).unwrap();
        let server = &rec.reports[1];
        let want = match rec.arch {
            Some(fargate_bench::sizes::Arch::Arm) => "aarch64",
            _ => std::env::consts::ARCH,
        };
        assert_eq!(server.host.architecture, want, "{}", rec.id);
        assert!(
            rec.id.contains("/ARM64/") == (want == "aarch64"),
            "{}",
            rec.id
        );
    }
}

/// The local backend runs this machine's binaries: a foreign architecture is refused before
/// anything runs, naming the backends that can run it.
#[test]
fn the_local_backend_refuses_a_foreign_architecture() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign = if std::env::consts::ARCH == "aarch64" {
        "X86_64"
    } else {
        "ARM64"
    };
    let out = controller_in(tmp.path())
        .args([
            "run",
            "--no-progress",
            "--test",
            "tcp-rr",
            "--duration",
            "1",
        ])
        .args(["-n", "1", "--architecture", foreign])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(foreign) && stderr.contains("--backend docker"),
        "{stderr}"
    );
    let ran = tmp.path().join("results");
    let items = std::fs::read_dir(&ran)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    std::fs::read_to_string(e.path().join("results.jsonl")).unwrap_or_default()
                })
                .collect::<String>()
        })
        .unwrap_or_default();
    assert!(items.is_empty(), "nothing ran: {items}");
}

/// `push-images.sh --arch both` checks every image's architecture before it pushes, pushes
/// each to URI-ARCH, and makes URI (what the task definitions name) a manifest list of the
/// two; a foreign image under an architecture's tag is refused before anything is pushed.
/// DRY_RUN prints the docker commands instead of running them (no registry here).
#[test]
#[ignore = "needs root, Docker and qemu-user-static (scripts/setup-cross.sh)"]
fn push_images_makes_a_manifest_of_both_and_refuses_a_mismatch() {
    let _engine = engine_shared();
    arm64_images();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("ecs.toml");
    let uri = "1.dkr.ecr.us-east-1.amazonaws.com/fb/netprobe:7";
    std::fs::write(
        &config,
        format!(
            "region = \"us-east-1\"\ncpu_architecture = \"X86_64\"\nnetprobe_image = \"{uri}\"\n\
             memprobe_image = \"1.dkr.ecr.us-east-1.amazonaws.com/fb/memprobe:7\"\n"
        ),
    )
    .unwrap();
    let push = |prefix: &str, arch: &str| {
        Command::new(repo().join("scripts/push-images.sh"))
            .args(["--arch", arch])
            .env("CONFIG", &config)
            .env("IMAGE_PREFIX", prefix)
            .env("SKIP_BUILD", "1")
            .env("DRY_RUN", "1")
            .output()
            .unwrap()
    };
    let out = push("", "both");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("docker push {uri}-arm64")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("docker push {uri}-amd64")),
        "{stdout}"
    );
    // With buildx the list is made by imagetools (it takes BuildKit's attested images, which
    // are indexes), else by `docker manifest` (deploy.rs checks both ways with a fake docker).
    if docker(&["buildx", "version"]).status.success() {
        assert!(
            stdout.contains(&format!(
                "docker buildx imagetools create -t {uri} {uri}-amd64 {uri}-arm64"
            )),
            "{stdout}"
        );
    } else {
        assert!(
            stdout.contains(&format!(
                "docker manifest create --amend {uri} {uri}-amd64 {uri}-arm64"
            )),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("docker manifest push --purge {uri}")));
    }
    // An architecture the config does not run, alone, is refused.
    let out = push("", "arm64");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cpu_architecture"));
    // An amd64 image under the arm64 tag is caught before any push.
    let bad = format!("fbtest-mismatch-{}/", std::process::id());
    for (from, to) in [("amd64", "arm64"), ("amd64", "amd64")] {
        for probe in ["netprobe", "memprobe"] {
            let src = format!("{}-{from}", image(probe));
            let dst = format!("{bad}{probe}:{VERSION}-{to}");
            assert!(docker(&["tag", &src, &dst]).status.success());
        }
    }
    let out = push(&bad, "both");
    for probe in ["netprobe", "memprobe"] {
        for arch in ["amd64", "arm64"] {
            let _ = docker(&["rmi", &format!("{bad}{probe}:{VERSION}-{arch}")]);
        }
    }
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is amd64, not arm64"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "nothing pushed"
    );
}
