//! Task output from CloudWatch Logs (the `awslogs` driver, blocking mode).

use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::taskdef::log_stream;
use super::{err, EcsPlatform};
use crate::error::Result;

impl EcsPlatform {
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
                // The stream appears only once the container has written something.
                Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(lines),
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
