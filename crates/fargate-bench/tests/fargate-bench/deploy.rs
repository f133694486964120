//! scripts/deploy.sh says what is wrong with a combination before it deploys anything (issue
//! 11, item 11), and deploys the first time and the second (issue 23, item 5). These run
//! without AWS: the checks come before the first aws call, and past them a fake `aws` on PATH
//! plays the CLI (it answers from `FAKE_*` variables and logs every call), so each test reads
//! which calls the script made and what it wrote. push-images.sh's manifest list is checked
//! the same way, with a fake `docker`.

use std::path::{Path, PathBuf};
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
        .env_remove("EXISTING_SUBNET")
        .env_remove("AZ")
        .env_remove("CONFIG")
        .env_remove("ASSIGN_PUBLIC_IP")
        .env_remove("CPU_ARCHITECTURE")
        .env_remove("CAPACITY_PROVIDER");
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
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("EXISTING_SUBNET", "subnet-1")], "needs EXISTING_VPC"),
        (&[("EXISTING_VPC", "vpc-1")], "needs EXISTING_SUBNET"),
        (&[("STACK", "Bench_1")], "lower-case"),
        (&[("CPU_ARCHITECTURE", "arm")], "X86_64 or ARM64"),
        (&[("CAPACITY_PROVIDER", "EC2")], "FARGATE_SPOT"),
        (&[("ASSIGN_PUBLIC_IP", "yes")], "true or false"),
        (
            &[
                ("AZ", "us-east-1b"),
                ("EXISTING_VPC", "vpc-1"),
                ("EXISTING_SUBNET", "subnet-1"),
            ],
            "already in its own AZ",
        ),
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
fn paths(tmp: &Path) -> (String, String, PathBuf) {
    let tools = tools_without_aws(tmp);
    let recorder = tmp.join("recorder");
    std::fs::create_dir(&recorder).unwrap();
    let log = tmp.join("aws-calls");
    executable(
        &recorder.join("aws"),
        &format!("#!/bin/sh\necho \"$*\" >> {}\nexit 1\n", log.display()),
    );
    let without = tools.display().to_string();
    let with = format!("{}:{}", recorder.display(), without);
    (without, with, log)
}

/// A directory of links to this machine's tools, without any `aws`.
fn tools_without_aws(tmp: &Path) -> PathBuf {
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
    tools
}

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
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

/// The aws CLI as deploy.sh uses it. Every call is appended to `FAKE_AWS_LOG`; the answers:
/// - `iam get-role`: found with `FAKE_SLR_EXISTS=1`, else NoSuchEntity; `iam
///   create-service-linked-role` fails with AccessDenied under `FAKE_SLR_DENIED=1`.
/// - `cloudformation describe-stacks`: the status `FAKE_STACK_STATUS`, or "does not exist"
///   when it is unset; an output query answers `OUT-<key>`.
/// - `cloudformation deploy` on an existing stack (`FAKE_STACK_STATUS` set) and an unchanged
///   template exits 255 with "No changes to deploy" unless given
///   `--no-fail-on-empty-changeset`, as the CLI does.
/// - `ec2 describe-route-tables`: `FAKE_ROUTES` (the subnet's own table; the main table has
///   none); `ec2 describe-vpc-endpoints`: `FAKE_ENDPOINTS`; `ec2 describe-availability-zones`:
///   two zones of us-east-1.
const FAKE_AWS: &str = r#"#!/bin/sh
echo "$*" >> "$FAKE_AWS_LOG"
case "$1 $2" in
  "configure get") echo us-east-1 ;;
  "iam get-role")
    [ "${FAKE_SLR_EXISTS:-}" = 1 ] && exit 0
    echo "An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name AWSServiceRoleForECS cannot be found." >&2
    exit 254 ;;
  "iam create-service-linked-role")
    if [ "${FAKE_SLR_DENIED:-}" = 1 ]; then
      echo "An error occurred (AccessDenied) when calling the CreateServiceLinkedRole operation: User: arn:aws:iam::1:user/op is not authorized to perform: iam:CreateServiceLinkedRole" >&2
      exit 254
    fi
    echo '{"Role": {"RoleName": "AWSServiceRoleForECS"}}' ;;
  "cloudformation describe-stacks")
    case "$*" in
      *StackStatus*)
        if [ -n "${FAKE_STACK_STATUS:-}" ]; then echo "$FAKE_STACK_STATUS"; exit 0; fi
        echo "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id bench does not exist" >&2
        exit 254 ;;
      *) echo "$*" | sed -n "s/.*OutputKey=='\([A-Za-z]*\)'.*/OUT-\1/p" ;;
    esac ;;
  "cloudformation deploy")
    case "$*" in
      *--no-fail-on-empty-changeset*) ;;
      *) if [ -n "${FAKE_STACK_STATUS:-}" ]; then
           printf '\nWaiting for changeset to be created..\n\nNo changes to deploy. Stack bench is up to date\n' >&2
           exit 255
         fi ;;
    esac ;;
  "ec2 describe-subnets") echo vpc-1 ;;
  "ec2 describe-route-tables")
    case "$*" in
      *association.main*) ;;
      *) printf '%s\n' "${FAKE_ROUTES:-}" ;;
    esac ;;
  "ec2 describe-vpc-endpoints") printf '%s\n' "${FAKE_ENDPOINTS:-}" ;;
  "ec2 describe-availability-zones") printf 'us-east-1a\tuse1-az4\nus-east-1b\tuse1-az6\n' ;;
  *) echo "fake aws: unexpected call: $*" >&2; exit 99 ;;
