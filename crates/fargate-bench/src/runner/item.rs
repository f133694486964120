//! One item run on a platform: its tasks launched, waited for and read, their result lines
//! parsed, their start-ups kept, and whatever happens turned into its record.

use std::time::Duration;

use probe_core::{contract, result_line, Report};

use super::{client_spec, memory_spec, server_spec, ServerWaits, LAST_LINES};
use crate::error::describe;
use crate::plan::PlanItem;
use crate::platform::{Platform, TaskId, TaskRole};
use crate::store::{self, ItemRecord, ItemStatus, TaskLifecycle};
use crate::suite::TestKind;

/// Runs one item and turns whatever happens into a record.
pub(super) async fn run_item<P: Platform>(
    platform: &P,
    run_id: &str,
    item: &PlanItem,
    waits: ServerWaits,
) -> ItemRecord {
    let mut record = ItemRecord {
        id: item.id.clone(),
        label: item.test.label(),
        kind: item.test.kind.name().to_owned(),
        size: item.size.to_string(),
        arch: item.arch,
        repetition: item.repetition,
        status: ItemStatus::Ok,
        reports: Vec::new(),
        reason: None,
        last_lines: Vec::new(),
        emulated: platform.emulated(item.size, item.arch),
        lifecycles: Vec::new(),
        finished_at: String::new(),
    };
    let lifecycles = &mut record.lifecycles;
    let result = if item.test.kind == TestKind::Memory {
        run_memory(platform, run_id, item, lifecycles).await
    } else {
        run_pair(platform, run_id, item, waits, lifecycles).await
    };
    match result {
        Ok(reports) => record.reports = reports,
        Err((reason, lines)) => {
            record.status = ItemStatus::Failed;
            record.reason = Some(reason);
            record.last_lines = lines;
        }
    }
    record.finished_at = store::now_rfc3339();
    record
}

type ItemResult = std::result::Result<Vec<Report>, (String, Vec<String>)>;

/// How long the server's report is waited for once its client's has come, counted from then
/// (Fargate deprovisions a task for tens of seconds after its container exits).
const SERVER_REPORT_WAIT: Duration = Duration::from_secs(120);

fn tail(lines: &[String]) -> Vec<String> {
    lines[lines.len().saturating_sub(LAST_LINES)..].to_vec()
}

/// Waits for a task and parses its result line; failures carry the last output lines. How the
/// task came up, when the platform saw it, joins `lifecycles` whatever the outcome.
async fn collect<P: Platform>(
    platform: &P,
    task: &TaskId,
    (part, role): (TaskRole, &str),
    deadline: Duration,
    lifecycles: &mut Vec<TaskLifecycle>,
) -> std::result::Result<Report, (String, Vec<String>)> {
    let exit = platform.wait(task, deadline).await;
    if let Ok(e) = exit.as_ref() {
        if let Some(lifecycle) = e.lifecycle {
            lifecycles.push(TaskLifecycle {
                role: part.name().to_owned(),
                lifecycle,
                platform_version: e.platform_version.clone(),
            });
        }
    }
    let (lines, unreadable) = match platform.output(task).await {
        Ok(lines) => (lines, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let exit = match exit {
        Ok(exit) => exit,
        // A task that wrote its result line and then overstayed (or whose wait failed) still
        // measured: keep the result, and say what happened.
        Err(e) => match result_line::find_in_lines(&lines) {
            Ok(mut report) => {
                report
                    .warnings
                    .push(format!("{role}: result kept although {}", describe(&e)));
                return Ok(report);
            }
            Err(_) => return Err((format!("{role}: {}", describe(&e)), tail(&lines))),
        },
    };
    if let Some(e) = unreadable {
        return Err((
            format!("{role}: cannot read its output: {}", describe(&e)),
            Vec::new(),
        ));
    }
    match result_line::find_in_lines(&lines) {
        Ok(report) => Ok(report),
        Err(e) => {
            let how = match (exit.code, &exit.reason) {
                (_, Some(r)) => r.clone(),
                (Some(c), None) => format!("exited with code {c}"),
                (None, None) => "ended".into(),
            };
            // The probe's own last words say most; the decoder's error says what was missing.
            let said = lines
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(" (last output: {})", l.trim()))
                .unwrap_or_default();
            let first = e.to_string().lines().next().unwrap_or_default().to_owned();
            Err((format!("{role} {how}: {first}{said}"), tail(&lines)))
        }
    }
}

async fn run_memory<P: Platform>(
    platform: &P,
    run_id: &str,
    item: &PlanItem,
    lifecycles: &mut Vec<TaskLifecycle>,
) -> ItemResult {
    let spec = memory_spec(run_id, item);
    let task = platform
        .launch(&spec)
        .await
        .map_err(|e| (format!("launching memprobe: {}", describe(&e)), Vec::new()))?;
    let deadline = Duration::from_secs_f64(item.test.expected_secs() * 5.0 + 120.0);
    let report = collect(
        platform,
        &task,
        (TaskRole::Memory, "memprobe"),
        deadline,
        lifecycles,
    )
    .await;
    let _ = platform.stop(&task).await;
    Ok(vec![report?])
}

async fn run_pair<P: Platform>(
    platform: &P,
    run_id: &str,
    item: &PlanItem,
    waits: ServerWaits,
    lifecycles: &mut Vec<TaskLifecycle>,
) -> ItemResult {
    // A fresh key per item: nobody else in the subnet can use or spoof this server.
    let server_spec = server_spec(run_id, item, waits.idle, contract::random_key_hex());
    let server = platform.launch(&server_spec).await.map_err(|e| {
        (
            format!("launching the server: {}", describe(&e)),
            Vec::new(),
        )
    })?;
    let result = async {
        let addr = match platform.address(&server, waits.ready).await {
            Ok(a) => a,
            Err(e) => {
                let lines = platform.output(&server).await.unwrap_or_default();
                return Err((format!("server: {}", describe(&e)), tail(&lines)));
            }
        };
        let client_spec = client_spec(&server_spec, item, addr);
        let client = platform.launch(&client_spec).await.map_err(|e| {
            (
                format!("launching the client: {}", describe(&e)),
                Vec::new(),
            )
        })?;
        let deadline = Duration::from_secs_f64(item.test.expected_secs() * 2.0 + 90.0);
        let client_report = collect(
            platform,
            &client,
            (TaskRole::Client, "client"),
            deadline,
            lifecycles,
        )
        .await;
        let _ = platform.stop(&client).await;
        let client_report = client_report?;
        let mut reports = vec![client_report];
        // The server's own report (its CPU time) is a bonus: its absence does not fail the item.
        // It ends as soon as its client's test does; the wait allows its deprovisioning.
        let server_report = collect(
            platform,
            &server,
            (TaskRole::Server, "server"),
            SERVER_REPORT_WAIT,
            lifecycles,
        )
        .await;
        if let Ok(server_report) = server_report {
            reports.push(server_report);
        }
        Ok(reports)
    }
    .await;
    let _ = platform.stop(&server).await;
    result
}
