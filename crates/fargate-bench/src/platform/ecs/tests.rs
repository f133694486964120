//! The ECS backend's logic on its seam: the platform over the scripted ECS and Logs of
//! `fake.rs`, on tokio's paused clock. Each test names the AWS behaviour it plays and what
//! the platform must make of it (issue 23, item 9); the same paths run end to end against moto
//! behind the strict layer in `tests/fargate-bench/ecs_moto.rs`.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::fake::{throttled, Delays, Fake, World};
use super::launch::CAPACITY_BACKOFF;
use super::limiter::RateLimiter;
use super::output::{LOG_GIVE_UP, LOG_SETTLE};
use super::state::{DESCRIBE_EVERY, ECS_POLL};
use super::*;
use crate::platform::{Platform, Probe};
use crate::sizes::TaskSize;

const RUN: &str = "20270115-0a0b";

fn settings() -> EcsSettings {
    EcsSettings {
        cluster: "bench".into(),
        subnet: "subnet-1".into(),
        security_groups: vec!["sg-1".into()],
        execution_role_arn: "arn:aws:iam::123456789012:role/exec".into(),
        log_group: "/fargate-bench".into(),
        netprobe_image: "example.com/netprobe:1".into(),
        memprobe_image: "example.com/memprobe:1".into(),
        cpu_architecture: "X86_64".into(),
        capacity_provider: "FARGATE".into(),
        ..Default::default()
    }
}

fn platform_with(world: World, settings: EcsSettings) -> (EcsPlatform<Fake, Fake>, Fake) {
    let fake = Fake::new(world);
    let platform = EcsPlatform::with_api(
        fake.clone(),
        fake.clone(),
        Arc::new(RateLimiter::per_second(limiter::LOG_READS_PER_SEC)),
        settings,
        "us-east-1".into(),
    );
    (platform, fake)
}

fn platform(world: World) -> (EcsPlatform<Fake, Fake>, Fake) {
    platform_with(world, settings())
}

fn spec(role: TaskRole, item: &str) -> TaskSpec {
    TaskSpec {
        run_id: RUN.into(),
        item_id: item.into(),
        role,
        probe: if role == TaskRole::Memory {
            Probe::Memprobe
        } else {
            Probe::Netprobe
        },
        args: vec!["--quick".into()],
        env: vec![],
        size: TaskSize::parse("1x2").unwrap(),
        arch: None,
    }
}

fn has_result(lines: &[String]) -> bool {
    lines
        .iter()
        .any(|l| l.contains(probe_core::result_line::MARKER))
}

fn said(e: &crate::BenchError) -> String {
    crate::error::describe(e)
}

