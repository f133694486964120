//! Task output from CloudWatch Logs (the `awslogs` driver, blocking mode).

use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::taskdef::log_stream;
use super::{err, EcsPlatform};
use crate::error::Result;

/// Whether a ResourceNotFoundException is about the log group (not the stream): CloudWatch Logs
/// says "The specified log group does not exist." for one and "...log stream..." for the other.
fn names_the_group(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.to_ascii_lowercase().contains("log group"))
}

impl EcsPlatform {
    fn missing_group(&self) -> crate::BenchError {
        err(format!(
            "CloudWatch Logs group {:?} does not exist in {}: create it (scripts/deploy.sh \
             does) or set log_group / --log-group to the group the stack created",
            self.settings.log_group, self.region
        ))
    }

    /// Fails before any launch when the log group is missing: every task would run, bill and
    /// leave no result.
    pub(super) async fn check_log_group(&self) -> crate::error::Result<()> {
        let out = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&self.settings.log_group)
            .send()
            .await
            .map_err(|e| {
                let code = e.code().map(str::to_owned).unwrap_or_default();
                err(format!(
                    "DescribeLogGroups [{code}]: {}",
                    DisplayErrorContext(&e)
                ))
            })?;
        let found = out
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(self.settings.log_group.as_str()));
        if found {
            Ok(())
        } else {
            Err(self.missing_group())
        }
    }

    pub(super) async fn read_log(&self, arn: &str) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .logs
                .get_log_events()
                .log_group_name(&self.settings.log_group)
                .log_stream_name(log_stream(arn))
                .start_from_head(true)
                .set_next_token(token.clone())
                .send()
                .await;
            let out = match out {
                Ok(o) => o,
                // The stream appears only once the container has written something; a missing
                // group is a setup error (nothing will ever appear), so tell them apart by
                // asking for the group (moto, unlike AWS, names the group for both).
                Err(e) if e.code() == Some("ResourceNotFoundException") => {
                    if names_the_group(e.message()) {
                        self.check_log_group().await?;
                    }
                    return Ok(lines);
                }
                Err(e) => {
                    let code = e.code().map(str::to_owned).unwrap_or_default();
                    return Err(err(format!(
                        "GetLogEvents [{code}]: {}",
                        DisplayErrorContext(&e)
                    )));
                }
            };
            let before = lines.len();
            lines.extend(
                out.events()
                    .iter()
                    .filter_map(|e| e.message())
                    .map(|m| m.trim_end().to_owned()),
            );
            let next = out.next_forward_token().map(str::to_owned);
            if lines.len() == before || next.is_none() || next == token {
                return Ok(lines);
            }
            token = next;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_group_is_told_from_a_missing_stream() {
        assert!(super::names_the_group(Some(
            "The specified log group does not exist."
        )));
        assert!(!super::names_the_group(Some(
            "The specified log stream does not exist."
        )));
        assert!(!super::names_the_group(None));
    }
}
