//! What a run needs of its cluster before it launches anything. On demand, nothing:
//! `launchType=FARGATE` runs on any cluster. FARGATE_SPOT is only reachable through a capacity
//! provider strategy, and "Only capacity providers that are already associated with a cluster
//! and have an ACTIVE or UPDATING status can be used in a capacity provider strategy. The
//! PutClusterCapacityProviders API is used to associate a capacity provider with a cluster"
//! (CapacityProviderStrategyItem in the API reference), so a Spot run checks the association
//! with DescribeClusters first and names the command that makes it.

use super::api::EcsApi;
use super::logs::LogSource;
use super::{err, EcsPlatform};
use crate::error::Result;

/// The command that associates both Fargate providers with `cluster`. It replaces the cluster's
/// list, so it names FARGATE too, and it sets a default strategy as the command requires one
/// to be given with the providers.
pub(super) fn associate_command(cluster: &str) -> String {
    format!(
        "aws ecs put-cluster-capacity-providers --cluster {cluster} --capacity-providers \
         FARGATE FARGATE_SPOT --default-capacity-provider-strategy \
         capacityProvider=FARGATE,weight=1"
    )
}

/// What is wrong with `cluster` for a run on `provider`, given the providers DescribeClusters
/// lists for it (`None`: the cluster was not found).
pub(super) fn provider_problem(
    cluster: &str,
    region: &str,
    provider: &str,
    associated: Option<&[String]>,
) -> Option<String> {
    let Some(associated) = associated else {
        return Some(format!(
            "ECS cluster {cluster:?} was not found in {region}: set cluster / --cluster to the \
             cluster scripts/deploy.sh created, or the region to the cluster's"
        ));
    };
    if associated.iter().any(|p| p == provider) {
        return None;
    }
    let has = if associated.is_empty() {
        "no capacity provider".to_owned()
    } else {
        associated.join(", ")
    };
    Some(format!(
        "ECS cluster {cluster:?} has {has} associated, so RunTask cannot use {provider}; \
         associate it with `{}` (the stack scripts/deploy.sh creates does this), or run on \
         demand with capacity_provider = \"FARGATE\"",
        associate_command(cluster)
    ))
}

impl<A: EcsApi, L: LogSource> EcsPlatform<A, L> {
    /// A Spot run fails before any launch when FARGATE_SPOT is not associated with the cluster:
    /// every RunTask would be refused.
    pub(super) async fn check_capacity_provider(&self) -> Result<()> {
        let s = &self.settings;
        if !s.spot() {
            return Ok(());
        }
        let out = self
            .ecs
            .describe_clusters(&s.cluster)
            .await
            .map_err(|f| f.into_error("DescribeClusters"))?;
        let providers: Option<Vec<String>> = out
            .clusters()
            .iter()
            .find(|c| c.status() != Some("INACTIVE"))
            .map(|c| c.capacity_providers().to_vec());
        match provider_problem(
            &s.cluster,
            &self.region,
            &s.capacity_provider,
            providers.as_deref(),
        ) {
            Some(why) => Err(err(why)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 23, item 4: a Spot run on a cluster without FARGATE_SPOT is refused with the
    /// command that associates it.
    #[test]
    fn a_cluster_without_fargate_spot_is_named_with_its_fix() {
        let spot = "FARGATE_SPOT";
        let both = ["FARGATE".to_owned(), "FARGATE_SPOT".to_owned()];
        assert_eq!(
            provider_problem("bench", "us-east-1", spot, Some(&both)),
            None
        );
        let e = provider_problem("bench", "us-east-1", spot, Some(&[])).unwrap();
        assert!(
            e.contains("no capacity provider")
                && e.contains(
                    "aws ecs put-cluster-capacity-providers --cluster bench --capacity-providers \
                     FARGATE FARGATE_SPOT --default-capacity-provider-strategy"
                ),
            "{e}"
        );
        let e = provider_problem("bench", "us-east-1", spot, Some(&both[..1])).unwrap();
        assert!(e.contains("has FARGATE associated"), "{e}");
        let e = provider_problem("gone", "eu-west-1", spot, None).unwrap();
        assert!(e.contains("\"gone\" was not found in eu-west-1"), "{e}");
    }
}