/// Launch, address, wait and output on Fargate's lifecycle, and the start-up the platform
/// returns with the task equals the lifecycle's delays (issue 25, item 3, on the seam).
#[tokio::test(start_paused = true)]
async fn a_server_comes_up_runs_and_is_read_with_its_start_up() {
    let d = Delays::default();
    let (p, fake) = platform(World::default());
    let start = Instant::now();
    let server = p.launch(&spec(TaskRole::Server, "1/1x2/rr")).await.unwrap();
    assert_eq!(fake.count("RegisterTaskDefinition"), 1);
    let addr = p.address(&server, SERVER_READY_TIMEOUT).await.unwrap();
    assert!(
        addr.starts_with("10.0.0.") && addr.ends_with(":5301"),
        "{addr}"
    );
    let running = d.provisioning + d.pending;
    let seen = start.elapsed();
    assert!(
        seen >= running && seen <= running + DESCRIBE_EVERY + ECS_POLL.first,
        "RUNNING at {running:?}, seen at {seen:?}"
    );
    let exit = p.wait(&server, Duration::from_secs(60)).await.unwrap();
    assert_eq!((exit.code, exit.reason.as_deref()), (Some(0), None));
    let life = exit.lifecycle.expect("ECS says how the task came up");
    assert_eq!(
        exit.platform_version.as_deref(),
        Some("1.4.0"),
        "the version DescribeTasks said the task runs on"
    );
    assert_eq!(life.created_ms, 0, "RunTask answered at once");
    assert_eq!(life.startup_ms(), Some(ms(running)), "{life:?}");
    assert_eq!(
        life.pull_started_ms,
        Some(ms(d.provisioning + d.pull_after))
    );
    assert_eq!(life.pull_ms(), Some(ms(d.pull)));
    let seen_running = life.seen_running_ms.unwrap();
    assert!(
        seen_running >= ms(running)
            && seen_running <= ms(running + DESCRIBE_EVERY + ECS_POLL.first),
        "{life:?}"
    );
    let lines = p.output(&server).await.unwrap();
    assert!(has_result(&lines), "{lines:?}");
    // The result line shows up once the probe exited and awslogs shipped it.
    assert!(start.elapsed() >= running + d.runs_for + d.log_delay);
    assert!(p.stop_run(Some(RUN)).await.unwrap().is_empty(), "it ended");
    assert_eq!(fake.alive(), 0);
    // One shared DescribeTasks a second at most.
    let described = fake.times("DescribeTasks");
    assert!(described.windows(2).all(|w| w[1] - w[0] >= DESCRIBE_EVERY));
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Capacity failures in RunTask's `failures` are retried with backoff, each attempt with a
/// fresh client token; capacity that does not come back within --capacity-wait fails the item
/// saying how long it tried.
#[tokio::test(start_paused = true)]
async fn capacity_failures_are_retried_with_fresh_tokens_then_given_up_on() {
    let (p, fake) = platform(World {
        capacity_failures: 2,
        ..World::default()
    });
    let start = Instant::now();
    p.launch(&spec(TaskRole::Memory, "1/1x2/mem"))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), CAPACITY_BACKOFF.first * 3, "2 s, then 4 s");
    assert_eq!(fake.count("RunTask"), 3);
    let tokens = fake.with(|w| w.tokens.clone());
    assert!(
        tokens[0] != tokens[1] && tokens[1] != tokens[2],
        "{tokens:?}"
    );
    let short = EcsSettings {
        capacity_wait_secs: Some(30),
        ..settings()
    };
    let (p, _) = platform_with(
        World {
            capacity_failures: u32::MAX,
            ..World::default()
        },
        short,
    );
    let e = p
        .launch(&spec(TaskRole::Memory, "1/1x2/mem"))
        .await
        .unwrap_err();
    let e = said(&e);
    assert!(
        e.contains("Capacity is unavailable")
            && e.contains("after 5 attempts over 30 s; --capacity-wait"),
        "{e}"
    );
}

/// The account's vCPU quota frees as the run's other tasks end: RunTask is retried while they
/// are alive, and fails at once naming the quota (L-3032A538) when none are.
#[tokio::test(start_paused = true)]
async fn the_vcpu_quota_waits_for_other_tasks_then_names_itself() {
    let d = Delays::default();
    let (p, fake) = platform(World {
        vcpu_quota: Some(1.0),
        ..World::default()
    });
    let start = Instant::now();
    p.launch(&spec(TaskRole::Memory, "1/1x2/a")).await.unwrap();
    p.launch(&spec(TaskRole::Memory, "1/1x2/b")).await.unwrap();
    // a holds the one vCPU until it ends; b went through at the first attempt after that.
    let a_ends = d.provisioning + d.pending + d.runs_for;
    assert!(start.elapsed() >= a_ends, "{:?}", start.elapsed());
    assert_eq!(fake.count("RunTask"), 1 + 5, "b at 0, 2, 6, 14 and 30 s");
    let (alone, _) = platform(World {
        vcpu_quota: Some(0.5),
        ..World::default()
    });
    let e = said(
        &alone
            .launch(&spec(TaskRole::Memory, "1/1x2/c"))
            .await
            .unwrap_err(),
    );
    assert!(
        e.contains("limit on the number of vCPUs") && e.contains("L-3032A538"),
        "{e}"
    );
    assert!(
        !e.contains("attempts"),
        "not retried with nothing to wait for: {e}"
    );
}

