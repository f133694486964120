//! The CPU generations section: the share of each generation per size, architecture and
//! capacity, and each figure per generation where a size's items ran on more than one.

use std::fmt::Write as _;

use super::{empty, escape, section, tabular};
use crate::export::generations;
use crate::summary::Summary;

/// The section, between the cost and the failed items.
pub(super) fn generations_section(body: &mut String, summary: &Summary) {
    section(body, "cpu-generations", "CPU generations");
    let shares = generations::shares(summary);
    if shares.rows.is_empty() {
        return empty(body, "No task recorded the CPU it ran on.");
    }
    tabular(body, &shares);
    let figures = generations::figures(summary);
    let why = if figures.rows.is_empty() {
        "Every size's items ran on one CPU generation: the figures above describe it."
    } else {
        "Some sizes' items ran on more than one CPU generation. A median over them describes \
         none, so each figure is given here per generation, over its items alone; recommend \
         judges the worst."
    };
    let _ = write!(body, "<p class=\"why\">{}</p>", escape(why));
    if !figures.rows.is_empty() {
        tabular(body, &figures);
    }
    body.push_str("</section>");
}
