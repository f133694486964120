//! scripts/deploy.sh says what is wrong with a combination before it deploys anything (issue
//! 11, item 11): these run without AWS, since the checks come before the first aws call.

use std::path::Path;
use std::process::Command;

fn deploy(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/deploy.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        // An empty PATH for aws: were a check missed, the script would stop at "aws CLI".
        .env("PATH", "/usr/bin:/bin")
        .env_remove("STACK")
        .env_remove("REGION")
        .env_remove("EXISTING_VPC")
        .env_remove("EXISTING_SUBNET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_combinations_are_named_before_anything_is_deployed() {
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("EXISTING_SUBNET", "subnet-1")], "needs EXISTING_VPC"),
        (&[("EXISTING_VPC", "vpc-1")], "needs EXISTING_SUBNET"),
        (&[("STACK", "Bench_1")], "lower-case"),
        (&[("CPU_ARCHITECTURE", "arm")], "X86_64 or ARM64"),
        (&[("CAPACITY_PROVIDER", "EC2")], "FARGATE_SPOT"),
        (&[("ASSIGN_PUBLIC_IP", "yes")], "true or false"),
    ];
    for (env, needle) in cases {
        let (code, stderr) = deploy(env);
        assert_eq!(code, Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(needle), "{env:?}: {stderr}");
    }
}

/// A PATH of this machine's tools without any `aws`, and a second one whose `aws` is a
/// recorder (it logs its arguments and answers nothing): the checks hold whether or not the
/// machine has an aws CLI (issue 22, D7: the test returned early, passing, when it had one).
fn paths(tmp: &Path) -> (String, String, std::path::PathBuf) {
    let tools = tmp.join("tools");
    std::fs::create_dir(&tools).unwrap();
    for dir in ["/usr/bin", "/bin"] {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name();
            let link = tools.join(&name);
            if name != "aws" && std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(entry.path(), link).unwrap();
            }
        }
    }
    let recorder = tmp.join("recorder");
    std::fs::create_dir(&recorder).unwrap();
    let log = tmp.join("aws-calls");
    let aws = recorder.join("aws");
    std::fs::write(
        &aws,
        format!("#!/bin/sh\necho \"$*\" >> {}\nexit 1\n", log.display()),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&aws).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&aws, perms).unwrap();
    let without = tools.display().to_string();
    let with = format!("{}:{}", recorder.display(), without);
    (without, with, log)
}

#[test]
fn a_good_combination_reaches_the_aws_step() {
    let tmp = tempfile::tempdir().unwrap();
    let (without_aws, with_recorder, log) = paths(tmp.path());
    let good = [
        ("STACK", "bench-2"),
        ("EXISTING_VPC", "vpc-1"),
        ("EXISTING_SUBNET", "subnet-1"),
    ];
    let (code, stderr) = deploy(&[&good[..], &[("PATH", without_aws.as_str())]].concat());
    assert_eq!(code, Some(2));
    assert!(stderr.contains("aws CLI is needed"), "{stderr}");
    assert!(!log.exists());

    // With an aws CLI, the first call is the region lookup, and nothing answers it.
    let (code, stderr) = deploy(&[&good[..], &[("PATH", with_recorder.as_str())]].concat());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no region"), "{stderr}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().next(),
        Some("configure get region"),
        "{calls}"
    );
}