/// ECS is eventually consistent right after RunTask: a fresh ARN missing from DescribeTasks is
/// waited for, and StopTask's "not found" for it is retried until the task is old enough.
#[tokio::test(start_paused = true)]
async fn a_fresh_task_missing_from_describe_and_stop_is_not_taken_for_gone() {
    let d = Delays::default();
    let (p, fake) = platform(World {
        invisible_for: Duration::from_secs(4),
        ..World::default()
    });
    let server = p.launch(&spec(TaskRole::Server, "1/1x2/rr")).await.unwrap();
    let start = Instant::now();
    p.address(&server, SERVER_READY_TIMEOUT).await.unwrap();
    assert!(start.elapsed() >= d.provisioning + d.pending);
    let memory = p
        .launch(&spec(TaskRole::Memory, "1/1x2/mem"))
        .await
        .unwrap();
    p.stop(&memory).await.unwrap();
    assert_eq!(
        fake.count("StopTask"),
        3,
        "not found at 0 and 2 s, stopped at 4 s"
    );
    p.stop(&server).await.unwrap();
    assert_eq!(fake.alive(), 0, "both are stopped, not taken for gone");
}

/// A Spot interruption: Fargate sends SIGTERM (exit 143) and the task stops with stopCode
/// SpotInterruption; the exit says so, with what to do, and the output holds no result line.
#[tokio::test(start_paused = true)]
async fn a_spot_interruption_ends_the_task_and_says_so() {
    let spot = EcsSettings {
        capacity_provider: "FARGATE_SPOT".into(),
        ..settings()
    };
    let (p, fake) = platform_with(
        World {
            spot_interrupt: Some((TaskRole::Memory, Duration::from_secs(5))),
            providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
            ..World::default()
        },
        spot,
    );
    p.prepare_run(RUN).await.unwrap();
    assert_eq!(
        fake.count("DescribeClusters"),
        1,
        "the association is checked"
    );
    let task = p
        .launch(&spec(TaskRole::Memory, "1/1x2/mem"))
        .await
        .unwrap();
    let exit = p.wait(&task, Duration::from_secs(60)).await.unwrap();
    assert_eq!(exit.code, Some(143), "SIGTERM");
    let reason = exit.reason.unwrap();
    assert!(
        reason.contains("Your Spot Task was interrupted")
            && reason.contains("SpotInterruption")
            && reason.contains("--resume"),
        "{reason}"
    );
    let lines = p.output(&task).await.unwrap();
    assert!(!has_result(&lines), "{lines:?}");
    // A cluster without FARGATE_SPOT is refused before anything launches.
    let (p, _) = platform_with(
        World::default(),
        EcsSettings {
            capacity_provider: "FARGATE_SPOT".into(),
            ..settings()
        },
    );
    let e = said(&p.prepare_run(RUN).await.unwrap_err());
    assert!(e.contains("put-cluster-capacity-providers"), "{e}");
}

/// GetLogEvents throttling is "not yet", and empty pages with a moving token do not end a
/// read: the result line is found, and no item fails.
#[tokio::test(start_paused = true)]
async fn log_throttling_and_empty_pages_are_not_yet() {
    let (p, fake) = platform(World {
        logs_throttled: 3,
        empty_pages: 2,
        ..World::default()
    });
    let task = p
        .launch(&spec(TaskRole::Memory, "1/1x2/mem"))
        .await
        .unwrap();
    p.wait(&task, Duration::from_secs(60)).await.unwrap();
    let lines = p.output(&task).await.unwrap();
    assert!(has_result(&lines), "{lines:?}");
    let (calls, refused) = p.log_calls();
    assert_eq!(refused, 3);
    assert!(
        calls > 3 + 2,
        "3 throttled, 2 empty pages, then the events: {calls}"
    );
    // Never faster than the limiter allows.
    let reads = fake.times("GetLogEvents");
    let spacing = Duration::from_secs(1) / limiter::LOG_READS_PER_SEC;
    assert!(
        reads.windows(2).all(|w| w[1] - w[0] >= spacing),
        "{reads:?}"
    );
}

