//! The ECS backend against moto (an AWS-API-compatible server on loopback) through the real
//! SDK code path; only the endpoint URL differs. moto runs no containers, so
//! `tests/ecs/harness.py` plays them with the real probe binaries.
//!
//! Needs moto: `scripts/test.sh` installs it into a venv and exports
//! `FARGATE_BENCH_MOTO_SERVER` and `FARGATE_BENCH_PYTHON`; it runs these with `--ignored`.

mod harness;
mod startup;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use harness::*;

use crate::common::{repo, CONTROLLER};

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_small_suite_completes_stops_every_task_and_reuses_task_definitions() {
    // Through the strict proxy: every RunTask, ListTasks, tag and size obeys the API rules.
    let fargate = Fargate::start(&[], &[]);
    let suite = fargate.suite(SMALL);
    for round in 1..=2 {
        let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
        assert_eq!(summary["items_ok"], 2, "round {round}: {stderr}");
        assert_eq!(summary["run"]["backend"], "ecs");
        // The capacity provider the tasks ran on is recorded, for `recommend` to price by.
        assert_eq!(summary["run"]["capacity"], "on_demand");
        let rr = &summary["network"][0];
        assert!(rr["rtt"]["count"].as_u64().unwrap() > 100);
        assert!(!summary["memory_bandwidth"].as_array().unwrap().is_empty());
        assert_eq!(
            fargate.moto.not_stopped(),
            0,
            "round {round}: every task is STOPPED"
        );
        // The estimate comes before anything is launched.
        assert!(
            stderr.contains("this run launches 3 Fargate tasks") && stderr.contains("about $"),
            "{stderr}"
        );
        assert!(!stderr.contains("could not"), "{stderr}");
        if round == 1 {
            assert!(stderr.contains("registered task definition"), "{stderr}");
        } else {
            assert!(
                !stderr.contains("registered task definition"),
                "reused: {stderr}"
            );
        }
    }
    let revisions = fargate.moto.revisions(&[
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
    // Issue 23, item 4: on demand, every task ran with launchType FARGATE on a cluster that
    // has no capacity provider (the layer refuses a strategy naming an unassociated one).
    let launches = fargate.moto.launches();
    assert_eq!(launches.len(), 6, "{launches:?}");
    assert!(
        launches
            .iter()
            .all(|l| *l == (Some("FARGATE".to_owned()), None)),
        "{launches:?}"
    );
}

/// Issue 15: a suite over both architectures, through the strict layer (RuntimePlatform in
/// the API reference: cpuArchitecture X86_64 | ARM64, ARM64 on Linux only): a family of each
/// with its runtimePlatform, both reused on a second run, every item priced at its
/// architecture's rate and compared.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_suite_over_both_architectures_registers_and_reuses_a_family_of_each() {
    let fargate = Fargate::start(&[], &[]);
    let suite = fargate.suite(&format!("architectures = [\"X86_64\", \"ARM64\"]\n{SMALL}"));
    for round in 1..=2 {
        let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
        assert_eq!(summary["items_ok"], 4, "round {round}: {stderr}");
        assert_eq!(fargate.moto.not_stopped(), 0, "round {round}");
        assert_eq!(
            stderr.matches("registered task definition").count(),
            if round == 1 { 4 } else { 0 },
            "round {round}: {stderr}"
        );
        let net = summary["network"].as_array().unwrap();
        let placements: Vec<&str> = net.iter().map(|r| r["size"].as_str().unwrap()).collect();
        assert_eq!(placements, ["0.25x0.5 X86_64", "0.25x0.5 ARM64"]);
        assert!(net[1]["cost_per_hour"].as_f64() < net[0]["cost_per_hour"].as_f64());
        assert_eq!(summary["architectures"][0]["size"], "0.25x0.5", "{summary}");
        assert!(
            stderr.contains("X86_64 and ARM64"),
            "the estimate names both: {stderr}"
        );
    }
    let families = [
        "fargate-bench-netprobe-256-512",
        "fargate-bench-netprobe-arm64-256-512",
        "fargate-bench-memprobe-arm64-256-512",
    ];
    let platforms = fargate.moto.platforms(&families);
    assert_eq!(
        platforms[families[0]]["cpuArchitecture"], "X86_64",
        "{platforms}"
    );
    assert_eq!(
        platforms[families[1]]["cpuArchitecture"], "ARM64",
        "{platforms}"
    );
    assert_eq!(
        platforms[families[2]]["operatingSystemFamily"], "LINUX",
        "{platforms}"
    );
    let revisions = fargate.moto.revisions(&families);
    assert!(
        families.iter().all(|f| revisions[f] == 1),
        "one revision each: {revisions}"
    );
}

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn throttled_run_task_calls_are_retried_and_the_run_completes() {
    let fargate = Fargate::start(&["--throttle", "RunTask:3"], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let (summary, _) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 1);
    assert_eq!(
        fargate.calls("RunTask"),
        5,
        "two launches, three throttled calls retried"
    );
    assert_eq!(fargate.moto.launched(), 2, "no launch was doubled");
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// RunTask in the API reference: a clientToken makes the request idempotent. A reply lost after
/// the task was created is retried by the SDK with the same token and returns the same task.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_lost_run_task_reply_does_not_launch_twice() {
    let fargate = Fargate::start(&["--lose-run-task-reply", "1"], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"memory\"\nquick = true\nno_latency = true\n");
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 1);
    assert_eq!(
        fargate.calls("RunTask"),
        2,
        "the lost reply was retried: {stderr}"
    );
    assert_eq!(
        fargate.moto.launched(),
        1,
        "and the retry was the same task: {stderr}"
    );
}

