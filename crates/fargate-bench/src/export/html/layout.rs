//! Where a chart's own texts go, in pixels: the legend under the plot, and labels at data
//! points (cache plateaus) placed clear of each other, of the drawn lines and of the plot's edge.
//!
//! The page has no script, so text is measured before any browser sees it: [`text_width`]
//! errs wide for the sans-serif faces browsers pick (DejaVu Sans, Helvetica, Segoe UI), and the
//! Chromium test in `tests/fargate-bench/html_report.rs` checks the result as laid out.

/// Font size of labels, tick labels and the legend, in pixels.
pub(crate) const FONT_PX: f64 = 12.0;
/// Height a line of [`FONT_PX`] text takes (ascent and descent).
pub(crate) const LINE_PX: f64 = 15.0;
/// Height of one legend row.
pub(crate) const LEGEND_ROW_PX: f64 = 18.0;
/// Width of a legend entry's sample line and the gap after it.
pub(crate) const SWATCH_PX: f64 = 30.0;
/// Gap between legend columns.
const COLUMN_GAP_PX: f64 = 18.0;

/// A rectangle in pixels (SVG user units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub(crate) left: f64,
    pub(crate) top: f64,
    pub(crate) right: f64,
    pub(crate) bottom: f64,
}

impl Rect {
    fn overlaps(&self, other: &Rect, gap: f64) -> bool {
        self.left < other.right + gap
            && other.left < self.right + gap
            && self.top < other.bottom + gap
            && other.top < self.bottom + gap
    }

    fn inside(&self, outer: &Rect) -> bool {
        self.left >= outer.left
            && self.right <= outer.right
            && self.top >= outer.top
            && self.bottom <= outer.bottom
    }

    /// Whether the segment from `a` to `b` crosses or touches this rectangle (Liang-Barsky).
    fn meets_segment(&self, a: (f64, f64), b: (f64, f64)) -> bool {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        for (p, q) in [
            (-dx, a.0 - self.left),
            (dx, self.right - a.0),
            (-dy, a.1 - self.top),
            (dy, self.bottom - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return false;
                }
            } else {
                let t = q / p;
                if p < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
                if t0 > t1 {
                    return false;
                }
            }
        }
        true
    }
}

/// Width `text` takes at `px`, a little wider than DejaVu Sans (the widest common sans-serif).
pub(crate) fn text_width(text: &str, px: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' ' | 'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '|' | '\'' | '!' | '(' | ')' => 0.36,
            'f' | 't' | 'r' | 'I' | '-' => 0.45,
            'm' | 'w' | 'M' | 'W' | '%' => 0.95,
            c if c.is_ascii_uppercase() => 0.74,
            _ => 0.64,
        })
        .sum();
    em * px
}

/// A legend laid out in columns under the plot.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Legend {
    /// Top-left corner of each entry (its swatch), in series order.
    pub(crate) entries: Vec<(f64, f64)>,
    /// Height the legend adds to the chart.
    pub(crate) height: f64,
}

/// Lays out entries named `names` in as many columns as fit between `left` and `right`,
/// column by column (related names, next to each other in order, stay together), starting
/// `top`.
pub(crate) fn legend(names: &[&str], left: f64, right: f64, top: f64) -> Legend {
    if names.is_empty() {
        return Legend {
            entries: Vec::new(),
            height: 0.0,
        };
    }
    let widest = names
        .iter()
        .map(|n| text_width(n, FONT_PX))
        .fold(0.0, f64::max);
    let column = SWATCH_PX + widest + COLUMN_GAP_PX;
    let columns = (((right - left) / column).floor() as usize).clamp(1, names.len());
    let rows = names.len().div_ceil(columns);
    let entries = (0..names.len())
        .map(|i| {
            let (row, col) = (i % rows, i / rows);
            (left + col as f64 * column, top + row as f64 * LEGEND_ROW_PX)
        })
        .collect();
    Legend {
        entries,
        height: rows as f64 * LEGEND_ROW_PX + 6.0,
    }
}

/// Where a label goes: its text's anchor point (`x`, baseline `y`), SVG `text-anchor`, and
/// the box it takes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) anchor: &'static str,
    pub(crate) bounds: Rect,
}

/// The box of `width` pixels of text anchored at (`x`, baseline `y`).
fn text_box(x: f64, y: f64, width: f64, anchor: &str) -> Rect {
    let left = match anchor {
        "end" => x - width,
        "middle" => x - width / 2.0,
        _ => x,
    };
    Rect {
        left,
        top: y - 0.8 * LINE_PX,
        right: left + width,
        bottom: y + 0.2 * LINE_PX,
    }
}

