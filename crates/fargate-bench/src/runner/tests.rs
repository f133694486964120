//! The runner against the scripted platform, on tokio's paused clock: every path through a run
//! (success, each failing step, deadlines, resume, interrupt) without a process or a network.

use std::time::Duration;

use super::*;
use crate::platform::fake::{FakePlatform, FakeTask};
use crate::sizes::TaskSize;
use crate::store::RunStatus;
use crate::suite::TestSpec;

fn test(kind: TestKind, name: &str) -> TestSpec {
    TestSpec {
        name: Some(name.into()),
        duration: kind.is_network().then_some(1.0),
        quick: (kind == TestKind::Memory).then_some(true),
        ..TestSpec::new(kind)
    }
}

fn plan(root: &std::path::Path, tests: Vec<TestSpec>, repetitions: u32) -> RunPlan {
    RunPlan {
        suite: crate::suite::test_suite(tests, &["1x2"], &[], repetitions),
        results_root: root.to_owned(),
        resume: None,
        progress: false,
    }
}

fn all_ok() -> FakePlatform {
    FakePlatform::new(|spec| FakeTask::ok(spec, Duration::from_secs(2)))
}

fn record<'a>(records: &'a [ItemRecord], label: &str) -> &'a ItemRecord {
    records
        .iter()
        .find(|r| r.label == label)
        .unwrap_or_else(|| panic!("no record {label}"))
}

#[tokio::test(start_paused = true)]
async fn every_item_is_recorded_and_no_task_is_left_running() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Arc::new(all_ok());
    let tests = vec![
        test(TestKind::TCP_STREAM, "stream"),
        test(TestKind::TCP_RR, "rr"),
        test(TestKind::Memory, "mem"),
    ];
    let outcome = run(
        platform.clone(),
        plan(dir.path(), tests, 2),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.records.len(), 6);
    assert!(outcome.records.iter().all(|r| r.status == ItemStatus::Ok));
    assert_eq!(
        record(&outcome.records, "stream").reports.len(),
        2,
        "client and server"
    );
    assert_eq!(record(&outcome.records, "mem").reports.len(), 1);
    assert_eq!(outcome.meta.status, RunStatus::Complete);
    let calls = platform.calls();
    assert_eq!(calls.launched.len(), 2 * (2 + 2 + 1));
    assert!(platform.still_running().is_empty());
    assert_eq!((calls.prepared, calls.finished), (1, 1));
    assert!(calls.swept.is_empty(), "nothing to sweep after a clean run");
    for spec in &calls.launched {
        let ids = spec.args.iter().filter(|a| *a == "--run-id").count();
        assert_eq!(ids, 1, "{:?}", spec.args);
        assert!(spec
            .args
            .ends_with(&["--run-id".into(), outcome.meta.run_id.clone()]));
    }
    let client = calls
        .launched
        .iter()
        .find(|s| s.role == TaskRole::Client)
        .unwrap();
    assert!(client
        .args
        .windows(2)
        .any(|w| w[0] == "--server" && w[1].ends_with(":5301")));
}

