//! The page of `fargate-bench recommend --format html`: the answer in sentences, then the
//! same tables the terminal prints (every column).

use std::fmt::Write as _;

use super::{escape, page, section, tabular};
use crate::recommend::Recommendation;

/// The page of a recommendation.
pub(crate) fn render(rec: &Recommendation) -> String {
    let mut body = String::new();
    let needs: Vec<String> = rec.needs.iter().map(|n| escape(&n.text)).collect();
    let _ = write!(
        body,
        "<h1>fargate-bench recommend</h1><p class=\"meta\">needs: {}</p>",
        needs.join(" &middot; ")
    );
    section(&mut body, "answer", "Answer");
    for line in crate::export::recommend::lines(rec) {
        let _ = write!(body, "<p>{}</p>", escape(&line));
    }
    body.push_str("</section>");
    for t in crate::export::recommend::sections(rec) {
        let _ = write!(body, "<section><h2>{}</h2>", escape(t.title));
        tabular(&mut body, &t);
        body.push_str("</section>");
    }
    page("fargate-bench recommend", &body)
}
