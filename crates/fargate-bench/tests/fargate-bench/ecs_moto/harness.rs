//! The moto harness of the ECS tests: moto in server mode, the strict layer in front of it
//! (`tests/ecs/strict_ecs.py`), the harness that plays the containers, and the controller
//! pointed at them.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{repo, CONTROLLER};

pub(crate) fn python() -> String {
    std::env::var("FARGATE_BENCH_PYTHON")
        .unwrap_or_else(|_| repo().join(".venv/bin/python").display().to_string())
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `GET /moto-api/` answers 200: moto has loaded its services.
pub(crate) fn wait_for_moto(port: u16) {
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
pub(crate) struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto in server mode with a VPC, subnet, security group, cluster and log group.
pub(crate) struct Moto {
    pub(crate) _server: Guard,
    pub(crate) endpoint: String,
    pub(crate) env: serde_json::Value,
}

impl Moto {
    pub(crate) fn start() -> Moto {
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

    pub(crate) fn field(&self, key: &str) -> String {
        self.env[key].as_str().unwrap().to_owned()
    }

    pub(crate) fn not_stopped(&self) -> u64 {
        let out = py(&["running", &self.endpoint, &self.field("cluster")]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    pub(crate) fn revisions(&self, families: &[&str]) -> serde_json::Value {
        let mut args = vec!["revisions", self.endpoint.as_str()];
        args.extend(families);
        serde_json::from_slice(&py(&args).stdout).unwrap()
    }

    pub(crate) fn platforms(&self, families: &[&str]) -> serde_json::Value {
        let mut args = vec!["platforms", self.endpoint.as_str()];
        args.extend(families);
        serde_json::from_slice(&py(&args).stdout).unwrap()
    }

    pub(crate) fn launched(&self) -> u64 {
        let out = py(&["launched", &self.endpoint, &self.field("cluster")]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// How each task was launched: `(launchType, capacityProviderName)`.
    pub(crate) fn launches(&self) -> Vec<(Option<String>, Option<String>)> {
        let out = py(&["launches", &self.endpoint, &self.field("cluster")]);
        let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let text = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        all.iter()
            .map(|t| (text(&t["launchType"]), text(&t["capacityProvider"])))
            .collect()
    }

    /// Associates capacity providers with the test cluster (it starts with none).
    pub(crate) fn associate(&self, providers: &[&str]) {
        let cluster = self.field("cluster");
        let mut args = vec!["providers", self.endpoint.as_str(), cluster.as_str()];
        args.extend(providers);
        py(&args);
    }

    /// `fargate-bench cleanup --backend ecs --run RUN` against `endpoint`.
    pub(crate) fn cleanup(&self, endpoint: &str, dir: &Path, run: &str) -> Output {
        Command::new(CONTROLLER)
            .current_dir(dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .args(["cleanup", "--backend", "ecs", "--run", run])
            .args(["--region", "us-east-1", "--endpoint-url", endpoint])
            .args(["--cluster", &self.field("cluster")])
            .args(["--subnet", &self.field("subnet")])
            .args(["--security-group", &self.field("security_group")])
            .args(["--execution-role-arn", &self.field("execution_role_arn")])
            .args(["--log-group", &self.field("log_group")])
            .output()
            .unwrap()
    }

    pub(crate) fn harness(&self, api: &str, stop_file: &Path, extra: &[&str]) -> Guard {
        let bin_dir = Path::new(CONTROLLER).parent().unwrap();
        let mut cmd = Command::new(python());
        cmd.current_dir(repo().join("tests/ecs")).args([
            "harness.py",
            api,
            &self.field("cluster"),
            &self.field("log_group"),
            bin_dir.to_str().unwrap(),
            stop_file.to_str().unwrap(),
        ]);
        cmd.args(extra);
        Guard(cmd.stdout(Stdio::null()).spawn().unwrap())
    }

    /// The controller with everything pointed at `endpoint` (moto or a proxy in front of it).
    pub(crate) fn controller(&self, endpoint: &str, dir: &Path, args: &[&str]) -> Command {
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
            .args(if args.contains(&"--log-group") {
                vec![]
            } else {
                vec!["--log-group".to_owned(), self.field("log_group")]
            })
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

/// moto behind `tests/ecs/strict_ecs.py` (the rules of the ECS API reference that moto does
/// not check, and Fargate's task lifecycle with delays), and the harness that plays the
/// containers, looking through the same proxy.
pub(crate) struct Fargate {
    pub(crate) moto: Moto,
    /// The strict proxy's endpoint: the controller and the harness talk to this.
    pub(crate) api: String,
    pub(crate) stats: PathBuf,
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) _proxy: Guard,
    pub(crate) harness: Option<Guard>,
}

impl Fargate {
    /// `proxy` options of strict_ecs.py, `harness` options of harness.py.
    pub(crate) fn start(proxy: &[&str], harness: &[&str]) -> Fargate {
        let mut fargate = Fargate::layer(proxy);
        fargate.restart_harness(harness);
        fargate
    }

    /// moto and the strict layer, with no harness playing the containers.
    pub(crate) fn layer(proxy: &[&str]) -> Fargate {
        let moto = Moto::start();
        let tmp = tempfile::tempdir().unwrap();
        let port = free_port();
        let stats = tmp.path().join("api-calls.json");
        let proxy = Guard(
            Command::new(python())
                .current_dir(repo().join("tests/ecs"))
                .args(["strict_ecs.py", &port.to_string(), &moto.endpoint])
                .args(["--stats", stats.to_str().unwrap()])
                .args(proxy)
                .spawn()
                .unwrap(),
        );
        wait_for_port(port);
        let api = format!("http://127.0.0.1:{port}");
        Fargate {
            moto,
            api,
            stats,
            tmp,
            _proxy: proxy,
            harness: None,
        }
    }

    pub(crate) fn restart_harness(&mut self, extra: &[&str]) {
        self.harness = None; // the old one is killed first
        let stop = self.tmp.path().join("stop");
        self.harness = Some(self.moto.harness(&self.api, &stop, extra));
    }

    pub(crate) fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub(crate) fn controller(&self, args: &[&str]) -> Command {
        self.moto.controller(&self.api, self.tmp.path(), args)
    }

    /// What the strict layer counted so far: the controller's calls per operation (ECS and
    /// Logs), `peak_per_sec` of GetLogEvents and `throttled` per operation (`null` before the
    /// first call).
    pub(crate) fn stats(&self) -> serde_json::Value {
        std::fs::read_to_string(&self.stats)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// ECS API calls per operation so far, as the proxy counted them.
    pub(crate) fn calls(&self, op: &str) -> u64 {
        self.stats()[op].as_u64().unwrap_or(0)
    }

    pub(crate) fn suite(&self, text: &str) -> String {
        suite(self.tmp.path(), text)
    }
}

/// The one results directory under `root/results`.
pub(crate) fn results_dir(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Every record of a results directory.
pub(crate) fn records(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub(crate) fn run_ok(cmd: &mut Command) -> (serde_json::Value, String) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

pub(crate) fn py(args: &[&str]) -> Output {
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

pub(crate) fn suite(dir: &Path, text: &str) -> String {
    let path = dir.join("suite.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

pub(crate) const SMALL: &str =
    "repetitions = 1\nsizes = [\"0.25x0.5\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n\
                     [[test]]\nkind = \"memory\"\nquick = true\nno_latency = true\n";

pub(crate) fn dry_run(size: &str, repetitions: &str, extra: &[&str]) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(CONTROLLER)
        .current_dir(tmp.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens: any call would fail
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .args([
            "run",
            "--backend",
            "ecs",
            "--dry-run",
            "--size",
            size,
            "-n",
            repetitions,
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
        .args(extra)
        .output()
        .unwrap();
    assert!(
        !tmp.path().join("results").exists(),
        "a dry run records nothing"
    );
    out
}
