//! The operator policy of deploy/cloudformation.yaml grants exactly what the ECS controller
//! calls (issue 23, item 6): an operator who is not an administrator gets it attached, so an
//! SDK call the policy lacks would fail on AWS with AccessDenied, on a real account only.
//!
//! The calls are read from the controller's source: every `CLIENT.operation()` on a field
//! declared `NAME: aws_sdk_SERVICE::Client` under `src/platform/ecs/`. Each becomes its IAM
//! action (`run_task` on the ECS client is `ecs:RunTask`). The policy is read from the
//! template's `OperatorPolicy` resource, statement by statement (only `Effect: Allow`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex_lite::Regex;

use crate::common::repo;

/// The IAM service prefix of each SDK crate the controller may hold a client of.
const SERVICES: [(&str, &str); 2] = [("ecs", "ecs"), ("cloudwatchlogs", "logs")];

/// Methods of an SDK `Client` that are not API operations.
const NOT_OPERATIONS: [&str; 2] = ["clone", "config"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `run_task` -> `RunTask`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The IAM actions the controller's source calls, each with the first place that calls it.
fn called_actions(sources: &[(String, String)]) -> Vec<(String, String)> {
    let field = Regex::new(r"(\w+)\s*:\s*aws_sdk_(\w+)::Client\b").unwrap();
    let mut clients = Vec::new();
    for (_, text) in sources {
        for c in field.captures_iter(text) {
            let service = &c[2];
            let prefix = SERVICES
                .iter()
                .find(|(krate, _)| *krate == service)
                .map(|(_, prefix)| *prefix)
                .unwrap_or_else(|| {
                    panic!(
                        "the controller holds an aws_sdk_{service}::Client ({}); add its IAM \
                         prefix to SERVICES here and its actions to OperatorPolicy",
                        &c[1]
                    )
                });
            clients.push((c[1].to_owned(), prefix));
        }
    }
    assert!(
        !clients.is_empty(),
        "no `NAME: aws_sdk_SERVICE::Client` field under src/platform/ecs: the scan no longer \
         finds the SDK clients; update it"
    );
    let mut found: Vec<(String, String)> = Vec::new();
    for (name, prefix) in &clients {
        // `self.ecs.run_task()`, also across lines (`self\n.ecs\n.run_task()`).
        let call = Regex::new(&format!(r"\b{name}\s*\.\s*([a-z][a-z0-9_]*)\(\)")).unwrap();
        for (path, text) in sources {
            for c in call.captures_iter(text) {
                let method = &c[1];
                if NOT_OPERATIONS.contains(&method) {
                    continue;
                }
                let action = format!("{prefix}:{}", camel(method));
                if !found.iter().any(|(a, _)| *a == action) {
                    found.push((action, format!("{path} ({name}.{method}())")));
                }
            }
        }
    }
    found
}

fn controller_sources() -> Vec<(String, String)> {
    let root = repo().join("crates/fargate-bench/src/platform/ecs");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.strip_prefix(repo()).unwrap_or(&p).display().to_string();
            (name, text)
        })
        .collect()
}

/// One statement of a policy: its effect, actions and the lines it is written in.
#[derive(Debug)]
struct Statement {
    effect: String,
    actions: Vec<String>,
    lines: Vec<String>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The scalar after `key:` on its line, or the `- item`s (or `[a, b]`) under it.
fn values(lines: &[String], key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start().trim_start_matches("- ");
        let Some(rest) = t.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let rest = rest.trim();
        if let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            out.extend(
                inner
                    .split(',')
                    .map(|v| v.trim().trim_matches('"').to_owned()),
            );
        } else if !rest.is_empty() {
            out.push(rest.trim_matches('"').to_owned());
        } else {
            let depth = indent(line);
            for item in &lines[i + 1..] {
                if indent(item) <= depth && !item.trim_start().starts_with("- ") {
                    break;
                }
                match item.trim_start().strip_prefix("- ") {
                    Some(v) if indent(item) >= depth => out.push(v.trim().to_owned()),
                    _ => break,
                }
            }
        }
    }
    out
}

/// The statements of the managed policy `resource` in the template's text.
fn policy(template: &str, resource: &str) -> Vec<Statement> {
    let header = format!("  {resource}:");
    let lines: Vec<&str> = template.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == header)
        .unwrap_or_else(|| panic!("no resource {resource} in deploy/cloudformation.yaml"));
    let block: Vec<String> = lines[start + 1..]
        .iter()
        .take_while(|l| l.is_empty() || indent(l) > 2)
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| l.to_string())
        .collect();
    let statement_at = block
        .iter()
        .position(|l| l.trim() == "Statement:")
        .unwrap_or_else(|| panic!("{resource} has no Statement list"));
    let item_indent = indent(&block[statement_at + 1]);
    let mut statements: Vec<Vec<String>> = Vec::new();
    for line in &block[statement_at + 1..] {
        if indent(line) < item_indent {
            break;
        }
        if indent(line) == item_indent && line.trim_start().starts_with("- ") {
            statements.push(Vec::new());
        }
        statements.last_mut().unwrap().push(line.clone());
    }
    statements
        .into_iter()
        .map(|lines| Statement {
            effect: values(&lines, "Effect").concat(),
            actions: values(&lines, "Action"),
            lines,
        })
        .collect()
}

fn template() -> String {
    std::fs::read_to_string(repo().join("deploy/cloudformation.yaml")).unwrap()
}