/// Places labels at anchor points (pixels) inside `area`, each clear of the labels before it,
/// of every polyline in `lines` and of every point in `dots`. The first choice ends the label
/// just above its point (a plateau's label then sits over the plateau); then below, then
/// starting at the point, then further up or down. When no spot is clear of the lines, the
/// label still avoids the other labels and the edge.
pub(crate) fn place_labels(
    labels: &[(String, (f64, f64))],
    lines: &[Vec<(f64, f64)>],
    dots: &[(f64, f64)],
    area: Rect,
) -> Vec<Placed> {
    let mut placed: Vec<Placed> = Vec::with_capacity(labels.len());
    for (text, (ax, ay)) in labels {
        let width = text_width(text, FONT_PX);
        let mut candidates = Vec::new();
        for step in 0..12 {
            let lift = f64::from(step) * LINE_PX;
            for (dy, anchor) in [
                (-9.0 - lift, "end"),
                (9.0 + 0.8 * LINE_PX + lift, "end"),
                (-9.0 - lift, "start"),
                (9.0 + 0.8 * LINE_PX + lift, "start"),
                (-9.0 - lift, "middle"),
                (9.0 + 0.8 * LINE_PX + lift, "middle"),
            ] {
                let x = match anchor {
                    "end" => ax - 2.0,
                    "start" => ax + 2.0,
                    _ => *ax,
                };
                let bounds = text_box(x, ay + dy, width, anchor);
                candidates.push(Placed {
                    x,
                    y: ay + dy,
                    anchor,
                    bounds,
                });
            }
        }
        let fits = |c: &Placed| {
            c.bounds.inside(&area) && !placed.iter().any(|p| p.bounds.overlaps(&c.bounds, 2.0))
        };
        let clear = |c: &Placed| {
            let b = Rect {
                left: c.bounds.left - 2.0,
                top: c.bounds.top - 2.0,
                right: c.bounds.right + 2.0,
                bottom: c.bounds.bottom + 2.0,
            };
            !lines
                .iter()
                .any(|l| l.windows(2).any(|w| b.meets_segment(w[0], w[1])))
                && !dots.iter().any(|&d| b.meets_segment(d, d))
        };
        let chosen = candidates
            .iter()
            .find(|c| fits(c) && clear(c))
            .or_else(|| candidates.iter().find(|c| fits(c)))
            .unwrap_or(&candidates[0])
            .clone();
        placed.push(chosen);
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: Rect = Rect {
        left: 0.0,
        top: 0.0,
        right: 400.0,
        bottom: 300.0,
    };

    #[test]
    fn a_segment_meets_a_box_it_crosses_and_misses_one_beside_it() {
        let r = Rect {
            left: 10.0,
            top: 10.0,
            right: 20.0,
            bottom: 20.0,
        };
        assert!(r.meets_segment((0.0, 15.0), (30.0, 15.0)));
        assert!(r.meets_segment((15.0, 15.0), (15.0, 15.0)));
        assert!(!r.meets_segment((0.0, 0.0), (30.0, 5.0)));
        assert!(!r.meets_segment((25.0, 0.0), (25.0, 30.0)));
    }

    #[test]
    fn labels_at_one_point_stack_without_overlapping() {
        let labels: Vec<(String, (f64, f64))> = (0..4)
            .map(|i| (format!("L{i} 12.5 ns"), (200.0, 150.0)))
            .collect();
        let placed = place_labels(&labels, &[], &[], AREA);
        for (i, a) in placed.iter().enumerate() {
            assert!(a.bounds.inside(&AREA), "{a:?}");
            for b in &placed[i + 1..] {
                assert!(!a.bounds.overlaps(&b.bounds, 0.0), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn a_label_moves_off_a_line_that_runs_through_its_first_spot() {
        // A plateau at y 150 ending at x 200, then a steep rise: the first spot is clear.
        let line = vec![(0.0, 150.0), (200.0, 150.0), (210.0, 20.0)];
        let placed = place_labels(
            &[("L2 6.5 ns".into(), (200.0, 150.0))],
            std::slice::from_ref(&line),
            &[],
            AREA,
        );
        assert_eq!(placed[0].anchor, "end");
        assert!(placed[0].bounds.bottom < 150.0);
        // Another curve just above the plateau: the label goes below it instead.
        let above = vec![(0.0, 140.0), (400.0, 140.0)];
        let placed = place_labels(
            &[("L2 6.5 ns".into(), (200.0, 150.0))],
            &[line, above],
            &[],
            AREA,
        );
        assert!(placed[0].bounds.top > 150.0, "{:?}", placed[0]);
    }

    #[test]
    fn a_label_at_the_edge_stays_inside() {
        let placed = place_labels(&[("DRAM 179 ns".into(), (1.0, 2.0))], &[], &[], AREA);
        assert!(placed[0].bounds.inside(&AREA), "{:?}", placed[0]);
    }

    #[test]
    fn the_legend_takes_as_many_columns_as_fit() {
        let names = ["copy", "scale", "add", "triad", "read", "write", "memcpy"];
        let l = legend(&names, 100.0, 900.0, 400.0);
        assert_eq!(l.entries.len(), 7);
        assert_eq!(l.entries[0], (100.0, 400.0));
        assert_eq!(
            l.entries[1].1, 400.0,
            "one row: the second entry beside the first"
        );
        assert!(l.entries.iter().all(|(x, _)| *x < 900.0));
        assert_eq!(l.height, LEGEND_ROW_PX + 6.0, "one row");
        let long: Vec<String> = (0..12).map(|i| format!("series name number {i}")).collect();
        let names: Vec<&str> = long.iter().map(String::as_str).collect();
        let l = legend(&names, 100.0, 800.0, 400.0);
        assert!(l.height > 2.0 * LEGEND_ROW_PX, "{l:?}");
        assert_eq!(l.entries[1].0, l.entries[0].0, "filled column by column");
        assert!(legend(&[], 0.0, 1.0, 0.0).entries.is_empty());
    }
}
