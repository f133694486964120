//! Probe images and the docker backend against this machine's Docker engine.
//!
//! Needs Docker; `scripts/test.sh` runs these with `--ignored`. The images are built once
//! (`common::images`): by `scripts/test.sh` before the suites, or here by the first test.

use crate::common::{
    controller_in, docker, engine_alone, engine_shared, images, only_run_dir, repo, Images,
    CONTROLLER,
};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use probe_core::result_line;

const MAX_IMAGE_BYTES: u64 = 5_000_000;

fn labelled(kind: &str, run_id: &str) -> Vec<String> {
    let filter = format!("label=fargate-bench.run={run_id}");
    let out = match kind {
        "container" => docker(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]),
        _ => docker(&[
            "network",
            "ls",
            "--filter",
            &filter,
            "--format",
            "{{.Name}}",
        ]),
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
#[ignore = "needs docker"]
fn both_images_are_from_scratch_static_and_under_5_mb() {
    let _engine = engine_shared();
    images(Images::Host);
    for image in ["netprobe:latest", "memprobe:latest"] {
        let out = docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Size}} {{.Config.User}} {{json .Config.Labels}}",
            image,
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.splitn(3, ' ');
        let size: u64 = parts.next().unwrap().trim().parse().unwrap();
        assert!(size < MAX_IMAGE_BYTES, "{image} is {size} bytes");
        assert_eq!(
            parts.next().unwrap(),
            "65534:65534",
            "{image} runs as non-root"
        );
        assert!(parts
            .next()
            .unwrap()
            .contains("org.opencontainers.image.version"));
        // FROM scratch: one layer, the binary.
        let layers = docker(&[
            "image",
            "inspect",
            "--format",
            "{{len .RootFS.Layers}}",
            image,
        ]);
        assert_eq!(
            String::from_utf8_lossy(&layers.stdout).trim(),
            "1",
            "{image}"
        );
    }
}

