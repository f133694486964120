//! Capacity: failures in RunTask's `failures` retried and given up on, a client delayed by
//! capacity, the account's vCPU quota, FARGATE_SPOT's association with the cluster.

use super::harness::*;

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