esac
"#;

/// deploy.sh against the fake aws: its exit code, stderr, the aws calls (one a line) and the
/// config it wrote (empty when none).
struct Deployed {
    code: Option<i32>,
    stderr: String,
    calls: String,
    config: String,
}

impl Deployed {
    /// The `cloudformation deploy` call, if one was made.
    fn deploy_call(&self) -> Option<&str> {
        self.calls
            .lines()
            .find(|l| l.starts_with("cloudformation deploy"))
    }
}

fn deploy_with_fake_aws(env: &[(&str, &str)]) -> Deployed {
    let tmp = tempfile::tempdir().unwrap();
    let tools = tools_without_aws(tmp.path());
    let fake = tmp.path().join("fake");
    std::fs::create_dir(&fake).unwrap();
    executable(&fake.join("aws"), FAKE_AWS);
    let log = tmp.path().join("aws-calls");
    let config = tmp.path().join("ecs.toml");
    let path = format!("{}:{}", fake.display(), tools.display());
    let base = [
        ("PATH", path.as_str()),
        ("FAKE_AWS_LOG", log.to_str().unwrap()),
        ("CONFIG", config.to_str().unwrap()),
        ("STACK", "bench"),
        ("REGION", "us-east-1"),
    ];
    let (code, stderr) = deploy(&[&base[..], env].concat());
    Deployed {
        code,
        stderr,
        calls: std::fs::read_to_string(&log).unwrap_or_default(),
        config: std::fs::read_to_string(&config).unwrap_or_default(),
    }
}

const PRIVATE: [(&str, &str); 3] = [
    ("EXISTING_VPC", "vpc-1"),
    ("EXISTING_SUBNET", "subnet-1"),
    ("ASSIGN_PUBLIC_IP", "false"),
];

const ALL_ENDPOINTS: &str = "com.amazonaws.us-east-1.ecr.api\tcom.amazonaws.us-east-1.ecr.dkr\t\
                             com.amazonaws.us-east-1.s3\tcom.amazonaws.us-east-1.logs";

