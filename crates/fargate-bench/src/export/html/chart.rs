//! One chart as inline SVG. plotters' SVG backend draws the frame (caption, axes, grid, tick
//! labels); the series, the labels at data points and the legend are written by
//! [`super::marks`] from the pixel each value maps to, so their text can be laid out clear of
//! each other ([`super::layout`]) and a test finds them by class. Each chart records where its
//! plot area sits in pixels and which values its axes span (`data-*` attributes on its figure),
//! so a test, or a reader's script, maps any data point to the pixel it is drawn at.

use plotters::prelude::*;

use super::escape;
use super::layout::{self, Rect, FONT_PX, SWATCH_PX};
use super::marks::Marks;

/// A line series: name, points, and whether it is drawn dashed (a reference level).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) points: Vec<(f64, f64)>,
    pub(crate) reference: bool,
}

/// A text label at a data point (where a cache plateau ends).
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub(crate) at: (f64, f64),
    pub(crate) text: String,
}

/// What to draw.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// `throughput`, `latency`, `memory-bandwidth`, `memory-latency`, `cost`.
    pub(crate) kind: &'static str,
    pub(crate) title: String,
    /// Axis descriptions, with units.
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    pub(crate) x_log: bool,
    /// A log y axis (latency, where the tail spans decades).
    pub(crate) y_log: bool,
    /// Align the legend (under the plot) with the plot's left edge, else with its right.
    pub(crate) legend_left: bool,
    /// Tick labels of the x axis from a value (percentiles from "nines", size names).
    pub(crate) x_ticks: Option<fn(f64) -> String>,
    /// Category names when x is an index (sizes).
    pub(crate) categories: Vec<String>,
    pub(crate) series: Vec<Series>,
    pub(crate) notes: Vec<Note>,
    /// The size (or `all`) the chart is about.
    pub(crate) size: String,
}

/// How the series are drawn, where the defaults (a line each, colours in order) do not fit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Style {
    /// Grouped bars, one per series in each category (x is a category index), instead of lines.
    pub(crate) bars: bool,
    /// A colour and dash per series, in series order; series past its end get the default.
    pub(crate) lanes: Vec<Lane>,
}

/// A series' colour (an index into the palette) and whether its line is dashed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lane {
    pub(crate) color: usize,
    pub(crate) dashed: bool,
}

const WIDTH: u32 = 860;
const HEIGHT: u32 = 380;
const MARGIN: u32 = 12;
/// Room right of the plot for half the last x tick label (`100M`, `16x32`).
const MARGIN_RIGHT: u32 = 32;
const Y_LABEL_AREA: u32 = 70;
/// Widest bar, in pixels (one size's bars would otherwise fill the chart).
const MAX_BAR_PX: f64 = 56.0;
/// Font sizes plotters is asked for: it draws text at 1/1.24 of the (whole) size asked for,
/// so these come out at 17, 13 and 12 pixels.
const CAPTION_SIZE: f64 = 21.0;
const AXIS_DESC_SIZE: f64 = 16.0;
const TICK_SIZE: f64 = 15.0;

/// The span of an axis: a linear one from zero when asked, with room above; a log one padded
/// by half, or out to whole decades when `decades` (a y axis then labels at least two).
fn range(
    values: impl Iterator<Item = f64>,
    log: bool,
    from_zero: bool,
    decades: bool,
) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log && decades {
        let lo = 10f64.powf((lo / 1.2).log10().floor());
        return (lo, 10f64.powf((hi * 1.2).log10().ceil()).max(lo * 10.0));
    }
    if log {
        return (lo / 1.5, hi * 1.5);
    }
    if from_zero {
        lo = lo.min(0.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        hi = lo + 1.0;
    }
    (lo, hi + (hi - lo) * 0.08)
}

