//! Issue 25, item 3: each task's start-up, from the launch request to RUNNING with the image
//! pull apart, against the strict layer's lifecycle, whose delays are the truth: PROVISIONING
//! 2 s, then PENDING 3 s of which the pull takes the first 2 s. The layer stamps `createdAt`,
//! `pullStartedAt`, `pullStoppedAt` and `startedAt` with its own times, so the start-up the
//! controller reports must be those delays plus its own RunTask round trip, and what it saw by
//! polling DescribeTasks must come within its polling interval (one shared DescribeTasks a
//! second, each waiter looking every 500 ms) of them.

use super::harness::*;
use crate::common::controller;

/// PROVISIONING, PENDING and the pull, in milliseconds, as the layer is told.
const PROVISIONING_MS: u64 = 2_000;
const PENDING_MS: u64 = 3_000;
const PULL_MS: u64 = 2_000;
/// DescribeTasks at most once a second, and each waiter looks every 500 ms.
const POLLING_MS: u64 = 1_500;
/// What a busy two-core machine adds to a poll (other tests compile and run beside this one).
const SLACK_MS: u64 = 1_000;

/// Equal to the millisecond: each timestamp is cut to whole milliseconds on its own.
fn close(measured: u64, expected: u64) -> bool {
    measured.abs_diff(expected) <= 1
}

#[test]
#[ignore = "needs moto (scripts/test.sh installs it)"]
fn start_up_is_the_lifecycles_delays_per_task_and_per_size() {
    let fargate = Fargate::start(
        &["--provisioning", "2", "--pending", "3", "--pull", "2"],
        &[],
    );
    let suite = fargate.suite(SMALL);
    let (summary, stderr) = run_ok(&mut fargate.controller(&["--suite", &suite]));
    assert_eq!(summary["items_ok"], 2, "{stderr}");
    let running = PROVISIONING_MS + PENDING_MS;
    let mut roles = Vec::new();
    let mut startups = Vec::new();
    for record in records(&results_dir(fargate.dir())) {
        for t in record["lifecycles"].as_array().expect("lifecycles kept") {
            roles.push(t["role"].as_str().unwrap().to_owned());
            let at = |key: &str| t[key].as_u64().unwrap_or_else(|| panic!("no {key}: {t}"));
            // RunTask's round trip (the request to its answer) comes first, on our clock.
            let created = at("created_ms");
            assert!(created < 5_000, "{t}");
            // The service's own timestamps: the layer's delays after creation (to the
            // millisecond each timestamp is cut to).
            assert!(close(at("running_ms") - created, running), "{t}");
            assert!(
                close(at("pull_started_ms") - created, PROVISIONING_MS),
                "{t}"
            );
            assert!(
                close(at("pull_stopped_ms") - at("pull_started_ms"), PULL_MS),
                "{t}"
            );
            // What the controller saw by polling is within its polling interval of them.
            let seen = at("seen_running_ms");
            assert!(
                seen >= at("running_ms") && seen <= at("running_ms") + POLLING_MS + SLACK_MS,
                "seen RUNNING {seen} ms after the request, RUNNING at {} ms: {t}",
                at("running_ms")
            );
            startups.push(at("running_ms"));
            // The version LATEST resolved to, as DescribeTasks names it (the task metadata
            // endpoint does not): what `history` marks when it changes between runs.
            assert_eq!(t["platform_version"], "1.4.0", "{t}");
        }
    }
    roles.sort();
    assert_eq!(roles, ["client", "memory", "server"], "every task's");
    // The report: one start-up row for the size, on demand, three tasks.
    let rows = summary["startup"].as_array().expect("a start-up section");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["size"], "0.25x0.5");
    assert_eq!(row["capacity"], "on_demand");
    assert_eq!(row["tasks"], 3);
    let max = row["startup_ms"]["max"].as_f64().unwrap();
    assert_eq!(max, *startups.iter().max().unwrap() as f64);
    let median = row["startup_ms"]["median"].as_f64().unwrap();
    assert!(
        median >= running as f64 && median < (running + 5_000) as f64,
        "{row}"
    );
    for key in ["median", "max"] {
        let pull = row["pull_ms"][key].as_f64().unwrap() as u64;
        assert!(close(pull, PULL_MS), "{row}");
    }
    // Issue 23, item 7: the price table's date is kept with the run.
    assert_eq!(summary["run"]["prices_as_of"], "2026-11-01", "{summary}");
    // The text report shows the start-up table.
    let dir = results_dir(fargate.dir());
    let out = controller(fargate.dir(), &["report", dir.to_str().unwrap(), "--wide"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Start-up (launch request to running")
            && text.contains("pull median")
            && text.contains("2.0 s"),
        "{text}"
    );
}
