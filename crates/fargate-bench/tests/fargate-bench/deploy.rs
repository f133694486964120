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

#[test]
fn a_good_combination_reaches_the_aws_step() {
    if Command::new("sh")
        .args(["-c", "PATH=/usr/bin:/bin command -v aws"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return; // an aws CLI here would try to deploy; the check above is what matters
    }
    let (code, stderr) = deploy(&[
        ("STACK", "bench-2"),
        ("EXISTING_VPC", "vpc-1"),
        ("EXISTING_SUBNET", "subnet-1"),
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("aws CLI is needed"), "{stderr}");
}