/// Issue 23 / review N5: the subnet the stack creates is public (internet gateway, no NAT, no
/// endpoints), so tasks without a public IP could not pull their image. Refused before any
/// call, naming the ways out; with the default (true) the same deploy goes through.
#[test]
fn assign_public_ip_false_is_refused_with_the_public_subnet_the_stack_creates() {
    let out = deploy_with_fake_aws(&[("ASSIGN_PUBLIC_IP", "false"), ("FAKE_SLR_EXISTS", "1")]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    for needle in [
        "ASSIGN_PUBLIC_IP=false",
        "cannot pull",
        "NAT",
        "EXISTING_SUBNET",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    assert!(out.calls.is_empty(), "no aws call: {}", out.calls);
    assert!(out.config.is_empty());

    let out = deploy_with_fake_aws(&[("FAKE_SLR_EXISTS", "1")]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.config.contains("assign_public_ip = true"),
        "{}",
        out.config
    );
}

/// ASSIGN_PUBLIC_IP=false is accepted for an existing subnet that routes through a NAT gateway
/// or whose VPC has every endpoint a task pulls and logs through; with an endpoint missing it is
/// refused naming that endpoint, and with an internet gateway route naming the public IP.
#[test]
fn a_private_subnet_needs_a_nat_route_or_every_endpoint_and_a_missing_one_is_named() {
    let ok = |extra: &[(&str, &str)]| {
        let out =
            deploy_with_fake_aws(&[&PRIVATE[..], &[("FAKE_SLR_EXISTS", "1")], extra].concat());
        assert_eq!(out.code, Some(0), "{extra:?}: {}", out.stderr);
        assert!(
            out.config.contains("assign_public_ip = false"),
            "{}",
            out.config
        );
        assert!(
            out.config.contains("subnet = \"OUT-Subnet\""),
            "{}",
            out.config
        );
    };
    ok(&[("FAKE_ROUTES", "None\tnat-0abc\tNone\tNone")]);
    ok(&[("FAKE_ENDPOINTS", ALL_ENDPOINTS)]);

    let without_logs = ALL_ENDPOINTS.replace("\tcom.amazonaws.us-east-1.logs", "");
    let out = deploy_with_fake_aws(&[&PRIVATE[..], &[("FAKE_ENDPOINTS", &without_logs)]].concat());
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("com.amazonaws.us-east-1.logs") && !out.stderr.contains("ecr.dkr"),
        "{}",
        out.stderr
    );
    assert_eq!(out.deploy_call(), None);

    let out = deploy_with_fake_aws(
        &[&PRIVATE[..], &[("FAKE_ROUTES", "igw-1\tNone\tNone\tNone")]].concat(),
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("ASSIGN_PUBLIC_IP=true"),
        "{}",
        out.stderr
    );
    assert_eq!(out.deploy_call(), None);
}

/// Review N3: a stack whose first deploy failed sits in ROLLBACK_COMPLETE, which CloudFormation
/// can only delete. deploy.sh says so with the exact commands and deploys nothing (no
/// service-linked role either).
#[test]
fn a_stack_in_rollback_complete_is_named_with_its_delete_command_and_nothing_is_deployed() {
    let out = deploy_with_fake_aws(&[("FAKE_STACK_STATUS", "ROLLBACK_COMPLETE")]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("ROLLBACK_COMPLETE"), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "aws cloudformation delete-stack --region us-east-1 --stack-name bench && \
             aws cloudformation wait stack-delete-complete --region us-east-1 --stack-name bench"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.deploy_call(), None, "{}", out.calls);
    assert!(!out.calls.contains("iam "), "{}", out.calls);
    assert!(out.config.is_empty());
}

/// Review N3: in a brand-new account the cluster cannot be created before the ECS
/// service-linked role exists. deploy.sh creates it when get-role fails, before deploying; it
/// leaves an existing one alone; and a caller who may not create it is told what to ask for.
#[test]
fn the_ecs_service_linked_role_is_created_when_get_role_fails() {
    let out = deploy_with_fake_aws(&[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let calls: Vec<&str> = out.calls.lines().collect();
    let created = calls
        .iter()
        .position(|l| *l == "iam create-service-linked-role --aws-service-name ecs.amazonaws.com")
        .unwrap_or_else(|| panic!("no service-linked role created: {}", out.calls));
    let deployed = calls
        .iter()
        .position(|l| l.starts_with("cloudformation deploy"))
        .unwrap();
    assert!(created < deployed, "{}", out.calls);
    assert!(
        out.stderr.contains("created the ECS service-linked role"),
        "{}",
        out.stderr
    );

    let out = deploy_with_fake_aws(&[("FAKE_SLR_EXISTS", "1")]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out
        .calls
        .contains("iam get-role --role-name AWSServiceRoleForECS"));
    assert!(
        !out.calls.contains("create-service-linked-role"),
        "{}",
        out.calls
    );

    let out = deploy_with_fake_aws(&[("FAKE_SLR_DENIED", "1")]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    for needle in [
        "AWSServiceRoleForECS",
        "iam:CreateServiceLinkedRole",
        "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    assert_eq!(out.deploy_call(), None);
}

/// Review N4: re-running deploy.sh on an unchanged stack (to write the config again, or with
/// another CPU_ARCHITECTURE) passes --no-fail-on-empty-changeset, so the CLI's "No changes to
/// deploy" is not an error and the config is written with the new settings.
#[test]
fn a_second_run_on_an_unchanged_stack_passes_no_fail_on_empty_changeset_and_writes_the_config() {
    let out = deploy_with_fake_aws(&[
        ("FAKE_STACK_STATUS", "CREATE_COMPLETE"),
        ("FAKE_SLR_EXISTS", "1"),
        ("CPU_ARCHITECTURE", "ARM64"),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let call = out.deploy_call().unwrap();
    assert!(call.contains("--no-fail-on-empty-changeset"), "{call}");
    assert!(
        out.config.contains("cpu_architecture = \"ARM64\""),
        "{}",
        out.config
    );
    assert!(
        out.config.contains("cluster = \"OUT-Cluster\""),
        "{}",
        out.config
    );
    assert!(
        out.stderr.contains("OUT-OperatorPolicyArn"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("OUT-DeployerPolicyArn"),
        "{}",
        out.stderr
    );
}

/// Review N19: AZ= reaches the template's AvailabilityZone parameter, given as a zone name or
/// as an AZ ID (the same zone in every account); a zone the region lacks is refused listing
/// its zones; without AZ the parameter is empty (the template takes the region's first).
#[test]
fn az_is_passed_to_the_template_by_name_or_az_id_and_an_unknown_zone_is_refused() {
    for (az, zone) in [("us-east-1b", "us-east-1b"), ("use1-az6", "us-east-1b")] {
        let out = deploy_with_fake_aws(&[("AZ", az), ("FAKE_SLR_EXISTS", "1")]);
        assert_eq!(out.code, Some(0), "{az}: {}", out.stderr);
        let call = out.deploy_call().unwrap();
        assert!(
            call.contains(&format!("AvailabilityZone={zone} "))
                || call.ends_with(&format!("AvailabilityZone={zone}")),
            "{az}: {call}"
        );
    }
    let out = deploy_with_fake_aws(&[("AZ", "us-east-1z"), ("FAKE_SLR_EXISTS", "1")]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("AZ=us-east-1z") && out.stderr.contains("us-east-1a (use1-az4)"),
        "{}",
        out.stderr
    );
    assert_eq!(out.deploy_call(), None);

    let out = deploy_with_fake_aws(&[("FAKE_SLR_EXISTS", "1")]);
    assert!(
        out.deploy_call().unwrap().ends_with("AvailabilityZone="),
        "{}",
        out.calls
    );
}

/// A docker that has the per-architecture images and answers `buildx version` when `HAS_BUILDX`
/// is set; push-images.sh runs under DRY_RUN, so nothing else is asked of it.
const FAKE_DOCKER: &str = r#"#!/bin/sh
case "$1 $2" in
  "image inspect") for last; do :; done; case "$last" in *-arm64) echo arm64;; *) echo amd64;; esac ;;
  "buildx version") [ -n "${HAS_BUILDX:-}" ] || { echo "docker: unknown command: docker buildx" >&2; exit 1; }; echo "github.com/docker/buildx v0.17.1" ;;
  *) echo "fake docker: unexpected call: $*" >&2; exit 99 ;;
esac
"#;

/// Review N6: with buildx (and so possibly BuildKit images that are indexes, which `docker
/// manifest create` refuses), push-images.sh --arch both makes the manifest list with
/// `docker buildx imagetools create`; without it, with `docker manifest` as before.
#[test]
fn push_images_makes_the_manifest_list_with_imagetools_when_buildx_is_there() {
    let tmp = tempfile::tempdir().unwrap();
    let tools = tools_without_aws(tmp.path());
    let fake = tmp.path().join("fake");
    std::fs::create_dir(&fake).unwrap();
    executable(&fake.join("docker"), FAKE_DOCKER);
    let config = tmp.path().join("ecs.toml");
    let uri = "1.dkr.ecr.us-east-1.amazonaws.com/fb/netprobe:7";
    std::fs::write(
        &config,
        format!(
            "region = \"us-east-1\"\ncpu_architecture = \"X86_64\"\nnetprobe_image = \"{uri}\"\n\
             memprobe_image = \"1.dkr.ecr.us-east-1.amazonaws.com/fb/memprobe:7\"\n"
        ),
    )
    .unwrap();
    let push = |buildx: bool| {
        let mut cmd = Command::new("bash");
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/push-images.sh"))
            .args(["--arch", "both"])
            .env("PATH", format!("{}:{}", fake.display(), tools.display()))
            .env("CONFIG", &config)
            .env("SKIP_BUILD", "1")
            .env("DRY_RUN", "1")
            .env_remove("IMAGE_PREFIX")
            .env_remove("HAS_BUILDX");
        if buildx {
            cmd.env("HAS_BUILDX", "1");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let with = push(true);
    assert!(
        with.contains(&format!(
            "docker buildx imagetools create -t {uri} {uri}-amd64 {uri}-arm64"
        )),
        "{with}"
    );
    assert!(!with.contains("docker manifest"), "{with}");
    let without = push(false);
    assert!(
        without.contains(&format!(
            "docker manifest create --amend {uri} {uri}-amd64 {uri}-arm64"
        )),
        "{without}"
    );
    assert!(
        without.contains(&format!("docker manifest push --purge {uri}")),
        "{without}"
    );
    assert!(!without.contains("imagetools"), "{without}");
}
