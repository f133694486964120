//! Stopping: Ctrl-C mid-run and while tasks are pending, StopTask's "not found" for a fresh
//! task, a task launched as Ctrl-C arrives, and `cleanup` through every ListTasks page.

use super::harness::*;
use super::*;

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
