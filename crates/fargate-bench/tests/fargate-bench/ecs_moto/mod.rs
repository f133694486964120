//! The ECS backend against moto (an AWS-API-compatible server on loopback) through the real
//! SDK code path; only the endpoint URL differs. moto runs no containers, so
//! `tests/ecs/harness.py` plays them with the real probe binaries.
//!
//! Needs moto: `scripts/test.sh` installs it into a venv and exports
//! `FARGATE_BENCH_MOTO_SERVER` and `FARGATE_BENCH_PYTHON`; it runs these with `--ignored`.

mod capacity;
mod harness;
mod logs;
mod preview;
mod startup;
mod stopping;

use std::process::{Child, Command, Stdio};
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