/// RunTask in the API reference: a clientToken reused within 24 hours with other parameters is
/// a ConflictException. A resumed run launches every item again with new keys, so its tokens
/// must be new.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn resume_after_a_run_in_which_every_item_failed() {
    let mut fargate = Fargate::start(&[], &["--fail-item", "*"]);
    let suite = fargate.suite(SMALL);
    let out = fargate.controller(&["--suite", &suite]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["items_ok"], 0, "{stderr}");
    assert_eq!(summary["failures"].as_array().unwrap().len(), 2);
    let dir = results_dir(fargate.dir());
    // Issue 22 (D1): the dry run and the estimate of a resume are the stored suite's unfinished
    // items (0.25x0.5: tcp-rr's two tasks and one memory task), not the default ECS suite's.
    let out = fargate
        .controller(&["--resume", dir.to_str().unwrap(), "--dry-run"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["run_task"].as_array().unwrap().len(), 3, "{doc}");
    let families: Vec<&str> = doc["register_task_definition"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["family"].as_str().unwrap())
        .collect();
    assert!(
        families.iter().all(|f| f.ends_with("-256-512")),
        "{families:?}"
    );
    assert_eq!(doc["estimate"]["tasks"], 3, "{doc}");
    fargate.restart_harness(&[]);
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--resume", dir.to_str().unwrap()]));
    assert_eq!(summary["items_ok"], 2, "{stderr}");
    assert!(!stderr.contains("ConflictException"), "{stderr}");
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// Capacity failures come back in RunTask's `failures` (not as an error) and clear with time.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_capacity_failure_that_clears_after_two_tries() {
    let fargate = Fargate::start(&["--capacity-failures", "2"], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 1, "{stderr}");
    assert_eq!(
        stderr.matches("Capacity is unavailable").count(),
        2,
        "{stderr}"
    );
    assert_eq!(stderr.matches("retrying in").count(), 2, "{stderr}");
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// ...and when they do not clear within --capacity-wait, the item fails with the reason and the
/// run goes on.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn capacity_that_never_comes_fails_the_item_with_its_reason() {
    let fargate = Fargate::start(&["--capacity-failures", "1000"], &[]);
    let suite = fargate.suite(SMALL);
    let out = fargate
        .controller(&["--suite", &suite, "--capacity-wait", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failures = summary["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "both items ran and failed: {stderr}");
    for f in failures {
        let reason = f["reason"].as_str().unwrap();
        assert!(
            reason.contains("Capacity is unavailable") && reason.contains("--capacity-wait"),
            "{reason}"
        );
    }
}

/// The server's report may reach CloudWatch Logs after its task stopped; it is still kept.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_server_whose_logs_appear_after_its_task_stopped() {
    let fargate = Fargate::start(&[], &["--late-server-logs", "4"]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 1, "{stderr}");
    let records = records(&results_dir(fargate.dir()));
    let roles: Vec<&str> = records[0]["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["client", "server"], "{stderr}");
}

/// Issue 23, item 1 (2026-12 ECS review, N1): GetLogEvents allows 10 calls per second per
/// account and Region, and the quota cannot be raised (CloudWatch Logs quotas). The strict
/// layer enforces it, answers empty pages with a moving token first (GetLogEvents, nextToken:
/// "empty pages don't necessarily mean that pagination is finished") and the harness shows each
/// line 5 s after it was printed, as awslogs batches do. At the README's sweep concurrency (16),
/// where 10 of 16 pairs used to fail on throttling, every pair completes, the controller's
/// peak GetLogEvents rate stays under its limiter's 5/s (with scheduling jitter) and nothing is
/// throttled.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn sixteen_pairs_at_once_read_their_logs_within_the_quota() {
    let fargate = Fargate::start(&[], &[]);
    let suite = fargate.suite(
        "repetitions = 16\nconcurrency = 16\nsizes = [\"0.25x0.5\"]\n[[test]]\nkind = \"tcp-rr\"\n\
         duration = 1\n",
    );
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 16, "{stderr}");
    let stats = fargate.stats();
    let peak = stats["peak_per_sec"].as_u64().unwrap();
    assert!(
        (1..=7).contains(&peak),
        "peak GetLogEvents {peak}/s: {stats}"
    );
    assert_eq!(
        stats["throttled"]["GetLogEvents"].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
    // Each finished task's log is read incrementally: a few calls each, not one a second.
    let reads = fargate.calls("GetLogEvents");
    assert!(
        reads <= 16 * 2 * 8,
        "{reads} GetLogEvents calls for 32 tasks: {stats}"
    );
    // Every record holds the server's report too: the empty pages did not end a read early.
    for r in records(&results_dir(fargate.dir())) {
        assert_eq!(r["reports"].as_array().unwrap().len(), 2, "{r}");
    }
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// ...and when the quota is shared with someone else who uses most of it (here the layer allows
/// only 3 calls a second), reads are throttled, and throttling means "not yet": no item fails.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn throttled_log_reads_are_not_yet_and_no_item_fails() {
    let fargate = Fargate::start(&["--logs-quota", "3"], &[]);
    let suite = fargate.suite(
        "repetitions = 6\nconcurrency = 6\nsizes = [\"0.25x0.5\"]\n[[test]]\nkind = \"tcp-rr\"\n\
         duration = 1\n",
    );
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 6, "{stderr}");
    let stats = fargate.stats();
    assert!(
        stats["throttled"]["GetLogEvents"].as_u64().unwrap_or(0) > 0,
        "the layer throttled some reads: {stats}"
    );
    assert!(!stderr.contains("ThrottlingException"), "{stderr}");
}

/// Issue 23, item 3 (N2): a client whose RunTask meets no capacity for a while still finds its
/// server, which waits for it as long as the client may retry and start. The strict layer fails
/// only the client's RunTask calls (by the task's role tag) for 12 s.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_client_delayed_by_capacity_still_finds_its_server() {
    let fargate = Fargate::start(&["--capacity-for", "client:12"], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 1, "{stderr}");
    assert!(
        stderr.contains("RunTask") && stderr.contains("(client)") && stderr.contains("retrying"),
        "the client's launch met no capacity first: {stderr}"
    );
    assert!(!stderr.contains("(server): Capacity"), "{stderr}");
}

