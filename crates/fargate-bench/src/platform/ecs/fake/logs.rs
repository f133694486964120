//! The fake's CloudWatch Logs: each task's lines show up `log_delay` after its probe printed
//! them (awslogs' batches), after `empty_pages` empty pages with a moving token, and
//! GetLogEvents is throttled as the world says.

use tokio::time::Instant;

use super::{Fake, World};
use crate::platform::ecs::logs::{LogFailure, LogPage, LogSource};

impl Fake {
    /// The lines of `stream` CloudWatch Logs shows now.
    fn shown_lines(w: &World, stream: &str, now: Instant) -> Option<Vec<String>> {
        let t = w
            .tasks
            .iter()
            .find(|t| crate::platform::ecs::taskdef::log_stream(&t.arn) == stream)?;
        let d = w.delays;
        let running = t.created + d.provisioning + d.pending;
        let ended = t.stopped.map(|(at, _)| at).unwrap_or(running + d.runs_for);
        if ended < running || now < running + d.log_delay {
            return None;
        }
        // The first line at once, the result line when the probe ends (it exits then).
        let mut shown: Vec<String> = t.lines.first().cloned().into_iter().collect();
        if now >= ended + d.log_delay && ended >= running + d.runs_for {
            shown.extend(t.lines.iter().skip(1).cloned());
        }
        Some(shown)
    }
}

impl LogSource for Fake {
    async fn page(
        &self,
        stream: &str,
        _start_ms: Option<i64>,
        token: Option<&str>,
    ) -> Result<LogPage, LogFailure> {
        let elapsed = self.start.elapsed();
        let now = Instant::now();
        let mut w = self.world.lock().expect("world lock");
        w.calls.push(("GetLogEvents".to_owned(), elapsed));
        if w.logs_throttled > 0 {
            w.logs_throttled -= 1;
            return Err(LogFailure {
                code: Some("ThrottlingException".into()),
                message: Some("Rate exceeded".into()),
                detail: "ThrottlingException: Rate exceeded".into(),
            });
        }
        let Some(lines) = Self::shown_lines(&w, stream, now) else {
            return Err(LogFailure {
                code: Some("ResourceNotFoundException".into()),
                message: Some("The specified log stream does not exist.".into()),
                detail: "ResourceNotFoundException".into(),
            });
        };
        // Empty pages with a moving token come first ("Partially full or empty pages don't
        // necessarily mean that pagination is finished", GetLogEvents).
        let empties = w.empty_pages;
        let answered = w.empty_answered.entry(stream.to_owned()).or_default();
        if token.is_none_or(|t| t.starts_with("e/")) && *answered < empties {
            *answered += 1;
            return Ok(LogPage {
                messages: Vec::new(),
                next_forward: Some(format!("e/{answered}")),
            });
        }
        let from: usize = match token {
            Some(t) if t.starts_with("f/") => t[2..].parse().expect("our own token"),
            _ => 0,
        };
        let from = from.min(lines.len());
        Ok(LogPage {
            messages: lines[from..].to_vec(),
            next_forward: Some(if from == lines.len() {
                token.map_or_else(|| format!("f/{from}"), str::to_owned)
            } else {
                format!("f/{}", lines.len())
            }),
        })
    }
}