#[tokio::test(start_paused = true)]
async fn each_failing_step_fails_its_item_alone_and_names_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Arc::new(FakePlatform::new(|spec| {
        let mut t = FakeTask::ok(spec, Duration::from_secs(2));
        let item = spec.item_id.rsplit('/').next().unwrap();
        match (item, spec.role) {
            ("srv-launch", TaskRole::Server) => t.launch_error = Some("no capacity".into()),
            ("addr", TaskRole::Server) => t.address_error = Some("never listened".into()),
            ("cli-launch", TaskRole::Client) => t.launch_error = Some("no image".into()),
            ("no-line", TaskRole::Client) => {
                t.lines = vec!["thread main panicked: boom".into()];
                t.exit_code = 101;
            }
            ("slow", TaskRole::Client) => {
                t.runs_for = Duration::from_secs(100_000);
                t.lines = vec!["measuring".into()];
            }
            // It printed its result, then hung (issue 11, defect 6): the result is kept.
            ("late-exit", TaskRole::Client) => t.runs_for = Duration::from_secs(100_000),
            ("quiet-server", TaskRole::Server) => t.lines = vec!["bye".into()],
            ("mem-slow", TaskRole::Memory) => {
                t.runs_for = Duration::from_secs(100_000);
                t.lines.pop();
            }
            _ => {}
        }
        t
    }));
    let names = [
        "srv-launch",
        "addr",
        "cli-launch",
        "no-line",
        "slow",
        "late-exit",
        "quiet-server",
        "fine",
    ];
    let mut tests: Vec<TestSpec> = names.iter().map(|n| test(TestKind::TCP_RR, n)).collect();
    tests.push(test(TestKind::Memory, "mem-slow"));
    let start = tokio::time::Instant::now();
    let outcome = run(
        platform.clone(),
        plan(dir.path(), tests, 1),
        std::future::pending(),
    )
    .await
    .unwrap();
    let reason = |label: &str| {
        let r = record(&outcome.records, label);
        assert_eq!(r.status, ItemStatus::Failed, "{label}");
        r.reason.clone().unwrap()
    };
    let r = reason("srv-launch");
    assert!(
        r.contains("launching the server") && r.contains("no capacity"),
        "{r}"
    );
    let r = reason("addr");
    assert!(
        r.starts_with("server:") && r.contains("never listened"),
        "{r}"
    );
    let r = reason("cli-launch");
    assert!(
        r.contains("launching the client") && r.contains("no image"),
        "{r}"
    );
    let r = reason("no-line");
    assert!(
        r.contains("client exited with code 101") && r.contains("boom"),
        "{r}"
    );
    assert_eq!(
        record(&outcome.records, "no-line").last_lines,
        ["thread main panicked: boom"]
    );
    let r = reason("slow");
    assert!(r.contains("client") && r.contains("deadline"), "{r}");
    let r = reason("mem-slow");
    assert!(r.contains("memprobe") && r.contains("deadline"), "{r}");
    let quiet = record(&outcome.records, "quiet-server");
    assert_eq!(
        quiet.status,
        ItemStatus::Ok,
        "the server's report is a bonus"
    );
    assert_eq!(quiet.reports.len(), 1);
    assert_eq!(record(&outcome.records, "fine").reports.len(), 2);
    let late = record(&outcome.records, "late-exit");
    assert_eq!(late.status, ItemStatus::Ok, "{:?}", late.reason);
    assert!(
        late.reports[0]
            .warnings
            .iter()
            .any(|w| w.contains("result kept although") && w.contains("deadline")),
        "{:?}",
        late.reports[0].warnings
    );
    assert!(
        platform.still_running().is_empty(),
        "{:?}",
        platform.still_running()
    );
    // Deadlines follow the test's length: a 1 s client gets 1 x 2 + 90 s, a quick memory
    // test 10 x 5 + 120 s; nothing waited for the 100,000 s the tasks wanted.
    assert!(
        start.elapsed() < Duration::from_secs(600),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn resume_runs_only_what_did_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    let tests = vec![test(TestKind::TCP_RR, "rr"), test(TestKind::Memory, "mem")];
    let failing = Arc::new(FakePlatform::new(|spec| {
        let mut t = FakeTask::ok(spec, Duration::from_secs(1));
        if spec.role == TaskRole::Memory {
            t.launch_error = Some("out of capacity".into());
        }
        t
    }));
    let first = run(
        failing,
        plan(dir.path(), tests.clone(), 2),
        std::future::pending(),
    )
    .await
    .unwrap();
    let failed = first
        .records
        .iter()
        .filter(|r| r.status == ItemStatus::Failed)
        .count();
    assert_eq!(failed, 2);

    let platform = Arc::new(all_ok());
    let mut again = plan(dir.path(), tests, 2);
    again.resume = Some(first.dir.clone());
    let second = run(platform.clone(), again, std::future::pending())
        .await
        .unwrap();
    let launched = platform.calls().launched;
    assert_eq!(launched.len(), 2, "only the two memory items ran again");
    assert!(launched.iter().all(|s| s.role == TaskRole::Memory));
    assert!(launched.iter().all(|s| s.run_id == first.meta.run_id));
    assert_eq!(second.records.len(), 4);
    assert!(second.records.iter().all(|r| r.status == ItemStatus::Ok));
    assert_eq!(second.meta.status, RunStatus::Complete);
}