/// Throttling that outlasts the SDK's retry budget (the SDK then returns the error): an ECS
/// call fails naming the call, AWS's code and what to change; a Logs read is still "not yet"
/// and gives up only after LOG_GIVE_UP, without an error.
#[tokio::test(start_paused = true)]
async fn sustained_throttling_past_the_sdks_retries_is_named_with_its_fix() {
    let (p, fake) = platform(World::default());
    let task = p
        .launch(&spec(TaskRole::Memory, "1/1x2/mem"))
        .await
        .unwrap();
    fake.with(|w| {
        w.failing.insert("DescribeTasks", (u32::MAX, throttled()));
        w.failing.insert("RunTask", (1, throttled()));
    });
    let e = said(&p.wait(&task, Duration::from_secs(60)).await.unwrap_err());
    assert!(
        e.contains(
            "DescribeTasks [ThrottlingException]; AWS kept throttling after retries: \
             lower --concurrency"
        ),
        "{e}"
    );
    let e = said(
        &p.launch(&spec(TaskRole::Memory, "1/1x2/other"))
            .await
            .unwrap_err(),
    );
    assert!(
        e.contains("RunTask 1/1x2/other (memory) [ThrottlingException]"),
        "{e}"
    );
    fake.with(|w| w.logs_throttled = u32::MAX);
    let start = Instant::now();
    let lines = p.output(&task).await.unwrap();
    assert!(lines.is_empty(), "{lines:?}");
    let waited = start.elapsed();
    assert!(
        waited >= LOG_GIVE_UP && waited <= LOG_GIVE_UP + Duration::from_secs(6),
        "{waited:?}"
    );
    assert!(LOG_SETTLE < LOG_GIVE_UP);
}

/// Cleanup stops the tasks this process holds, then every task ListTasks finds for the run
/// (following every page), and leaves none alive.
#[tokio::test(start_paused = true)]
async fn cleanup_stops_held_tasks_and_every_listed_page() {
    let (p, fake) = platform(World {
        list_page: 2,
        ..World::default()
    });
    fake.seed(RUN, 3);
    fake.seed("another-run", 1);
    let ours = p.launch(&spec(TaskRole::Server, "1/1x2/rr")).await.unwrap();
    let stopped = p.stop_run(Some(RUN)).await.unwrap();
    assert_eq!(stopped.len(), 4, "{stopped:?}");
    assert_eq!(stopped[0], ours.0, "held ARNs first");
    assert_eq!(fake.count("ListTasks"), 2, "4 tasks in pages of 2");
    assert_eq!(fake.alive(), 1, "only the other run's task is left");
    // A failing ListTasks does not hide the held tasks, and is said.
    let (p, fake) = platform(World::default());
    p.launch(&spec(TaskRole::Memory, "1/1x2/mem"))
        .await
        .unwrap();
    fake.with(|w| {
        w.failing.insert(
            "ListTasks",
            (
                u32::MAX,
                super::api::ApiFailure {
                    code: Some("AccessDeniedException".into()),
                    message: None,
                    detail: "not authorized".into(),
                },
            ),
        )
    });
    let e = said(&p.stop_run(Some(RUN)).await.unwrap_err());
    assert!(
        e.contains("stopped 1 task(s)") && e.contains("could not list the run's other tasks"),
        "{e}"
    );
    assert_eq!(fake.alive(), 0);
}