#[test]
#[ignore = "needs docker"]
fn memprobe_under_half_a_cpu_and_256_mib_finishes_and_reports_its_limits() {
    // Its figures are not asserted (only the limits it reads and that it finishes), so it
    // shares the engine with the other tests that measure no time.
    let _engine = engine_shared();
    images(Images::Host);
    let out = docker(&[
        "run",
        "--rm",
        "--cpus",
        "0.5",
        "--memory",
        "256m",
        "memprobe:latest",
        "--quick",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = result_line::find_in_lines(String::from_utf8_lossy(&out.stdout).lines()).unwrap();
    let cgroup = report.host.cgroup.as_ref().expect("cgroup facts");
    assert_eq!(cgroup.memory_limit_bytes, Some(256 << 20));
    assert!(
        (report.host.effective_cpus - 0.5).abs() < 1e-9,
        "{}",
        report.host.effective_cpus
    );
    assert_eq!(report.test.parameters["threads"], serde_json::json!([1]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("0.5 effective CPUs") && stderr.contains("256 MiB"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs docker"]
fn a_netprobe_server_and_client_in_two_containers_on_a_user_network() {
    let _engine = engine_shared();
    images(Images::Host);
    let net = format!("fb-test-{}", std::process::id());
    let server = format!("{net}-server");
    assert!(docker(&["network", "create", &net]).status.success());
    let cleanup = || {
        docker(&["rm", "-f", &server]);
        docker(&["network", "rm", &net]);
    };
    let started = docker(&[
        "run",
        "-d",
        "--name",
        &server,
        "--network",
        &net,
        "-e",
        "NETPROBE_PSK=0123456789abcdef0123",
        "netprobe:latest",
        "server",
        "--once",
    ]);
    assert!(started.status.success());
    std::thread::sleep(Duration::from_millis(500));
    let out = docker(&[
        "run",
        "--rm",
        "--network",
        &net,
        "-e",
        "NETPROBE_PSK=0123456789abcdef0123",
        "netprobe:latest",
        "client",
        "--server",
        &server,
        "--test",
        "tcp-stream",
        "-t",
        "1",
    ]);
    let report = result_line::find_in_lines(String::from_utf8_lossy(&out.stdout).lines());
    cleanup();
    let report = report.unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(report.metrics.throughput[0].received_bytes > 1_000_000);
}

#[test]
#[ignore = "needs docker"]
fn the_default_suite_on_two_sizes_completes_and_leaves_nothing_behind() {
    let _engine = engine_shared();
    images(Images::Host);
    let tmp = tempfile::tempdir().unwrap();
    let out = controller_in(tmp.path())
        .args([
            "run",
            "--backend",
            "docker",
            "-n",
            "1",
            "--size",
            "0.25x0.5",
            "--size",
            "1x2",
            "--no-progress",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["items_ok"], 8);
    for size in ["0.25x0.5", "1x2"] {
        let rows = summary["network"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["size"] == size)
            .count();
        assert_eq!(rows, 3, "{size}: tcp-stream, tcp-rr, udp-stream");
        assert!(summary["memory_bandwidth"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["size"] == size));
    }
    // A quarter vCPU really is a quarter: the CFS quota shows in the memory probe's view.
    let dir = only_run_dir(tmp.path());
    let lines = std::fs::read_to_string(dir.join("results.jsonl")).unwrap();
    let small_mem = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["id"] == "1/0.25x0.5/memory")
        .unwrap();
    assert_eq!(small_mem["reports"][0]["host"]["effective_cpus"], 0.25);
    // Issue 25, item 3: each container's start-up (creation to first output) per size, and
    // an empty pull (the images are local).
    let startup = summary["startup"].as_array().unwrap();
    assert_eq!(startup.len(), 2, "{startup:?}");
    for row in startup {
        assert_eq!(row["tasks"], 7, "three pairs and a memory task: {row}");
        assert_eq!(row["pull_ms"]["max"], 0.0, "{row}");
        // Here a netprobe container takes 8-13 s from creation to start (its image exposes a
        // wide port range) and a memprobe one under a second; within the ready timeout, 30 s.
        let (median, max) = (
            row["startup_ms"]["median"].as_f64().unwrap(),
            row["startup_ms"]["max"].as_f64().unwrap(),
        );
        assert!(median > 0.0 && max < 30_000.0, "{row}");
    }
    let run_id = dir.file_name().unwrap().to_str().unwrap();
    assert!(labelled("container", run_id).is_empty(), "containers left");
    assert!(labelled("network", run_id).is_empty(), "network left");
}

#[test]
#[ignore = "needs docker"]
fn killing_a_server_container_fails_only_that_pair() {
    let _engine = engine_alone();
    images(Images::Host);
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite.toml");
    std::fs::write(
        &suite,
        "repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nduration = 20\n\
         [[test]]\nkind = \"tcp-rr\"\nduration = 1\n",
    )
    .unwrap();
    let child = controller_in(tmp.path())
        .args([
            "run",
            "--backend",
            "docker",
            "--suite",
            suite.to_str().unwrap(),
            "--no-progress",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for this run's tcp-stream client to run, then kill its server. Other tests run
    // suites with the same item ids at the same time: only this run's labels count.
    let deadline = Instant::now() + Duration::from_secs(60);
    let this_run = |role: &str| {
        let run_id = std::fs::read_dir(tmp.path().join("results"))
            .ok()?
            .filter_map(|e| e.ok())
            .next()?
            .file_name();
        let out = docker(&[
            "ps",
            "--filter",
            &format!("label=fargate-bench.run={}", run_id.to_str()?),
            "--filter",
            &format!("label=fargate-bench.role={role}"),
            "--filter",
            "label=fargate-bench.item=1/1x2/tcp-stream",
            "--format",
            "{{.Names}}",
        ]);
        let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (!name.is_empty()).then_some(name)
    };
    let server = loop {
        if this_run("client").is_some() {
            if let Some(server) = this_run("server") {
                break server;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the tcp-stream pair never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The pair runs 20 s: on a loaded machine the client may be seen late, and the server
    // must still be mid-test when it is killed.
    std::thread::sleep(Duration::from_secs(2));
    assert!(docker(&["kill", &server]).status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["items_ok"], 1, "the tcp-rr pair still ran");
    let failure = &summary["failures"][0];
    assert_eq!(failure["id"], "1/1x2/tcp-stream");
    let reason = failure["reason"].as_str().unwrap();
    assert!(reason.starts_with("client"), "{reason}");
    assert!(
        reason.contains("last output"),
        "the reason quotes the probe: {reason}"
    );
    let run_id = only_run_dir(tmp.path())
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(labelled("container", &run_id).is_empty());
    assert!(labelled("network", &run_id).is_empty());
}

#[test]
#[ignore = "needs docker"]
fn cleanup_removes_what_a_killed_run_left() {
    let _engine = engine_shared();
    images(Images::Host);
    let run_id = format!("leftover{}", std::process::id());
    let label = format!("fargate-bench.run={run_id}");
    let net = format!("fargate-bench-{run_id}");
    assert!(docker(&["network", "create", "--label", &label, &net])
        .status
        .success());
    assert!(docker(&[
        "run",
        "-d",
        "--label",
        &label,
        "--network",
        &net,
        "netprobe:latest",
        "server"
    ])
    .status
    .success());
    let out = Command::new(CONTROLLER)
        .args(["cleanup", "--backend", "docker", "--run", &run_id])
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("container") && listed.contains(&net),
        "{listed}"
    );
    assert!(labelled("container", &run_id).is_empty());
    assert!(labelled("network", &run_id).is_empty());
}

/// `--link` on docker: the host side of each probe container's veth is shaped, so the pair's
/// traffic meets the link in the path; the veths and their qdiscs go with the containers.
#[test]
#[ignore = "needs docker and root (tc on the containers' host-side veths)"]
fn a_link_shapes_the_containers_and_nothing_is_left_behind() {
    let _engine = engine_alone();
    images(Images::Host);
    let tmp = tempfile::tempdir().unwrap();
    let out = controller_in(tmp.path())
        .args([
            "run",
            "--backend",
            "docker",
            "--test",
            "tcp-stream",
            "--duration",
            "3",
            "-n",
            "1",
            "--link",
            "200M",
            "--format",
            "json",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bps = summary["network"][0]["throughput_bits_per_sec"]["median"]
        .as_f64()
        .unwrap();
    crate::common::assert_shaped_to(bps, 200e6);
    assert!(
        summary["emulated"]
            .to_string()
            .contains("200.00 Mbit/s link"),
        "{}",
        summary["emulated"]
    );
    let dir = only_run_dir(tmp.path());
    let run_id = dir.file_name().unwrap().to_str().unwrap();
    assert!(labelled("container", run_id).is_empty(), "containers left");
    assert!(labelled("network", run_id).is_empty(), "network left");
    let qdiscs = Command::new("tc").args(["qdisc", "show"]).output().unwrap();
    let qdiscs = String::from_utf8_lossy(&qdiscs.stdout);
    assert!(
        !qdiscs.contains("rate 200Mbit"),
        "a shaped qdisc was left: {qdiscs}"
    );
}

/// Issue 11, defect 5: images carry their architecture, and push-images.sh refuses to push an
/// image that does not match the config's cpu_architecture (it would fail on Fargate with
/// "exec format error"), before logging in anywhere.
#[test]
#[ignore = "needs Docker (scripts/test.sh runs it)"]
fn images_carry_their_architecture_and_a_mismatch_is_not_pushed() {
    let _engine = engine_shared();
    images(Images::Host);
    let version = env!("CARGO_PKG_VERSION");
    let arch = String::from_utf8(
        docker(&[
            "image",
            "inspect",
            "-f",
            "{{.Architecture}}",
            &format!("netprobe:{version}"),
        ])
        .stdout,
    )
    .unwrap();
    let host = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(arch.trim(), host);
    let label = String::from_utf8(
        docker(&[
            "image",
            "inspect",
            "-f",
            "{{index .Config.Labels \"org.opencontainers.image.architecture\"}}",
            &format!("memprobe:{version}"),
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(label.trim(), host);
    let tmp = tempfile::tempdir().unwrap();
    let other = if host == "amd64" { "ARM64" } else { "X86_64" };
    let config = tmp.path().join("ecs.toml");
    std::fs::write(
        &config,
        format!(
            "region = \"us-east-1\"\ncpu_architecture = \"{other}\"\n\
             netprobe_image = \"1.dkr.ecr.us-east-1.amazonaws.com/x/netprobe:1\"\n\
             memprobe_image = \"1.dkr.ecr.us-east-1.amazonaws.com/x/memprobe:1\"\n"
        ),
    )
    .unwrap();
    // Only this machine's images, under a prefix of their own: the image stage of
    // scripts/test.sh also built the other architecture's, which would match the config.
    let prefix = format!("fbtest-hostonly-{}/", std::process::id());
    for probe in ["netprobe", "memprobe"] {
        let tagged = docker(&[
            "tag",
            &format!("{probe}:{version}"),
            &format!("{prefix}{probe}:{version}"),
        ]);
        assert!(tagged.status.success());
    }
    let out = Command::new(repo().join("scripts/push-images.sh"))
        .env("CONFIG", &config)
        .env("IMAGE_PREFIX", &prefix)
        .env("SKIP_BUILD", "1")
        .output()
        .unwrap();
    for probe in ["netprobe", "memprobe"] {
        let _ = docker(&["rmi", &format!("{prefix}{probe}:{version}")]);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("is {host} but")) && stderr.contains("--arch"),
        "{stderr}"
    );
}

/// Issue 25, end to end: three small sizes on docker behind the emulated Fargate link (each
/// size's published baseline as `tc tbf`'s rate, its burst window 200 times shorter), read
/// until the baseline holds; then `recommend` a baseline that only the largest size's emulated
/// baseline meets. The baselines are the link's own (0.25x0.5 63 Mbit/s, 0.5x1 about 211,
/// 1x2 about 360, as TCP payload about 0.956 of that): the need sits between the two larger
/// ones, so 1x2 is picked and the cheaper two fall short, on their measured figures. One
/// repetition each (two took 335 s, one 199 s): the answer is judged on each one
/// value, and says so.
#[test]
#[ignore = "needs docker and root (tc on the containers' host-side veths)"]
fn recommend_picks_the_only_size_whose_emulated_fargate_baseline_meets_the_need() {
    use fargate_bench::platform::link::LinkSpec;
    use fargate_bench::TaskSize;

    let _engine = engine_alone();
    images(Images::Host);
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite.toml");
    std::fs::write(
        &suite,
        "sizes = [\"0.25x0.5\", \"0.5x1\", \"1x2\"]\nrepetitions = 1\n[[test]]\n\
         kind = \"tcp-stream\"\nuntil_baseline = true\nmax_duration = 40\nbaseline_hold = 3\n",
    )
    .unwrap();
    let started = Instant::now();
    let out = controller_in(tmp.path())
        .args(["run", "--backend", "docker", "--suite"])
        .arg(&suite)
        .args(["--link", "fargate", "--format", "json", "--no-progress"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let link = LinkSpec::parse("fargate", 200.0).unwrap();
    let goodput = |size: &str| {
        let p = link.params(TaskSize::parse(size).unwrap()).unwrap();
        crate::common::tcp_goodput(p.rate_bits_per_sec as f64)
    };
    let mut baselines = Vec::new();
    for size in ["0.25x0.5", "0.5x1", "1x2"] {
        let row = summary["network"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["size"] == size)
            .unwrap_or_else(|| panic!("no row at {size}: {summary}"));
        let baseline = row["bucket"]["baseline_bits_per_sec"]["min"]
            .as_f64()
            .unwrap_or_else(|| panic!("no bucket read at {size}: {row}"));
        let expected = goodput(size);
        assert!(
            baseline < expected * 1.03 && baseline > expected * 0.85,
            "{size}: baseline {baseline} against {expected}: {row}"
        );
        baselines.push(baseline);
    }
    eprintln!(
        "baselines {:?} Mbit/s in {:.0} s",
        baselines
            .iter()
            .map(|b| (b / 1e6).round())
            .collect::<Vec<_>>(),
        started.elapsed().as_secs_f64()
    );
    // Halfway between the links of the two larger sizes: only 1x2's baseline meets it.
    let need_mbit = ((goodput("0.5x1") + goodput("1x2")) / 2.0 / 1e6).round();
    let need = format!("tcp-stream.baseline>={need_mbit}Mbit/s");
    let dir = only_run_dir(tmp.path());
    let recommend = |format: &str| {
        controller_in(tmp.path())
            .arg("recommend")
            .arg(&dir)
            .args(["--need", &need, "--format", format])
            .output()
            .unwrap()
    };
    let out = recommend("json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{need}: {stderr}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["pick"]["size"], "1x2", "{need}: {answer}");
    let standing = |size: &str| {
        answer["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["offer"]["size"] == size)
            .unwrap_or_else(|| panic!("{size} in {answer}"))["standing"]
            .clone()
    };
    assert_eq!(standing("0.25x0.5"), "falls_short");
    assert_eq!(standing("0.5x1"), "falls_short");
    let out = recommend("table");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pick: 1x2"), "{text}");
    assert!(
        text.contains("ran on the docker backend: its sizes were emulated"),
        "{text}"
    );
    assert!(text.contains("1 rep"), "one repetition is flagged: {text}");
}