/// Issue 23, item 3 (N9): the server's report is collected with a deadline counted from when
/// its client's report came, not from the server's start: a test longer than the old 30 s
/// allowance no longer gets a false "ran past its deadline" and a needless StopTask.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_server_report_after_a_long_test_is_not_taken_for_overdue() {
    let fargate = Fargate::start(&["--deprovisioning", "3"], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 26\n");
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 1, "{stderr}");
    let records = records(&results_dir(fargate.dir()));
    let reports = records[0]["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2, "{stderr}");
    for r in reports {
        let warnings = r["warnings"].to_string();
        assert!(!warnings.contains("deadline"), "{warnings}");
    }
}

/// Issue 23, item 7 (N13): the account's Fargate vCPU quota ("Fargate On-Demand vCPU resource
/// count", low on new accounts) refuses a launch that would hold more vCPUs than it allows. While
/// other tasks of the run are alive the launch waits for them, as for capacity; a pair that
/// cannot fit alone fails naming the quota. The strict layer allows 1.5 vCPUs: two 0.5-vCPU
/// pairs at once need 2.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn the_vcpu_quota_waits_for_other_tasks_and_names_itself_when_it_cannot() {
    let fargate = Fargate::start(&["--vcpu-quota", "1.5"], &[]);
    let suite = fargate.suite(
        "repetitions = 2\nconcurrency = 2\nsizes = [\"0.5x1\"]\n[[test]]\nkind = \"tcp-rr\"\n\
         duration = 1\n",
    );
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 2, "{stderr}");
    assert!(
        stderr.contains("limit on the number of vCPUs") && stderr.contains("retrying"),
        "a launch waited for the other pair: {stderr}"
    );
    assert!(
        stderr.contains("at most 2 vCPUs at once"),
        "the estimate said so: {stderr}"
    );
    // A 1x2 pair needs 2 vCPUs: with nothing else running to wait for, it fails at once.
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let out = fargate
        .controller(&["--suite", &suite, "--results", "second"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = summary["failures"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("L-3032A538") && reason.contains("--concurrency"),
        "{reason}"
    );
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// A log group that does not exist is named before anything is launched.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_missing_log_group_is_an_error_before_launch() {
    let fargate = Fargate::start(&[], &[]);
    let suite = fargate.suite(SMALL);
    let out = fargate
        .controller(&["--suite", &suite, "--log-group", "/no-such-group"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("\"/no-such-group\" does not exist"),
        "{stderr}"
    );
    assert_eq!(fargate.moto.launched(), 0);
}

/// Spawns the controller and returns once a stderr line contains `needle`, keeping the rest.
fn spawn_until(cmd: &mut Command, needle: &str) -> (Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(|l| l.ok())
        {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => break,
            Ok(line) => seen.push(line),
            Err(_) => panic!("never saw {needle:?}; stderr so far: {seen:#?}"),
        }
    }
    (child, rx)
}

fn interrupt(child: Child, rx: std::sync::mpsc::Receiver<String>) -> (Option<i32>, String) {
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut child = child;
    let status = child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let rest: Vec<String> = rx.try_iter().collect();
    (status.code(), rest.join("\n"))
}

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn ctrl_c_mid_run_leaves_no_running_task() {
    let fargate = Fargate::start(&[], &[]);
    let suite = fargate.suite(
        "repetitions = 3\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nduration = 4\n",
    );
    let mut cmd = fargate.controller(&["--suite", &suite]);
    let (child, rx) = spawn_until(&mut cmd, "is RUNNING");
    let deadline = Instant::now() + Duration::from_secs(60);
    while fargate.moto.not_stopped() < 2 {
        assert!(Instant::now() < deadline, "the pair never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let (code, stderr) = interrupt(child, rx);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("could not"), "{stderr}");
    assert_eq!(
        fargate.moto.not_stopped(),
        0,
        "a task is still RUNNING after Ctrl-C"
    );
}

/// Ctrl-C while the server is still PENDING (Fargate provisions for minutes): it is stopped.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn ctrl_c_while_tasks_are_pending() {
    let fargate = Fargate::start(&["--provisioning", "1", "--pending", "60"], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let mut cmd = fargate.controller(&["--suite", &suite]);
    let (child, rx) = spawn_until(&mut cmd, "is PENDING");
    let (code, stderr) = interrupt(child, rx);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("stopped 1 task(s)"), "{stderr}");
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// Ctrl-C while ListTasks fails: the tasks this process launched are stopped from the ARNs it
/// holds, and the failed listing is reported.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn ctrl_c_while_list_tasks_fails() {
    let fargate = Fargate::start(&["--fail-list-tasks"], &[]);
    let suite = fargate.suite(
        "repetitions = 3\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nduration = 4\n",
    );
    let mut cmd = fargate.controller(&["--suite", &suite]);
    let (child, rx) = spawn_until(&mut cmd, "is RUNNING");
    let deadline = Instant::now() + Duration::from_secs(60);
    while fargate.moto.not_stopped() < 2 {
        assert!(Instant::now() < deadline, "the pair never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, stderr) = interrupt(child, rx);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("could not list") && stderr.contains("AccessDenied"),
        "{stderr}"
    );
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// Issue 23, item 10: every rule the strict layer adds, each broken by one call that the layer
/// must refuse with AWS's error and kept by the nearest call that it must let through
/// (`tests/ecs/strict_rules.py`, which names each rule's source beside strict_ecs.py's code).
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn the_strict_layer_refuses_what_ecs_refuses() {
    let fargate = Fargate::layer(&[]);
    let out = Command::new(python())
        .current_dir(repo().join("tests/ecs"))
        .args([
            "strict_rules.py",
            &fargate.api,
            &fargate.moto.env.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let failed: Vec<&serde_json::Value> = cases.iter().filter(|c| c["ok"] != true).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let names: Vec<&str> = cases.iter().map(|c| c["case"].as_str().unwrap()).collect();
    for rule in [
        "run: count 11",
        "run: startedBy with '.'",
        "run: launchType and capacityProviderStrategy both",
        "run: FARGATE_SPOT strategy on a cluster without providers",
        "run: overrides of 8193 characters",
        "run: platformVersion 1.3.0",
        "run: an INACTIVE revision",
        "describe tasks: 101",
        "list: pages of 3 lead through every task once",
        "list: the default page holds 2",
        "register: '1 vCPU'/'2 GB' stored as 1024/2048",
        "register: awslogs on Fargate without an execution role",
        "register: awslogs on Fargate without awslogs-stream-prefix",
        // ContainerDefinition, memory: "The total amount of memory reserved for all
        // containers within a task must be lower than the task memory value".
        "register: a container with 513 MiB in a 512 MiB task",
        "register: two containers of 300 MiB in a 512 MiB task",
        "register: a container with the task's 512 MiB",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(rule)),
            "no case {rule:?} in {names:#?}"
        );
    }
}

/// Issue 23, item 4: a Spot run checks with DescribeClusters that FARGATE_SPOT is associated
/// with the cluster and, when it is not, launches nothing and names the command that
/// associates it; once associated, every RunTask carries the FARGATE_SPOT strategy (which
/// the layer refuses for an unassociated provider).
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_spot_run_needs_fargate_spot_associated_with_the_cluster() {
    let fargate = Fargate::start(&[], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let spot = ["--suite", &suite, "--capacity-provider", "FARGATE_SPOT"];
    let out = fargate.controller(&spot).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("has no capacity provider associated")
            && stderr.contains(
                "aws ecs put-cluster-capacity-providers --cluster fargate-bench \
                 --capacity-providers FARGATE FARGATE_SPOT"
            ),
        "{stderr}"
    );
    assert_eq!(fargate.moto.launched(), 0, "nothing launched: {stderr}");
    assert_eq!(fargate.calls("RunTask"), 0);

    fargate.moto.associate(&["FARGATE", "FARGATE_SPOT"]);
    let (summary, stderr) = run_ok(&mut fargate.controller(&spot));
    assert_eq!(summary["items_ok"], 1, "{stderr}");
    let launches = fargate.moto.launches();
    assert_eq!(launches.len(), 2, "{launches:?}");
    assert!(
        launches
            .iter()
            .all(|l| *l == (None, Some("FARGATE_SPOT".to_owned()))),
        "{launches:?}"
    );
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// Issue 23, item 8 (N17): right after RunTask, ECS may answer StopTask with "The referenced
/// task was not found" for a task that exists. Ctrl-C while the server provisions: StopTask is
/// retried until the task is found and stopped, not taken as already gone.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn stop_task_not_finding_a_fresh_task_is_retried() {
    let fargate = Fargate::start(
        &[
            "--provisioning",
            "1",
            "--pending",
            "60",
            "--stop-task-not-found",
            "6",
        ],
        &[],
    );
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let mut cmd = fargate.controller(&["--suite", &suite]);
    let (child, rx) = spawn_until(&mut cmd, "is PENDING");
    let (code, stderr) = interrupt(child, rx);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("stopped 1 task(s)"), "{stderr}");
    assert!(
        fargate.calls("StopTask") >= 2,
        "the first StopTask was answered \"not found\" and retried: {stderr}"
    );
    assert_eq!(fargate.moto.not_stopped(), 0, "{stderr}");
}

/// Issue 23, item 8 (N17): Ctrl-C while RunTask is under way. The task exists but its ARN
/// never reached the controller, and ListTasks does not show it yet: the run's tasks are
/// listed again a few seconds later and it is stopped.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_task_launched_as_ctrl_c_arrives_is_swept_again() {
    let fargate = Fargate::start(&["--run-task-delay", "8", "--list-tasks-lag", "3"], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\nduration = 1\n");
    let mut child = fargate
        .controller(&["--suite", &suite])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The layer counts the call as it arrives, holds the answer 8 s after moto created the
    // task: Ctrl-C a second after the count falls inside that window.
    let deadline = Instant::now() + Duration::from_secs(60);
    while fargate.calls("RunTask") == 0 {
        assert!(Instant::now() < deadline, "RunTask never reached the layer");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(1));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        !stderr.contains("is RUNNING"),
        "the ARN never came back: {stderr}"
    );
    assert!(stderr.contains("stopped 1 task(s)"), "{stderr}");
    assert_eq!(fargate.moto.launched(), 1);
    assert_eq!(fargate.moto.not_stopped(), 0, "{stderr}");
}

/// `cleanup --run` of a controller that was killed (no cleanup of its own): it finds the run's
/// tasks only through ListTasks, which the layer pages two at a time, so all three PENDING
/// servers are stopped only if the nextToken loop follows every page.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn cleanup_follows_every_list_tasks_page() {
    let fargate = Fargate::start(&["--pending", "120"], &[]);
    let suite = fargate.suite(
        "repetitions = 3\nconcurrency = 3\nsizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\n\
         duration = 1\n",
    );
    let mut child = fargate
        .controller(&["--suite", &suite])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while fargate.moto.not_stopped() < 3 {
        assert!(Instant::now() < deadline, "three servers never launched");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fargate.moto.not_stopped(), 3);
    let run = results_dir(fargate.dir());
    let run = run.file_name().unwrap().to_str().unwrap();
    let before = fargate.calls("ListTasks");
    let out = fargate.moto.cleanup(&fargate.api, fargate.dir(), run);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("removed ")
            .count(),
        3,
        "{stderr}"
    );
    assert!(
        fargate.calls("ListTasks") - before >= 2,
        "more than one page was read"
    );
    assert_eq!(fargate.moto.not_stopped(), 0);
}

