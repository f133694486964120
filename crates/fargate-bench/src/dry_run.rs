//! `--dry-run`: what an ECS run would register and launch, as a JSON document, without one AWS
//! call.

use std::collections::BTreeMap;

use crate::platform::ecs::settings::EcsSettings;
use crate::platform::ecs::EcsPlatform;
use crate::runner::{self, RunPlan};
use crate::sizes::Prices;

/// The task definitions (one per probe, size and architecture, each with its
/// `runtimePlatform` and its price per task-hour), every RunTask request of the plan, and what
/// the run would cost ([`crate::estimate`]); on a resumed plan, only the items still to run.
///
/// # Errors
/// A resumed plan's results directory cannot be read.
pub fn document(
    plan: &RunPlan,
    settings: &EcsSettings,
    region: &str,
    prices: &Prices,
) -> crate::Result<serde_json::Value> {
    let mut definitions = BTreeMap::new();
    let mut runs = Vec::new();
    for (spec, _) in
        runner::preview_specs(plan, crate::platform::ecs::server_idle_timeout(settings))?
    {
        let (def, run) = EcsPlatform::preview(settings, region, &spec);
        let arch = spec.arch.unwrap_or(settings.arch());
        // RegisterTaskDefinition's own shape for the platform, and what a task of it costs.
        let definition = serde_json::json!({
            "family": def.family,
            "cpu": def.cpu,
            "memory": def.memory,
            "image": def.image,
            "runtimePlatform": {
                "cpuArchitecture": arch.ecs_name(),
                "operatingSystemFamily": "LINUX",
            },
            "execution_role_arn": def.execution_role_arn,
            "log_group": def.log_group,
            "usd_per_hour": prices.hourly_for(arch, spec.size),
        });
        definitions.insert(def.family.clone(), definition);
        runs.push(run);
    }
    let items = plan.pending_items()?;
    let estimate = crate::estimate::estimate(&items, plan.suite.concurrency, prices)
        .with_capacity_worst_case(
            &items,
            prices,
            crate::platform::ecs::server_idle_timeout(settings),
        );
    Ok(serde_json::json!({
        "register_task_definition": definitions.values().collect::<Vec<_>>(),
        "run_task": runs,
        "estimate": estimate,
        "estimate_line": estimate.line(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizes::Arch;
    use crate::Suite;

    fn settings(netprobe_image: &str, memprobe_image: &str) -> EcsSettings {
        EcsSettings {
            log_group: "/fb".into(),
            netprobe_image: netprobe_image.into(),
            memprobe_image: memprobe_image.into(),
            execution_role_arn: "arn:aws:iam::1:role/x".into(),
            cpu_architecture: "X86_64".into(),
            ..Default::default()
        }
    }

    fn size(text: &str) -> crate::TaskSize {
        crate::TaskSize::parse(text).unwrap()
    }

    fn plan(suite: Suite) -> RunPlan {
        RunPlan {
            suite,
            results_root: "results".into(),
            resume: None,
            progress: false,
        }
    }

    #[test]
    fn one_definition_per_probe_and_size_and_every_task_listed() {
        let mut suite = Suite::default_suite();
        suite.sizes = vec![size("0.25x0.5"), size("1x2")];
        suite.repetitions = 2;
        let plan = plan(suite);
        let settings = settings("net:1", "mem:1");
        let prices = settings.prices(Prices::new(None, Some("us-east-1"), Arch::X86).unwrap());
        let doc = document(&plan, &settings, "us-east-1", &prices).unwrap();
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
        assert!(defs
            .iter()
            .all(|d| d["runtimePlatform"]["cpuArchitecture"] == "X86_64"));
    }

    /// Issue 15: a suite over both architectures registers a family of each, with the right
    /// `runtimePlatform` (API reference, RuntimePlatform.cpuArchitecture: X86_64 | ARM64), the
    /// images, and each one's price.
    #[test]
    fn both_architectures_get_their_own_families_and_prices() {
        let mut suite = Suite::default_suite();
        suite.sizes = vec![size("1x2")];
        suite.repetitions = 1;
        suite.architectures = vec![Arch::X86, Arch::Arm];
        let plan = plan(suite);
        let settings = settings(
            "1.dkr.ecr.us-east-1.amazonaws.com/fb/netprobe:0.1.0",
            "1.dkr.ecr.us-east-1.amazonaws.com/fb/memprobe:0.1.0",
        );
        let prices = settings.prices(Prices::new(None, Some("us-east-1"), Arch::X86).unwrap());
        let doc = document(&plan, &settings, "us-east-1", &prices).unwrap();
        let defs = doc["register_task_definition"].as_array().unwrap();
        let by_family = |f: &str| defs.iter().find(|d| d["family"] == f).unwrap().clone();
        assert_eq!(defs.len(), 4);
        let (x86, arm) = (
            by_family("fargate-bench-netprobe-1024-2048"),
            by_family("fargate-bench-netprobe-arm64-1024-2048"),
        );
        assert_eq!(x86["runtimePlatform"]["cpuArchitecture"], "X86_64");
        assert_eq!(arm["runtimePlatform"]["cpuArchitecture"], "ARM64");
        assert_eq!(arm["image"], settings.netprobe_image.as_str());
        assert_eq!(
            by_family("fargate-bench-memprobe-arm64-1024-2048")["image"],
            settings.memprobe_image.as_str()
        );
        let (x86_usd, arm_usd) = (
            x86["usd_per_hour"].as_f64().unwrap(),
            arm["usd_per_hour"].as_f64().unwrap(),
        );
        assert!((x86_usd - (0.04048 + 2.0 * 0.004445)).abs() < 1e-12);
        assert!(arm_usd < x86_usd * 0.85, "{arm_usd} vs {x86_usd}");
        // Every RunTask names the family of its item's architecture.
        for run in doc["run_task"].as_array().unwrap() {
            let family = run["task_definition"].as_str().unwrap();
            let tags = run["tags"].to_string();
            assert_eq!(
                family.contains("-arm64-"),
                tags.contains("/ARM64/"),
                "{run}"
            );
        }
        assert_eq!(doc["estimate"]["by_arch"][1]["arch"], "ARM64");
    }
}
