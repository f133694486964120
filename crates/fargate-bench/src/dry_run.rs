//! `--dry-run`: what an ECS run would register and launch, as a JSON document, without one AWS
//! call.

use std::collections::BTreeMap;

use crate::platform::ecs::settings::EcsSettings;
use crate::platform::ecs::EcsPlatform;
use crate::runner::{self, RunPlan};
use crate::sizes::Prices;

/// The task definitions (one per probe and size), every RunTask request of the plan, and what
/// the run would cost ([`crate::estimate`]).
pub fn document(
    plan: &RunPlan,
    settings: &EcsSettings,
    region: &str,
    prices: &Prices,
) -> serde_json::Value {
    let mut definitions = BTreeMap::new();
    let mut runs = Vec::new();
    for (spec, _) in runner::preview_specs(plan) {
        let (def, run) = EcsPlatform::preview(settings, region, &spec);
        definitions.insert(def.family.clone(), def);
        runs.push(run);
    }
    let items = crate::plan::expand(&plan.suite, &plan.sizes);
    let estimate = crate::estimate::estimate(&items, plan.suite.concurrency, prices);
    serde_json::json!({
        "register_task_definition": definitions.values().collect::<Vec<_>>(),
        "run_task": runs,
        "estimate": estimate,
        "estimate_line": estimate.line(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Suite;

    #[test]
    fn one_definition_per_probe_and_size_and_every_task_listed() {
        let mut suite = Suite::default_suite();
        suite.sizes = vec!["0.25x0.5".into(), "1x2".into()];
        suite.repetitions = 2;
        let sizes = suite.validate().unwrap();
        let plan = RunPlan {
            suite,
            sizes,
            results_root: "results".into(),
            resume: None,
            server_ready_timeout: std::time::Duration::from_secs(300),
            progress: false,
        };
        let settings = EcsSettings {
            log_group: "/fb".into(),
            netprobe_image: "net:1".into(),
            memprobe_image: "mem:1".into(),
            execution_role_arn: "arn:aws:iam::1:role/x".into(),
            cpu_architecture: "X86_64".into(),
            ..Default::default()
        };
        let prices =
            settings.prices(Prices::new(None, Some("us-east-1"), crate::sizes::Arch::X86).unwrap());
        let doc = document(&plan, &settings, "us-east-1", &prices);
        let defs = doc["register_task_definition"].as_array().unwrap();
        assert_eq!(defs.len(), 4, "netprobe and memprobe at two sizes");
        // 3 network tests x (server + client) + 1 memory test, x 2 sizes x 2 repetitions.
        let runs = doc["run_task"].as_array().unwrap();
        assert_eq!(runs.len(), (3 * 2 + 1) * 2 * 2);
        let text = doc.to_string();
        assert!(
            text.contains("--run-id") && !text.contains("\"KEY\""),
            "{text}"
        );
        assert_eq!(doc["estimate"]["tasks"], runs.len());
        assert!(doc["estimate"]["usd"].as_f64().unwrap() > 0.0);
    }
}