/// Issue 23, item 8 (N18): a DescribeTaskDefinition error other than "no such family" is
/// reported, not answered with a needless new revision (here the operator may not describe).
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_task_definition_lookup_error_is_reported_not_registered_around() {
    let fargate = Fargate::start(&["--deny", "DescribeTaskDefinition"], &[]);
    let suite = fargate
        .suite("repetitions = 1\nsizes = [\"1x2\"]\n[[test]]\nkind = \"memory\"\nquick = true\nno_latency = true\n");
    let out = fargate.controller(&["--suite", &suite]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = summary["failures"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("DescribeTaskDefinition fargate-bench-memprobe-1024-2048")
            && reason.contains("AccessDeniedException"),
        "{reason}"
    );
    assert_eq!(fargate.calls("RegisterTaskDefinition"), 0, "{stderr}");
    assert_eq!(
        fargate
            .moto
            .revisions(&["fargate-bench-memprobe-1024-2048"])["fargate-bench-memprobe-1024-2048"],
        0
    );
    assert_eq!(fargate.moto.launched(), 0);
}

/// Issue 23, item 8 (N18): a registration holds only its own family: with registrations made
/// slow, the two families of a two-item suite at concurrency 2 are registered at once.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn registrations_of_two_families_do_not_wait_for_each_other() {
    let fargate = Fargate::start(&["--slow-register", "2"], &[]);
    let suite = fargate.suite(&format!("concurrency = 2\n{SMALL}"));
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 2, "{stderr}");
    assert_eq!(fargate.calls("RegisterTaskDefinition"), 2, "{stderr}");
    assert_eq!(
        fargate.calls("concurrent:RegisterTaskDefinition"),
        2,
        "both families registered at the same time: {stderr}"
    );
}

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_task_that_stops_with_an_error_is_reported_with_its_reason() {
    let fargate = Fargate::start(&[], &["--fail-item", "1/0.25x0.5/memory"]);
    let suite = fargate.suite(SMALL);
    let out = fargate.controller(&["--suite", &suite]).output().unwrap();
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
    assert_eq!(fargate.moto.not_stopped(), 0);
}

