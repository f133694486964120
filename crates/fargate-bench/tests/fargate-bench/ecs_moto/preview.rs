//! `--dry-run`: the task definitions, RunTask requests and cost estimate, without AWS; a
//! second stack beside the first.

use super::harness::*;
use super::*;

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