/// Issue 22 (D1): what a resumed plan counts, previews and checks is the stored suite's
/// unfinished items, and a plan that is not the stored suite, or another backend, is refused
/// before anything runs.
#[tokio::test(start_paused = true)]
async fn a_resumed_plan_is_the_stored_suite_less_what_finished() {
    let dir = tempfile::tempdir().unwrap();
    let tests = vec![test(TestKind::TCP_RR, "rr"), test(TestKind::Memory, "mem")];
    let failing = Arc::new(FakePlatform::new(|spec| {
        let mut t = FakeTask::ok(spec, Duration::from_secs(1));
        if spec.role == TaskRole::Memory {
            t.launch_error = Some("out of capacity".into());
        }
        t
    }));
    let mut stored = plan(dir.path(), tests.clone(), 2);
    stored.suite.sizes = vec![TaskSize::parse("0.5x1").unwrap()];
    let first = run(failing, stored, std::future::pending()).await.unwrap();

    // The suite a resume loads is the stored one, whatever the default would be.
    let suite = Suite::load(
        crate::suite::SuiteSource::Resumed(&first.dir),
        &crate::suite::SuiteOverrides::default(),
    )
    .unwrap();
    assert_eq!(suite, first.meta.suite);
    let resumed = RunPlan {
        suite: suite.clone(),
        resume: Some(first.dir.clone()),
        ..plan(dir.path(), tests.clone(), 2)
    };
    let pending: Vec<String> = resumed
        .pending_items()
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(pending
        .iter()
        .all(|id| id.contains("0.5x1") && id.contains("mem")));
    assert_eq!(
        preview_specs(&resumed, Duration::from_secs(30))
            .unwrap()
            .len(),
        2,
        "one memory task each"
    );
    check_resumable(&first.dir, "fake", &suite).unwrap();

    // Only the concurrency may change; another backend or another suite is refused.
    let overrides = crate::suite::SuiteOverrides {
        concurrency: Some(4),
        ..Default::default()
    };
    let faster = Suite::load(crate::suite::SuiteSource::Resumed(&first.dir), &overrides).unwrap();
    check_resumable(&first.dir, "fake", &faster).unwrap();
    let overrides = crate::suite::SuiteOverrides {
        sizes: vec!["1x2".into()],
        ..Default::default()
    };
    let err = Suite::load(crate::suite::SuiteSource::Resumed(&first.dir), &overrides).unwrap_err();
    assert!(matches!(err, BenchError::Resume { .. }), "{err}");
    let err = check_resumable(&first.dir, "ecs", &suite).unwrap_err();
    assert!(err.to_string().contains("--backend fake --resume"), "{err}");
    let default = plan(dir.path(), tests, 2); // 1x2: the shape of the D1 defect
    let err = check_resumable(&first.dir, "fake", &default.suite).unwrap_err();
    assert!(err.to_string().contains("not the one stored"), "{err}");
    let platform = Arc::new(all_ok());
    let wrong = RunPlan {
        resume: Some(first.dir.clone()),
        ..default
    };
    let err = run(platform.clone(), wrong, std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(err, BenchError::Resume { .. }), "{err}");
    assert!(platform.calls().launched.is_empty(), "nothing ran");
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_stops_every_task_and_keeps_what_finished() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Arc::new(FakePlatform::new(|spec| {
        FakeTask::ok(spec, Duration::from_secs(10))
    }));
    let shutdown = tokio::time::sleep(Duration::from_secs(25));
    let err = run(
        platform.clone(),
        plan(dir.path(), vec![test(TestKind::TCP_RR, "rr")], 3),
        shutdown,
    )
    .await
    .unwrap_err();
    let BenchError::Interrupted { dir: results } = err else {
        panic!("{err}")
    };
    let (meta, records) = store::load(&results).unwrap();
    assert_eq!(meta.status, RunStatus::Interrupted);
    assert_eq!(records.len(), 2, "two items of 10 s finished before 25 s");
    assert!(records.iter().all(|r| r.status == ItemStatus::Ok));
    let calls = platform.calls();
    assert_eq!(calls.swept.len(), 1);
    assert_eq!(calls.swept[0].0.as_deref(), Some(meta.run_id.as_str()));
    assert!(
        !calls.swept[0].1.is_empty(),
        "the third item's tasks were swept"
    );
    assert!(platform.still_running().is_empty());
    assert_eq!(
        calls.finished, 1,
        "shared resources removed on interrupt too"
    );
}