/// The runner over the ECS seam: a pair and a memory item run, and each record keeps every
/// task's start-up, equal to the lifecycle's delays (issue 25, item 3).
#[tokio::test(start_paused = true)]
async fn the_runner_keeps_each_tasks_start_up_from_the_ecs_seam() {
    use crate::runner::{run, RunPlan};
    use crate::suite::{TestKind, TestSpec};
    let d = Delays::default();
    let (p, fake) = platform(World::default());
    let dir = tempfile::tempdir().unwrap();
    let tests = vec![
        TestSpec {
            name: Some("rr".into()),
            duration: Some(1.0),
            ..TestSpec::new(TestKind::TCP_RR)
        },
        TestSpec {
            name: Some("mem".into()),
            quick: Some(true),
            ..TestSpec::new(TestKind::Memory)
        },
    ];
    let mut suite = crate::suite::test_suite(tests, &["1x2"], &[], 1);
    suite.concurrency = 2;
    let plan = RunPlan {
        suite,
        results_root: dir.path().to_owned(),
        resume: None,
        progress: false,
    };
    let outcome = run(Arc::new(p), plan, std::future::pending())
        .await
        .unwrap();
    assert_eq!(outcome.records.len(), 2);
    let running = ms(d.provisioning + d.pending);
    let mut roles = Vec::new();
    for rec in &outcome.records {
        assert_eq!(rec.status, crate::store::ItemStatus::Ok, "{rec:?}");
        for t in &rec.lifecycles {
            roles.push(t.role.clone());
            let l = t.lifecycle;
            // RunTask answers at once; a launch paced behind another waits 60 ms first.
            assert!(l.created_ms <= 60, "{t:?}");
            assert_eq!(l.startup_ms().unwrap() - l.created_ms, running, "{t:?}");
            assert_eq!(l.pull_ms(), Some(ms(d.pull)), "{t:?}");
        }
    }
    roles.sort();
    assert_eq!(roles, ["client", "memory", "server"]);
    assert_eq!(fake.alive(), 0);
}

#[test]
fn throttling_codes_are_recognised() {
    assert!(is_throttling("ThrottlingException"));
    assert!(is_throttling("TooManyRequestsException"));
    assert!(!is_throttling("AccessDeniedException"));
}

#[test]
fn a_server_outwaits_its_clients_capacity_retries_and_start() {
    let defaults = EcsSettings::default();
    assert_eq!(
        server_idle_timeout(&defaults),
        Duration::from_secs(600 + 600 + 60),
        "--capacity-wait 600 s, then up to 600 s to start, and a minute"
    );
    let short = EcsSettings {
        capacity_wait_secs: Some(30),
        ..Default::default()
    };
    assert_eq!(server_idle_timeout(&short), Duration::from_secs(690));
    // The old allowance (the ready timeout, 300 s) was shorter than the client's retries.
    assert!(server_idle_timeout(&short) > SERVER_READY_TIMEOUT);
}

#[test]
fn the_preview_hides_secrets_and_tags_the_run() {
    let settings = EcsSettings {
        netprobe_image: "img".into(),
        ..Default::default()
    };
    let spec = TaskSpec {
        run_id: "r1".into(),
        item_id: "1/1x2/tcp-rr".into(),
        role: TaskRole::Client,
        probe: Probe::Netprobe,
        args: vec!["client".into()],
        env: vec![("NETPROBE_PSK".into(), "secret".into())],
        size: TaskSize::parse("1x2").unwrap(),
        arch: None,
    };
    let (plan, preview) = EcsPlatform::preview(&settings, "us-east-1", &spec);
    assert_eq!(plan.family, "fargate-bench-netprobe-1024-2048");
    assert_eq!(plan.cpu_architecture, "X86_64", "the settings' default");
    let arm = TaskSpec {
        arch: Some(Arch::Arm),
        ..spec.clone()
    };
    let (arm_plan, _) = EcsPlatform::preview(&settings, "us-east-1", &arm);
    assert_eq!(arm_plan.family, "fargate-bench-netprobe-arm64-1024-2048");
    assert_eq!(arm_plan.cpu_architecture, "ARM64");
    let json = serde_json::to_string(&preview).unwrap();
    assert!(!json.contains("secret") && json.contains("NETPROBE_PSK"));
    assert!(json.contains(RUN_TAG) && json.contains("r1"));
    assert_eq!(preview.command, ["client"]);
}
