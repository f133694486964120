//! The ECS backend against moto (an AWS-API-compatible server on loopback) through the real
//! SDK code path; only the endpoint URL differs. moto runs no containers, so
//! `tests/ecs/harness.py` plays them with the real probe binaries.
//!
//! Needs moto: `scripts/test.sh` installs it into a venv and exports
//! `FARGATE_BENCH_MOTO_SERVER` and `FARGATE_BENCH_PYTHON`; it runs these with `--ignored`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CONTROLLER: &str = env!("CARGO_BIN_EXE_fargate-bench");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> String {
    std::env::var("FARGATE_BENCH_PYTHON")
        .unwrap_or_else(|_| repo().join(".venv/bin/python").display().to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `GET /moto-api/` answers 200: moto has loaded its services.
fn wait_for_moto(port: u16) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answered = TcpStream::connect(("127.0.0.1", port))
            .ok()
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
                s.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    .ok()?;
                let mut head = [0u8; 16];
                s.read_exact(&mut head).ok()?;
                Some(head.starts_with(b"HTTP/1.0 200") || head.starts_with(b"HTTP/1.1 200"))
            });
        if answered == Some(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "moto on {port} never answered GET /moto-api/"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto in server mode with a VPC, subnet, security group, cluster and log group.
struct Moto {
    _server: Guard,
    endpoint: String,
    env: serde_json::Value,
}

impl Moto {
    fn start() -> Moto {
        let bin = std::env::var("FARGATE_BENCH_MOTO_SERVER")
            .unwrap_or_else(|_| repo().join(".venv/bin/moto_server").display().to_string());
        let port = free_port();
        let server = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin}: {e}; run scripts/test.sh to install moto")
            });
        let server = Guard(server);
        wait_for_moto(port);
        let endpoint = format!("http://127.0.0.1:{port}");
        let out = py(&["setup", &endpoint]);
        let env = serde_json::from_slice(&out.stdout).unwrap();
        Moto {
            _server: server,
            endpoint,
            env,
        }
    }

    fn field(&self, key: &str) -> String {
        self.env[key].as_str().unwrap().to_owned()
    }

    fn not_stopped(&self) -> u64 {
        let out = py(&["running", &self.endpoint, &self.field("cluster")]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    fn revisions(&self, families: &[&str]) -> serde_json::Value {
        let mut args = vec!["revisions", self.endpoint.as_str()];
        args.extend(families);
        serde_json::from_slice(&py(&args).stdout).unwrap()
    }

    /// moto, a scratch directory, and the harness that plays Fargate's part (stopped by its
    /// guard when the test ends, however it ends).
    fn with_harness(fail_item: Option<&str>) -> (Moto, tempfile::TempDir, Guard) {
        let moto = Moto::start();
        let tmp = tempfile::tempdir().unwrap();
        let harness = moto.harness(&tmp.path().join("stop"), fail_item);
        (moto, tmp, harness)
    }

    fn harness(&self, stop_file: &Path, fail_item: Option<&str>) -> Guard {
        let bin_dir = Path::new(CONTROLLER).parent().unwrap();
        let mut cmd = Command::new(python());
        cmd.current_dir(repo().join("tests/ecs")).args([
            "harness.py",
            &self.endpoint,
            &self.field("cluster"),
            &self.field("log_group"),
            bin_dir.to_str().unwrap(),
            stop_file.to_str().unwrap(),
        ]);
        if let Some(item) = fail_item {
            cmd.args(["--fail-item", item]);
        }
        Guard(cmd.stdout(Stdio::null()).spawn().unwrap())
    }

    /// The controller with everything pointed at `endpoint` (moto or a proxy in front of it).
    fn controller(&self, endpoint: &str, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(CONTROLLER);
        cmd.current_dir(dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .args([
                "run",
                "--backend",
                "ecs",
                "--region",
                "us-east-1",
                "--endpoint-url",
                endpoint,
            ])
            .args([
                "--cluster",
                &self.field("cluster"),
                "--subnet",
                &self.field("subnet"),
            ])
            .args(["--security-group", &self.field("security_group")])
            .args(["--execution-role-arn", &self.field("execution_role_arn")])
            .args(["--log-group", &self.field("log_group")])
            .args([
                "--netprobe-image",
                "example.com/netprobe:test",
                "--memprobe-image",
                "example.com/memprobe:test",
            ])
            .args(["--no-progress", "--format", "json"])
            .args(args);
        cmd
    }
}

fn py(args: &[&str]) -> Output {
    let out = Command::new(python())
        .current_dir(repo().join("tests/ecs"))
        .arg("moto_env.py")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "moto_env.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn suite(dir: &Path, text: &str) -> String {
    let path = dir.join("suite.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const SMALL: &str =
    "repetitions = 1\nsizes = [\"0.25x0.5\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n\
                     [[test]]\nkind = \"memory\"\nquick = true\nno_latency = true\n";

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_small_suite_completes_stops_every_task_and_reuses_task_definitions() {
    let (moto, tmp, _harness) = Moto::with_harness(None);
    let suite = suite(tmp.path(), SMALL);
    for round in 1..=2 {
        let out = moto
            .controller(&moto.endpoint, tmp.path(), &["--suite", &suite])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "round {round}: {stderr}");
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["items_ok"], 2, "round {round}: {stderr}");
        assert_eq!(summary["run"]["backend"], "ecs");
        let rr = &summary["network"][0];
        assert!(rr["rtt"]["count"].as_u64().unwrap() > 100);
        assert!(!summary["memory_bandwidth"].as_array().unwrap().is_empty());
        assert_eq!(
            moto.not_stopped(),
            0,
            "round {round}: every task is STOPPED"
        );
        if round == 1 {
            assert!(stderr.contains("registered task definition"), "{stderr}");
        } else {
            assert!(
                !stderr.contains("registered task definition"),
                "reused: {stderr}"
            );
        }
    }
    let revisions = moto.revisions(&[
        "fargate-bench-netprobe-256-512",
        "fargate-bench-memprobe-256-512",
    ]);
    assert_eq!(
        revisions["fargate-bench-netprobe-256-512"], 1,
        "{revisions}"
    );
    assert_eq!(
        revisions["fargate-bench-memprobe-256-512"], 1,
        "{revisions}"
    );
}

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn throttled_run_task_calls_are_retried_and_the_run_completes() {
    let (moto, tmp, _harness) = Moto::with_harness(None);
    let port = free_port();
    let count = tmp.path().join("throttled");
    let _proxy = Guard(
        Command::new(python())
            .current_dir(repo().join("tests/ecs"))
            .args([
                "throttle_proxy.py",
                &port.to_string(),
                &moto.endpoint,
                "RunTask",
                "3",
                count.to_str().unwrap(),
            ])
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    let suite = suite(
        tmp.path(),
        "repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n",
    );
    let proxy = format!("http://127.0.0.1:{port}");
    let out = moto
        .controller(&proxy, tmp.path(), &["--suite", &suite])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["items_ok"], 1);
    assert_eq!(
        std::fs::read_to_string(&count).unwrap(),
        "3",
        "three calls were throttled"
    );
    assert_eq!(moto.not_stopped(), 0);
}

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn ctrl_c_mid_run_leaves_no_running_task() {
    let (moto, tmp, _harness) = Moto::with_harness(None);
    let suite = suite(
        tmp.path(),
        "repetitions = 3\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nduration = 4\n",
    );
    let child = moto
        .controller(&moto.endpoint, tmp.path(), &["--suite", &suite])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while moto.not_stopped() < 2 {
        assert!(Instant::now() < deadline, "the pair never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        moto.not_stopped(),
        0,
        "a task is still RUNNING after Ctrl-C"
    );
}

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_task_that_stops_with_an_error_is_reported_with_its_reason() {
    let (moto, tmp, _harness) = Moto::with_harness(Some("1/0.25x0.5/memory"));
    let suite = suite(tmp.path(), SMALL);
    let out = moto
        .controller(&moto.endpoint, tmp.path(), &["--suite", &suite])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["items_ok"], 1);
    let failure = &summary["failures"][0];
    assert_eq!(failure["id"], "1/0.25x0.5/memory");
    assert!(
        failure["reason"]
            .as_str()
            .unwrap()
            .contains("CannotPullContainerError"),
        "{failure}"
    );
    assert_eq!(moto.not_stopped(), 0);
}

#[test]
fn dry_run_prints_task_definitions_and_run_task_requests_without_aws() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(CONTROLLER)
        .current_dir(tmp.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens: any call would fail
        .args([
            "run",
            "--backend",
            "ecs",
            "--dry-run",
            "--region",
            "us-east-1",
            "--size",
            "0.25x0.5",
            "-n",
            "1",
        ])
        .args([
            "--cluster",
            "c",
            "--subnet",
            "subnet-1",
            "--security-group",
            "sg-1",
        ])
        .args([
            "--execution-role-arn",
            "arn:aws:iam::1:role/x",
            "--log-group",
            "/fb",
        ])
        .args(["--netprobe-image", "n:1", "--memprobe-image", "m:1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let families: Vec<&str> = doc["register_task_definition"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["family"].as_str().unwrap())
        .collect();
    assert_eq!(
        families,
        [
            "fargate-bench-memprobe-256-512",
            "fargate-bench-netprobe-256-512"
        ]
    );
    // The ECS default suite: tcp-stream until the baseline holds and tcp-rr (server + client
    // each), and one memory task.
    assert_eq!(doc["run_task"].as_array().unwrap().len(), 5);
    let commands = doc["run_task"].to_string();
    assert!(commands.contains("--until-baseline"), "{commands}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("KEY\""),
        "no key value printed"
    );
    assert!(
        !tmp.path().join("results").exists(),
        "a dry run records nothing"
    );

    let out = Command::new(CONTROLLER)
        .args(["run", "--backend", "ecs", "--dry-run", "--subnet", "a,b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster"));
}