/// What is wrong with `template`'s operator policy against the calls: each line names the
/// action and why. Empty when the policy is right.
fn problems(template: &str, calls: &[(String, String)]) -> Vec<String> {
    let statements = policy(template, "OperatorPolicy");
    let allowed: Vec<&Statement> = statements.iter().filter(|s| s.effect == "Allow").collect();
    let granted: BTreeSet<&str> = allowed
        .iter()
        .flat_map(|s| s.actions.iter().map(String::as_str))
        .collect();
    let mut problems = Vec::new();
    for (action, at) in calls {
        if !granted.contains(action.as_str()) {
            problems.push(format!(
                "{action} is called ({at}) but OperatorPolicy does not allow it: add it to \
                 OperatorPolicy in deploy/cloudformation.yaml"
            ));
        }
    }
    // Exactly: an ECS or Logs action the controller no longer calls is not granted.
    for action in &granted {
        let sdk = action.starts_with("ecs:") || action.starts_with("logs:");
        if sdk && *action != "ecs:TagResource" && !calls.iter().any(|(a, _)| a == action) {
            problems.push(format!(
                "{action} is allowed by OperatorPolicy but the controller never calls it: \
                 remove it"
            ));
        }
    }
    // Tags on RunTask and RegisterTaskDefinition need ecs:TagResource, for those two only.
    let tagging: Vec<&&Statement> = allowed
        .iter()
        .filter(|s| s.actions.iter().any(|a| a == "ecs:TagResource"))
        .collect();
    let create_actions: Vec<String> = tagging
        .iter()
        .flat_map(|s| values(&s.lines, "ecs:CreateAction"))
        .collect();
    for creating in ["RunTask", "RegisterTaskDefinition"] {
        if !create_actions.iter().any(|a| a == creating) {
            problems.push(format!(
                "ecs:TagResource is not allowed for ecs:CreateAction {creating}: {creating} \
                 is sent with tags, and tag-on-create needs it"
            ));
        }
    }
    if tagging
        .iter()
        .any(|s| values(&s.lines, "ecs:CreateAction").is_empty())
    {
        problems.push(
            "ecs:TagResource is allowed without an ecs:CreateAction condition: that tags any \
             resource"
                .into(),
        );
    }
    // The task definitions name the execution role: iam:PassRole on it, to ecs-tasks only.
    let pass: Vec<&&Statement> = allowed
        .iter()
        .filter(|s| s.actions.iter().any(|a| a == "iam:PassRole"))
        .collect();
    if pass.is_empty() {
        problems.push("iam:PassRole (the execution role) is not allowed".into());
    }
    for s in pass {
        if values(&s.lines, "Resource") != ["!GetAtt ExecutionRole.Arn"] {
            problems.push(format!(
                "iam:PassRole is allowed on {:?}, not on the execution role alone",
                values(&s.lines, "Resource")
            ));
        }
        if values(&s.lines, "iam:PassedToService") != ["ecs-tasks.amazonaws.com"] {
            problems.push(
                "iam:PassRole is not limited to iam:PassedToService ecs-tasks.amazonaws.com".into(),
            );
        }
    }
    problems
}

#[test]
fn the_operator_policy_allows_every_sdk_operation_the_controller_calls() {
    let calls = called_actions(&controller_sources());
    // The scan sees the calls the controller cannot work without; were it blind, the policy
    // check below would pass on nothing.
    for core in ["ecs:RunTask", "ecs:DescribeTasks", "logs:GetLogEvents"] {
        assert!(
            calls.iter().any(|(a, _)| a == core),
            "the scan of src/platform/ecs found no {core}: {calls:?}"
        );
    }
    let problems = problems(&template(), &calls);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check above can fail: the template with one action, the tag-on-create condition or the
/// PassRole condition taken out is refused, naming what is missing.
#[test]
fn a_policy_missing_an_action_or_condition_is_refused_naming_it() {
    let calls = called_actions(&controller_sources());
    let text = template();
    // Each line as the template writes it, and what the check must then say.
    for (line, named) in [
        ("Action: logs:GetLogEvents", "logs:GetLogEvents is called"),
        ("- ecs:StopTask", "ecs:StopTask is called"),
        (
            "- ecs:DescribeTaskDefinition",
            "ecs:DescribeTaskDefinition is called",
        ),
        (
            "- RegisterTaskDefinition",
            "ecs:CreateAction RegisterTaskDefinition",
        ),
        (
            "Action: iam:PassRole",
            "iam:PassRole (the execution role) is not allowed",
        ),
        (
            "iam:PassedToService: ecs-tasks.amazonaws.com",
            "ecs-tasks.amazonaws.com",
        ),
    ] {
        let mut lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim() == line)
            .unwrap_or_else(|| panic!("no line {line:?} in the template; update this test"));
        lines.remove(at);
        let problems = problems(&lines.join("\n"), &calls);
        assert!(
            problems.iter().any(|p| p.contains(named)),
            "removing {line:?} went unnoticed: {problems:?}"
        );
    }
    // An action granted that nothing calls is named too (the policy is exact).
    let extra = text.replacen(
        "- ecs:StopTask",
        "- ecs:StopTask\n              - ecs:DeleteCluster",
        1,
    );
    let problems = problems(&extra, &calls);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("ecs:DeleteCluster is allowed")),
        "{problems:?}"
    );
}

/// The scan reads calls the way the controller writes them, and ignores what is not an
/// operation.
#[test]
fn the_scan_maps_client_calls_to_iam_actions() {
    let source = "struct P { ecs: aws_sdk_ecs::Client, logs: aws_sdk_cloudwatchlogs::Client }\n\
                  fn f(p: &P) { p.ecs\n    .run_task()\n    .send(); let c = p.logs.clone();\n\
                  p.logs.describe_log_groups(); self.settings.validate(); }\n";
    let calls = called_actions(&[("x.rs".into(), source.into())]);
    let actions: Vec<&str> = calls.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["ecs:RunTask", "logs:DescribeLogGroups"]);
}