/// Issue 24: a refill test's server is told to allow every phase (`--max-duration`), its client
/// is given the idle times, and the client's deadline counts the drain, every re-burst and
/// every idle time: a client that outlasts what one capped test is given is still waited for.
#[tokio::test(start_paused = true)]
async fn a_refill_test_is_launched_and_waited_for_with_every_phase() {
    let dir = tempfile::tempdir().unwrap();
    // Longer than 2 x 1000 + 90 s (the cap alone), within 2 x (1000 + 5 + 1000) + 90 s.
    let platform = Arc::new(FakePlatform::new(|spec| {
        FakeTask::ok(spec, Duration::from_secs(3000))
    }));
    // Its worst case, 2005 s, is over the server's default cap of 1800 s.
    let refill = TestSpec {
        name: Some("refill".into()),
        max_duration: Some(1000.0),
        baseline_hold: Some(3.0),
        refill: vec!["5s".into()],
        ..TestSpec::new(TestKind::TCP_STREAM)
    };
    let outcome = run(
        platform.clone(),
        plan(dir.path(), vec![refill], 1),
        std::future::pending(),
    )
    .await
    .unwrap();
    let rec = record(&outcome.records, "refill");
    assert_eq!(rec.status, ItemStatus::Ok, "{:?}", rec.reason);
    assert!(
        rec.reports[0].warnings.is_empty(),
        "{:?}",
        rec.reports[0].warnings
    );
    let calls = platform.calls();
    let args = |role| {
        calls
            .launched
            .iter()
            .find(|s| s.role == role)
            .unwrap()
            .args
            .clone()
    };
    let has = |args: &[String], flag: &str, value: &str| {
        args.windows(2).any(|w| w[0] == flag && w[1] == value)
    };
    let server = args(TaskRole::Server);
    assert!(has(&server, "--max-duration", "2005"), "{server:?}");
    let client = args(TaskRole::Client);
    assert!(has(&client, "--refill", "5s"), "{client:?}");
    assert!(has(&client, "--time", "1000"), "{client:?}");
}

/// Issue 24, item 2: a shared-bucket test is one test of two phases on a `--once` server: the
/// server is told to allow both (`--max-duration`), the client is asked for the other
/// direction, and its deadline counts both phases at the cap.
#[tokio::test(start_paused = true)]
async fn a_shared_bucket_test_is_launched_and_waited_for_with_both_phases() {
    let dir = tempfile::tempdir().unwrap();
    // Longer than 2 x 1000 + 90 s (one phase alone), within 2 x 2000 + 90 s.
    let platform = Arc::new(FakePlatform::new(|spec| {
        FakeTask::ok(spec, Duration::from_secs(3000))
    }));
    let shared = TestSpec {
        name: Some("shared".into()),
        max_duration: Some(1000.0),
        baseline_hold: Some(3.0),
        shared_bucket: true,
        ..TestSpec::new(TestKind::TCP_STREAM)
    };
    let outcome = run(
        platform.clone(),
        plan(dir.path(), vec![shared], 1),
        std::future::pending(),
    )
    .await
    .unwrap();
    let rec = record(&outcome.records, "shared");
    assert_eq!(rec.status, ItemStatus::Ok, "{:?}", rec.reason);
    let calls = platform.calls();
    let args = |role| {
        calls
            .launched
            .iter()
            .find(|s| s.role == role)
            .unwrap()
            .args
            .clone()
    };
    let server = args(TaskRole::Server);
    assert!(
        server
            .windows(2)
            .any(|w| w[0] == "--max-duration" && w[1] == "2000"),
        "{server:?}"
    );
    assert!(server.contains(&"--once".to_owned()), "{server:?}");
    let client = args(TaskRole::Client);
    assert!(client.contains(&"--shared-bucket".to_owned()), "{client:?}");
    assert!(
        client
            .windows(2)
            .any(|w| w[0] == "--time" && w[1] == "1000"),
        "{client:?}"
    );
}