#[test]
fn dry_run_prints_task_definitions_and_run_task_requests_without_aws() {
    let out = dry_run("0.25x0.5", "1", &["--region", "us-east-1"]);
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

    let out = Command::new(CONTROLLER)
        .args(["run", "--backend", "ecs", "--dry-run", "--subnet", "a,b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster"));
}

/// Issue 15: `--architecture X86_64,ARM64` crosses the sizes with both architectures: a task
/// definition family of each with its `runtimePlatform` (API reference, RuntimePlatform:
/// cpuArchitecture X86_64 | ARM64, operatingSystemFamily LINUX) and image, each priced; and
/// an ARM64 run on a platform version older than 1.4.0 is refused before any call.
#[test]
fn the_dry_run_over_both_architectures_shows_two_families_and_their_prices() {
    let out = dry_run(
        "2x4",
        "1",
        &["--region", "us-east-1", "--architecture", "X86_64,ARM64"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let defs = doc["register_task_definition"].as_array().unwrap();
    let platform = |family: &str| {
        let d = defs
            .iter()
            .find(|d| d["family"] == family)
            .unwrap_or_else(|| panic!("no family {family} in {defs:?}"));
        (
            d["runtimePlatform"]["cpuArchitecture"]
                .as_str()
                .unwrap()
                .to_owned(),
            d["image"].as_str().unwrap().to_owned(),
            d["usd_per_hour"].as_f64().unwrap(),
        )
    };
    let x86 = platform("fargate-bench-netprobe-2048-4096");
    let arm = platform("fargate-bench-netprobe-arm64-2048-4096");
    assert_eq!((x86.0.as_str(), x86.1.as_str()), ("X86_64", "n:1"));
    assert_eq!((arm.0.as_str(), arm.1.as_str()), ("ARM64", "n:1"));
    assert_eq!(platform("fargate-bench-memprobe-arm64-2048-4096").1, "m:1");
    assert!(
        arm.2 < x86.2,
        "Graviton costs less per hour: {arm:?} {x86:?}"
    );
    assert_eq!(defs.len(), 4);
    let by_arch = doc["estimate"]["by_arch"].as_array().unwrap();
    assert_eq!(by_arch.len(), 2);
    assert_eq!(by_arch[0]["tasks"], by_arch[1]["tasks"]);
    let line = doc["estimate_line"].as_str().unwrap();
    assert!(line.contains("X86_64 and ARM64"), "{line}");

    let out = dry_run(
        "2x4",
        "1",
        &["--architecture", "ARM64", "--platform-version", "1.3.0"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ARM64") && err.contains("1.4.0"), "{err}");
    let out = dry_run("2x4", "1", &["--architecture", "sparc"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sparc") && err.contains("X86_64 or ARM64"),
        "{err}"
    );
}

/// Issue 11, item 11: resources are named after the stack, so a second stack deploys beside the
/// first (the old template failed with RepositoryAlreadyExistsException), and repositories
/// holding images do not block deletion. Issue 23: each stack has its own operator and deployer
/// policies.
#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn a_second_stack_deploys_beside_the_first() {
    let moto = Moto::start();
    let template = repo().join("deploy/cloudformation.yaml");
    let template = template.to_str().unwrap();
    let mut outputs = Vec::new();
    for name in ["bench-a", "bench-b"] {
        let out = py(&["stack", &moto.endpoint, name, template]);
        let stack: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(stack["status"], "CREATE_COMPLETE", "{name}: {stack}");
        assert_eq!(stack["outputs"]["Cluster"], name);
        assert_eq!(stack["outputs"]["LogGroup"], format!("/{name}"));
        assert!(stack["outputs"]["NetprobeRepositoryUri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{name}/netprobe")));
        outputs.push(stack["outputs"].clone());
    }
    for key in [
        "Cluster",
        "Subnet",
        "SecurityGroup",
        "LogGroup",
        "MemprobeRepositoryUri",
        "OperatorPolicyArn",
        "DeployerPolicyArn",
    ] {
        assert_ne!(outputs[0][key], outputs[1][key], "{key}");
    }
    // Each stack's IAM policies are managed policies named after it (the deployer policy
    // scopes IAM actions to policy/STACK-*).
    for (stack, name) in outputs.iter().zip(["bench-a", "bench-b"]) {
        for key in ["OperatorPolicyArn", "DeployerPolicyArn"] {
            let arn = stack[key].as_str().unwrap();
            assert!(arn.contains(&format!(":policy/{name}-")), "{key}: {arn}");
        }
    }
    let text = std::fs::read_to_string(template).unwrap();
    assert_eq!(text.matches("EmptyOnDelete: true").count(), 2);
}

fn dry_run(size: &str, repetitions: &str, extra: &[&str]) -> Output {
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

/// Issue 11: the dry run says what the run costs, priced where and as it would run, and a run
/// over --max-cost does not start.
#[test]
fn the_dry_run_estimates_the_cost_and_max_cost_refuses() {
    let out = dry_run("1x2", "2", &["--region", "us-east-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let on_demand = doc["estimate"]["usd"].as_f64().unwrap();
    assert_eq!(
        doc["estimate"]["tasks"].as_u64().unwrap() as usize,
        doc["run_task"].as_array().unwrap().len()
    );
    assert!(doc["estimate_line"]
        .as_str()
        .unwrap()
        .contains("us-east-1 X86_64 FARGATE prices"));
    let out = dry_run(
        "1x2",
        "2",
        &[
            "--region",
            "us-east-1",
            "--capacity-provider",
            "FARGATE_SPOT",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let spot = doc["estimate"]["usd"].as_f64().unwrap();
    assert!(spot < on_demand * 0.5, "spot {spot} vs {on_demand}");
    let out = dry_run(
        "1x2",
        "2",
        &["--region", "us-east-1", "--cpu-architecture", "ARM64"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["estimate"]["usd"].as_f64().unwrap() < on_demand);
    // An unknown region runs, without a price.
    let out = dry_run("1x2", "2", &["--region", "mars-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["estimate"]["usd"].is_null());
    assert!(doc["estimate_line"]
        .as_str()
        .unwrap()
        .contains("no price known"));
    // Over the cap, or uncheckable: refused.
    let out = dry_run(
        "1x2",
        "2",
        &["--region", "us-east-1", "--max-cost", "0.001"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("exceeds --max-cost 0.00") && stderr.contains("nothing was launched"),
        "{stderr}"
    );
    let out = dry_run("1x2", "2", &["--region", "mars-1", "--max-cost", "100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be checked"));
    let out = dry_run("1x2", "2", &["--region", "us-east-1", "--max-cost", "100"]);
    assert!(out.status.success());
}

/// Issue 23, item 3 (N2): a server waits for its client as long as the client's RunTask may
/// retry for capacity (--capacity-wait) plus the client's start budget (600 s) and a minute;
/// the estimate says what that wait costs when capacity delays every client.
#[test]
fn a_server_waits_for_a_client_as_long_as_capacity_may_delay_it() {
    let idle_of = |doc: &serde_json::Value| -> u64 {
        let server = doc["run_task"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["command"][0] == "server")
            .unwrap();
        let command: Vec<&str> = server["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let i = command.iter().position(|a| *a == "--idle-timeout").unwrap();
        command[i + 1].parse().unwrap()
    };
    let out = dry_run("1x2", "1", &["--region", "us-east-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(idle_of(&doc), 600 + 600 + 60, "default --capacity-wait 600");
    let worst = doc["estimate"]["capacity_worst_usd"].as_f64().unwrap();
    // Each 1x2 server (the default suite's tcp-stream and tcp-rr: two) waiting 1,260 s instead
    // of the usual 60 s of its client's start, at the us-east-1 on-demand rate of
    // 0.04048 + 2 x 0.004445 USD per hour.
    let servers = doc["run_task"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["command"][0] == "server")
        .count();
    assert_eq!(servers, 2, "{doc}");
    let expected = servers as f64 * (0.04048 + 2.0 * 0.004445) * (1260.0 - 60.0) / 3600.0;
    assert!((worst - expected).abs() < 1e-6, "{worst} vs {expected}");
    assert!(doc["estimate_line"]
        .as_str()
        .unwrap()
        .contains("more if Fargate capacity delays every client"));
    let out = dry_run(
        "1x2",
        "1",
        &["--region", "us-east-1", "--capacity-wait", "30"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(idle_of(&doc), 30 + 600 + 60);
}
