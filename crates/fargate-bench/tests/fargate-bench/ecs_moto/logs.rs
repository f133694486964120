//! CloudWatch Logs: within the GetLogEvents quota, throttling as "not yet", late lines, a
//! missing log group.

use super::harness::*;

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
