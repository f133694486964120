//! Helpers shared by the controller's integration tests: the repository, the binaries, Docker,
//! results directories and shaped links.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The controller under test; its probes are built next to it.
pub(crate) const CONTROLLER: &str = env!("CARGO_BIN_EXE_fargate-bench");

/// The repository's root (scripts, deploy templates).
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The controller, to run in `dir` (its `results/` goes there). Checks the probes are built
/// next to it, as the local backend expects.
pub(crate) fn controller_in(dir: &Path) -> Command {
    let bin = Path::new(CONTROLLER).parent().unwrap();
    for probe in ["netprobe", "memprobe"] {
        assert!(
            bin.join(probe).is_file(),
            "{probe} is not built next to the controller; run `cargo build --workspace` first"
        );
    }
    let mut command = Command::new(CONTROLLER);
    command.current_dir(dir);
    command
}

/// Runs the controller in `dir` with `args` and waits for it.
pub(crate) fn controller(dir: &Path, args: &[&str]) -> Output {
    controller_in(dir).args(args).output().unwrap()
}

/// Runs `docker` with `args` and waits for it.
pub(crate) fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().unwrap()
}

/// The run directories under `root/results` (none when nothing ran).
pub(crate) fn run_dirs(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root.join("results"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The one run directory under `root/results`.
pub(crate) fn only_run_dir(root: &Path) -> PathBuf {
    let mut dirs = run_dirs(root);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.pop().unwrap()
}

/// TCP goodput of a link shaped to `rate_bits_per_sec`: 1448 payload bytes ride in every
/// 1514-byte frame (1500 MTU, timestamps on, Ethernet header counted by `tc tbf`).
pub(crate) fn tcp_goodput(rate_bits_per_sec: f64) -> f64 {
    rate_bits_per_sec * 1448.0 / 1514.0
}

/// Asserts a measured TCP throughput came through a link shaped to `rate_bits_per_sec`.
///
/// The shaper is a hard cap, so the bound above is tight (3%). Below it, a busy CI host lost
/// 5.5% to scheduling in a 3 s run (180.7 against 191.3 Mbit/s), so the bound there is 10%.
/// Either way an unshaped pair (gigabits) or a rate set in bytes instead of bits (8 times
/// off) fails.
pub(crate) fn assert_shaped_to(bps: f64, rate_bits_per_sec: f64) {
    let goodput = tcp_goodput(rate_bits_per_sec);
    assert!(
        bps < goodput * 1.03 && bps > goodput * 0.90,
        "{bps} bit/s through a link shaped to {rate_bits_per_sec} bit/s (goodput {goodput})"
    );
}

/// The Docker engine: tests that measure time (a kill mid-test, a shaped link) hold it alone;
/// the others share it and start their containers side by side.
static ENGINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Holds the engine alone, for a test whose assertions depend on timing.
pub(crate) fn engine_alone() -> std::sync::RwLockWriteGuard<'static, ()> {
    ENGINE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Shares the engine with the other tests that do not measure time.
pub(crate) fn engine_shared() -> std::sync::RwLockReadGuard<'static, ()> {
    ENGINE
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Which probe images a test needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Images {
    /// `PROBE:VERSION` (and `-ARCH`) for this machine's architecture.
    Host,
    /// Both architectures' (`--arch both`: the plain tags stay this machine's).
    Both,
}

/// Builds the probe images once per test binary and returns what `scripts/build-images.sh`
/// said on stderr (which toolchain built each architecture).
///
/// `scripts/test.sh` builds both architectures once, before the suites, and names its log in
/// `FARGATE_BENCH_IMAGE_BUILD_LOG`: then nothing is rebuilt here, and the docker and arm64
/// suites test the very images that stage built.
pub(crate) fn images(needed: Images) -> String {
    static BUILT: std::sync::Mutex<Option<(Images, String)>> = std::sync::Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((have, log)) = built.as_ref() {
        if *have == Images::Both || needed == Images::Host {
            return log.clone();
        }
    }
    let (have, log) = match std::env::var("FARGATE_BENCH_IMAGE_BUILD_LOG") {
        Ok(path) => {
            let log = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("FARGATE_BENCH_IMAGE_BUILD_LOG={path}: {e}; unset it to build here")
            });
            (Images::Both, log)
        }
        Err(_) => {
            let mut build = Command::new(repo().join("scripts/build-images.sh"));
            if needed == Images::Both {
                build.args(["--arch", "both"]);
            }
            let out = build.output().unwrap();
            let log = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "build-images.sh failed: {log}");
            (needed, log)
        }
    };
    *built = Some((have, log.clone()));
    log
}
