//! A chart's own SVG layer over plotters' frame: each series as `g.series` (a polyline, its
//! dots, or bars), the labels at data points as `g.notes` placed by [`super::layout`], and the
//! legend under the plot as `g.legend`.

use std::fmt::Write as _;

use plotters::style::RGBColor;

use super::chart::{Chart, Lane, Series, Style};
use super::escape;
use super::layout::{self, Rect, SWATCH_PX};

/// Lines with at most this many points also mark each point.
const DOTTED_UP_TO: usize = 40;

/// Colours that stay apart in print and for common colour blindness (Okabe-Ito, the yellow
/// darkened to read as a line on white).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(170, 150, 0),
];

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Series `i`'s lane: the style's, else the palette in order, dashed from the ninth series on
/// (a second round of colours stays apart from the first) and for reference levels.
fn lane(style: &Style, i: usize, series: &Series) -> Lane {
    style.lanes.get(i).copied().unwrap_or(Lane {
        color: i % PALETTE.len(),
        dashed: series.reference || (i / PALETTE.len()) % 2 == 1,
    })
}

/// Where the data lands, in pixels, once the frame is drawn.
pub(super) struct Marks {
    /// Plot area: left, top, right, bottom.
    pub(super) area: (i32, i32, i32, i32),
    /// Per series, each point's pixel.
    pub(super) points: Vec<Vec<(f64, f64)>>,
    /// Per series, each bar: left, top, right, bottom.
    pub(super) bars: Vec<Vec<Rect>>,
    /// Each note's anchor pixel.
    pub(super) notes: Vec<(f64, f64)>,
}

/// The series, the labels at data points and the legend, as SVG elements.
pub(super) fn svg(chart: &Chart, style: &Style, marks: &Marks, legend: &[(f64, f64)]) -> String {
    let mut out = String::new();
    let dash = |dashed: bool| {
        if dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        }
    };
    let dotted = |s: &Series, n: usize| !s.reference && n <= DOTTED_UP_TO;
    for (i, s) in chart.series.iter().enumerate() {
        let l = lane(style, i, s);
        let color = hex(PALETTE[l.color % PALETTE.len()]);
        let _ = write!(
            out,
            "<g class=\"series\" data-name=\"{}\">",
            escape(&s.name)
        );
        if style.bars {
            for b in &marks.bars[i] {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"/>",
                    b.left,
                    b.top,
                    (b.right - b.left).max(1.0),
                    b.bottom - b.top
                );
            }
        } else {
            let points = &marks.points[i];
            let path: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
            let _ = write!(
                out,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{} points=\"{}\"/>",
                dash(l.dashed),
                path.join(" ")
            );
            if dotted(s, points.len()) {
                for (x, y) in points {
                    let _ = write!(
                        out,
                        "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{color}\"/>"
                    );
                }
            }
        }
        out.push_str("</g>");
    }
    if !chart.notes.is_empty() {
        out.push_str(&notes(chart, marks));
    }
    out.push_str("<g class=\"legend\" font-family=\"sans-serif\" font-size=\"12\">");
    for (i, (s, (x, y))) in chart.series.iter().zip(legend).enumerate() {
        let l = lane(style, i, s);
        let color = hex(PALETTE[l.color % PALETTE.len()]);
        if style.bars {
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{}\" width=\"22\" height=\"10\" fill=\"{color}\"/>",
                y + 4.0
            );
        } else {
            let _ = write!(
                out,
                "<line x1=\"{x}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"{color}\" \
                 stroke-width=\"2\"{2}/>",
                y + 9.0,
                x + 22.0,
                dash(l.dashed)
            );
            if dotted(s, s.points.len()) {
                let _ = write!(
                    out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{color}\"/>",
                    x + 11.0,
                    y + 9.0
                );
            }
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            x + SWATCH_PX,
            y + 13.0,
            escape(&s.name)
        );
    }
    out.push_str("</g>");
    out
}

/// The labels at data points: a ring at the point, the text placed clear of the other labels,
/// of every line and bar, and inside the plot; a leader line when it had to move away.
fn notes(chart: &Chart, marks: &Marks) -> String {
    let (left, top, right, bottom) = marks.area;
    let area = Rect {
        left: f64::from(left) + 2.0,
        top: f64::from(top) + 2.0,
        right: f64::from(right) - 2.0,
        bottom: f64::from(bottom) - 2.0,
    };
    let labels: Vec<(String, (f64, f64))> = chart
        .notes
        .iter()
        .map(|n| n.text.clone())
        .zip(marks.notes.iter().copied())
        .collect();
    let mut lines = marks.points.clone();
    lines.extend(marks.bars.iter().flatten().map(|b| {
        vec![
            (b.left, b.top),
            (b.right, b.top),
            (b.right, b.bottom),
            (b.left, b.bottom),
            (b.left, b.top),
        ]
    }));
    let placed = layout::place_labels(&labels, &lines, &marks.notes, area);
    let mut out = String::from(
        "<g class=\"notes\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#222\">",
    );
    for ((text, (ax, ay)), p) in labels.iter().zip(&placed) {
        let _ = write!(
            out,
            "<circle cx=\"{ax}\" cy=\"{ay}\" r=\"4.5\" fill=\"none\" stroke=\"#222\" \
             stroke-width=\"1.5\"/>"
        );
        let near_y = if p.bounds.bottom < *ay {
            p.bounds.bottom
        } else {
            p.bounds.top
        };
        if (near_y - ay).abs() > 12.0 {
            let near_x = ax.clamp(p.bounds.left, p.bounds.right);
            let _ = write!(
                out,
                "<line x1=\"{ax}\" y1=\"{ay}\" x2=\"{near_x}\" y2=\"{near_y}\" stroke=\"#888\"/>"
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\" stroke=\"#fff\" stroke-width=\"3\" \
             paint-order=\"stroke\">{}</text>",
            p.x,
            p.y,
            p.anchor,
            escape(text)
        );
    }
    out.push_str("</g>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ninth_series_is_dashed_to_stay_apart_from_the_first() {
        let s = Series {
            name: "s".into(),
            points: vec![(0.0, 1.0)],
            reference: false,
        };
        let style = Style::default();
        assert_eq!(
            lane(&style, 0, &s),
            Lane {
                color: 0,
                dashed: false
            }
        );
        assert_eq!(
            lane(&style, 8, &s),
            Lane {
                color: 0,
                dashed: true
            }
        );
        let reference = Series {
            reference: true,
            ..s.clone()
        };
        assert!(lane(&style, 1, &reference).dashed);
        let chosen = Style {
            bars: false,
            lanes: vec![Lane {
                color: 3,
                dashed: true,
            }],
        };
        assert_eq!(
            lane(&chosen, 0, &s),
            Lane {
                color: 3,
                dashed: true
            }
        );
    }
}
