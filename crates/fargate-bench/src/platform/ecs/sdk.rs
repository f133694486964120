//! The AWS SDK set up once (credential and region chains, retries, timeouts, endpoint
//! override); [`super::api::ApiFailure`] turns SDK errors into messages that name the call
//! and the fix.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use super::settings::EcsSettings;
use crate::error::BenchError;

pub(super) fn err(what: String) -> BenchError {
    BenchError::Backend {
        backend: "ecs",
        what,
        source: None,
    }
}

/// AWS error codes that mean "slow down"; the SDK retries them with jittered backoff.
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded"
    )
}

/// Builds the SDK configuration: the standard credential chain and region chain, with the
/// profile, region and endpoint overrides of the settings; generous retries for throttling.
pub async fn sdk_config(s: &EcsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(r) = &s.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &s.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &s.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}