/// Renders `chart`, drawn as `style` says, as a `<figure>` holding its SVG.
///
/// # Errors
/// Whatever plotters reports (as text).
pub(crate) fn render(chart: &Chart, style: &Style) -> Result<String, String> {
    let (x_log, y_log) = (chart.x_log, chart.y_log && !style.bars);
    let usable = |(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!x_log || *x > 0.0) && (!y_log || *y > 0.0)
    };
    let xs = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1));
    let (x0, x1) = if chart.categories.is_empty() {
        range(xs, x_log, !x_log, false)
    } else {
        (-0.5, chart.categories.len() as f64 - 0.5)
    };
    let (y0, y1) = range(ys, y_log, !y_log, true);
    let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
    let plot_left = f64::from(MARGIN + Y_LABEL_AREA);
    let plot_right = f64::from(WIDTH - MARGIN_RIGHT);
    let legend_top = f64::from(HEIGHT) + 2.0;
    let mut legend = layout::legend(&names, plot_left, plot_right, legend_top);
    if !chart.legend_left {
        let used = legend
            .entries
            .iter()
            .zip(&names)
            .map(|((x, _), n)| x + SWATCH_PX + layout::text_width(n, FONT_PX))
            .fold(plot_left, f64::max);
        for e in &mut legend.entries {
            e.0 += plot_right - used;
        }
    }
    let height = HEIGHT + legend.height.ceil() as u32;
    let mut svg = String::new();
    let marks: Marks;
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (top, _) = root.split_vertically(HEIGHT);
        let mut builder = ChartBuilder::on(&top);
        builder
            .caption(&chart.title, ("sans-serif", CAPTION_SIZE))
            .margin(MARGIN)
            .margin_right(MARGIN_RIGHT)
            .x_label_area_size(44)
            .y_label_area_size(Y_LABEL_AREA);
        let categories = chart.categories.clone();
        let ticks = chart.x_ticks;
        let x_format = move |v: &f64| -> String {
            if !categories.is_empty() {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < categories.len() {
                    return categories[i as usize].clone();
                }
                return String::new();
            }
            match ticks {
                Some(f) => f(*v),
                None => short(*v),
            }
        };
        let y_format = |v: &f64| short(*v);
        let n_series = chart.series.len().max(1) as f64;
        macro_rules! draw {
            ($ctx:expr) => {{
                let mut ctx = $ctx;
                let mut mesh = ctx.configure_mesh();
                mesh.x_desc(&chart.x_label)
                    .y_desc(&chart.y_label)
                    .x_label_formatter(&x_format)
                    .y_label_formatter(&y_format)
                    .axis_desc_style(("sans-serif", AXIS_DESC_SIZE))
                    .label_style(("sans-serif", TICK_SIZE))
                    .bold_line_style(RGBColor(220, 220, 220))
                    .light_line_style(RGBColor(243, 243, 243));
                if !chart.categories.is_empty() {
                    mesh.x_labels(chart.categories.len() * 2 + 1)
                        .disable_x_mesh();
                }
                mesh.draw().map_err(|e| e.to_string())?;
                let px = |p: (f64, f64)| {
                    let (x, y) = ctx.backend_coord(&p);
                    (f64::from(x), f64::from(y))
                };
                let points = chart
                    .series
                    .iter()
                    .map(|s| {
                        s.points
                            .iter()
                            .filter(|p| usable(p))
                            .map(|p| px(*p))
                            .collect()
                    })
                    .collect();
                let bars = if style.bars {
                    let base = px((0.0, y0)).1;
                    // A category's bars take 80 % of its width, each bar at most MAX_BAR_PX.
                    let unit = (px((1.0, y0)).0 - px((0.0, y0)).0).abs().max(1.0);
                    let group = (0.8_f64).min(n_series * MAX_BAR_PX / unit);
                    let width = group / n_series;
                    chart
                        .series
                        .iter()
                        .enumerate()
                        .map(|(k, s)| {
                            s.points
                                .iter()
                                .filter(|p| usable(p))
                                .map(|&(x, y)| {
                                    let from = x - group / 2.0 + k as f64 * width;
                                    Rect {
                                        left: px((from, y)).0 + 1.0,
                                        top: px((from, y)).1.min(base),
                                        right: px((from + width, y)).0 - 1.0,
                                        bottom: base,
                                    }
                                })
                                .collect()
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let notes = chart
                    .notes
                    .iter()
                    .filter(|n| usable(&n.at))
                    .map(|n| px(n.at))
                    .collect();
                let (xr, yr) = ctx.plotting_area().get_pixel_range();
                Marks {
                    area: (xr.start, yr.start, xr.end, yr.end),
                    points,
                    bars,
                    notes,
                }
            }};
        }
        marks = match (x_log, y_log) {
            (true, true) => draw!(builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(|e| e.to_string())?),
            (true, false) => draw!(builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(|e| e.to_string())?),
            (false, true) => draw!(builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(|e| e.to_string())?),
            (false, false) => draw!(builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?),
        };
        root.present().map_err(|e| e.to_string())?;
    }
    let own = super::marks::svg(chart, style, &marks, &legend.entries);
    let end = svg.rfind("</svg>").ok_or("plotters wrote no </svg>")?;
    svg.truncate(end);
    svg.push_str(&own);
    svg.push_str("</svg>");
    let (left, top, right, bottom) = marks.area;
    Ok(format!(
        "<figure class=\"chart\" data-chart=\"{}\" data-size=\"{}\" data-x-log=\"{x_log}\" \
         data-y-log=\"{y_log}\" data-x-range=\"{x0},{x1}\" data-y-range=\"{y0},{y1}\" \
         data-plot-area=\"{left},{top},{right},{bottom}\" data-series=\"{}\">{svg}</figure>",
        chart.kind,
        escape(&chart.size),
        escape(&names.join("|")),
    ))
}

/// A short tick label: 1.5k, 2M, 0.25, 120.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        trim(format!("{:.2}", v / 1e9)) + "G"
    } else if a >= 1e6 {
        trim(format!("{:.2}", v / 1e6)) + "M"
    } else if a >= 1e4 {
        trim(format!("{:.1}", v / 1e3)) + "k"
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        trim(format!("{v:.3}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(series: Vec<Series>) -> Chart {
        Chart {
            kind: "throughput",
            title: "t".into(),
            x_label: "time (s)".into(),
            y_label: "Gbit/s".into(),
            x_log: false,
            y_log: false,
            legend_left: false,
            x_ticks: None,
            categories: Vec::new(),
            series,
            notes: Vec::new(),
            size: "1x2".into(),
        }
    }

    fn line(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            reference: false,
        }
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(120.0), "120");
        assert_eq!(short(15_000.0), "15k");
        assert_eq!(short(2_500_000.0), "2.5M");
    }

    #[test]
    fn a_log_y_axis_spans_whole_decades() {
        assert_eq!(
            range([20.0, 5000.0].into_iter(), true, false, true),
            (10.0, 10_000.0)
        );
        assert_eq!(
            range([1.9, 240.0].into_iter(), true, false, true),
            (1.0, 1000.0)
        );
        assert_eq!(
            range([0.0, 10.0].into_iter(), false, true, true),
            (0.0, 10.8)
        );
    }

    #[test]
    fn a_chart_says_where_it_draws() {
        let c = chart(vec![line("rep 1", vec![(0.0, 1.0), (1.0, 2.0)])]);
        let html = render(&c, &Style::default()).unwrap();
        assert!(html.contains("<svg") && html.contains("time (s)") && html.contains("Gbit/s"));
        assert!(html.contains("data-plot-area=\"") && html.contains("data-series=\"rep 1\""));
        assert!(html.contains("<g class=\"series\" data-name=\"rep 1\"><polyline"));
        assert!(html.contains("<g class=\"legend\"") && html.contains(">rep 1</text>"));
        assert!(html.trim_end().ends_with("</svg></figure>"), "{html}");
    }

    #[test]
    fn bars_stand_on_zero_one_per_series_in_each_category() {
        let mut c = chart(vec![
            line("1 thread", vec![(0.0, 8.0), (1.0, 9.0)]),
            line("2 threads", vec![(0.0, 15.0), (1.0, 17.0)]),
        ]);
        c.categories = vec!["copy".into(), "triad".into()];
        let html = render(
            &c,
            &Style {
                bars: true,
                lanes: Vec::new(),
            },
        )
        .unwrap();
        let bars = html.matches("<rect x=").count();
        // 4 bars, 2 legend swatches (plotters' background is `<rect x="0"`... counted apart).
        let swatches = html.matches("width=\"22\" height=\"10\"").count();
        assert_eq!(swatches, 2);
        assert!(bars >= 6, "{html}");
        assert!(!html.contains("<polyline fill=\"none\" stroke=\"#0072b2\""));
    }

    #[test]
    fn names_are_escaped_in_marks_and_legend() {
        let c = chart(vec![line("a<b & \"c\"", vec![(0.0, 1.0), (1.0, 2.0)])]);
        let html = render(&c, &Style::default()).unwrap();
        assert!(html.contains("a&lt;b &amp; &quot;c&quot;"));
        assert!(!html.contains("a<b"));
    }

    #[test]
    fn the_legend_adds_height_under_the_plot() {
        let many: Vec<Series> = (0..20)
            .map(|i| {
                line(
                    &format!("a long series name {i}"),
                    vec![(0.0, 1.0), (1.0, 2.0)],
                )
            })
            .collect();
        let html = render(&chart(many), &Style::default()).unwrap();
        let h: u32 = html
            .split("height=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(h > HEIGHT + 60, "{h}");
    }
}
