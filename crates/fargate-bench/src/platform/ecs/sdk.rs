//! The AWS SDK set up once (credential and region chains, retries, timeouts, endpoint
//! override) and SDK errors turned into messages that name the call and the fix.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::settings::EcsSettings;
use crate::error::BenchError;

pub(super) fn err(what: String) -> BenchError {
    BenchError::Backend {
        backend: "ecs",
        what,
        source: None,
    }
}

/// An SDK error as one line that names the call and AWS's own code and message.
pub(super) fn aws_err<E: std::error::Error + ProvideErrorMetadata + 'static>(
    call: &str,
    e: aws_sdk_ecs::error::SdkError<E>,
) -> BenchError {
    let code = e.code().map(|c| format!(" [{c}]")).unwrap_or_default();
    // The SDK has already retried throttling with jittered backoff; say what to change.
    let hint = if e.code().is_some_and(is_throttling) {
        "; AWS kept throttling after retries: lower --concurrency or run fewer sizes at once"
    } else {
        ""
    };
    // The message is AWS's own, with the context the SDK adds (`DisplayErrorContext`); it is
    // kept whole here because SdkError's own `Display` says only "service error".
    BenchError::Backend {
        backend: "ecs",
        what: format!("{call}{code}{hint}"),
        source: Some(DisplayErrorContext(e).to_string().into()),
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
