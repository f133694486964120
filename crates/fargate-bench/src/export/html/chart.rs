//! One chart as inline SVG, drawn by plotters' SVG backend. Each chart records where its plot
//! area sits in pixels and which values its axes span (`data-*` attributes on its figure), so
//! a test, or a reader's script, maps any data point to the pixel it is drawn at.

use plotters::prelude::*;

/// A line series: name, points, and whether it is drawn dashed (a reference level).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) points: Vec<(f64, f64)>,
    pub(crate) reference: bool,
}

/// A text label at a data point (cache plateaus).
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
    /// Put the legend top left (when the data rises to the right).
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

const WIDTH: u32 = 860;
const HEIGHT: u32 = 380;

/// Colours that stay apart in print and for common colour blindness (Okabe-Ito).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

fn range(values: impl Iterator<Item = f64>, log: bool, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
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

/// Renders `chart` as a `<figure>` holding its SVG.
///
/// # Errors
/// Whatever plotters reports (as text).
pub(crate) fn render(chart: &Chart) -> Result<String, String> {
    let xs = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1));
    let (x0, x1) = if chart.categories.is_empty() {
        range(xs, chart.x_log, !chart.x_log)
    } else {
        (-0.5, chart.categories.len() as f64 - 0.5)
    };
    let (y0, y1) = range(ys, chart.y_log, !chart.y_log);
    let mut svg = String::new();
    let plot_area;
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(&chart.title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70);
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
        macro_rules! draw {
            ($ctx:expr) => {{
                let mut ctx = $ctx;
                let mut mesh = ctx.configure_mesh();
                mesh.x_desc(&chart.x_label)
                    .y_desc(&chart.y_label)
                    .x_label_formatter(&x_format)
                    .y_label_formatter(&y_format)
                    .axis_desc_style(("sans-serif", 14))
                    .label_style(("sans-serif", 12))
                    .light_line_style(RGBColor(235, 235, 235));
                if !chart.categories.is_empty() {
                    mesh.x_labels(chart.categories.len() * 2 + 1);
                }
                mesh.draw().map_err(|e| e.to_string())?;
                for (i, s) in chart.series.iter().enumerate() {
                    let color = PALETTE[i % PALETTE.len()];
                    let style = color.stroke_width(2);
                    let points: Vec<(f64, f64)> = s.points.clone();
                    let drawn = if s.reference {
                        ctx.draw_series(DashedLineSeries::new(points.clone(), 6, 4, style))
                            .map_err(|e| e.to_string())?
                    } else {
                        ctx.draw_series(LineSeries::new(points.clone(), style))
                            .map_err(|e| e.to_string())?
                    };
                    drawn.label(s.name.clone()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                    if points.len() <= 40 && !s.reference {
                        ctx.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
                            .map_err(|e| e.to_string())?;
                    }
                }
                for n in &chart.notes {
                    ctx.draw_series(std::iter::once(Text::new(
                        n.text.clone(),
                        n.at,
                        ("sans-serif", 12),
                    )))
                    .map_err(|e| e.to_string())?;
                }
                if !chart.series.is_empty() {
                    ctx.configure_series_labels()
                        .background_style(WHITE.mix(0.85))
                        .border_style(RGBColor(180, 180, 180))
                        .label_font(("sans-serif", 12))
                        .position(if chart.legend_left {
                            SeriesLabelPosition::UpperLeft
                        } else {
                            SeriesLabelPosition::UpperRight
                        })
                        .draw()
                        .map_err(|e| e.to_string())?;
                }
                let (xr, yr) = ctx.plotting_area().get_pixel_range();
                (xr.start, yr.start, xr.end, yr.end)
            }};
        }
        plot_area = match (chart.x_log, chart.y_log) {
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
    let (left, top, right, bottom) = plot_area;
    Ok(format!(
        "<figure class=\"chart\" data-chart=\"{}\" data-size=\"{}\" data-x-log=\"{}\" data-y-log=\"{}\" \
         data-x-range=\"{x0},{x1}\" data-y-range=\"{y0},{y1}\" \
         data-plot-area=\"{left},{top},{right},{bottom}\" \
         data-series=\"{}\">{svg}</figure>",
        chart.kind,
        super::escape(&chart.size),
        chart.x_log,
        chart.y_log,
        super::escape(
            &chart
                .series
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join("|")
        ),
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

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(120.0), "120");
        assert_eq!(short(15_000.0), "15k");
        assert_eq!(short(2_500_000.0), "2.5M");
    }

    #[test]
    fn a_chart_says_where_it_draws() {
        let chart = Chart {
            kind: "throughput",
            title: "t".into(),
            x_label: "time (s)".into(),
            y_label: "Gbit/s".into(),
            x_log: false,
            y_log: false,
            legend_left: false,
            x_ticks: None,
            categories: Vec::new(),
            series: vec![Series {
                name: "rep 1".into(),
                points: vec![(0.0, 1.0), (1.0, 2.0)],
                reference: false,
            }],
            notes: Vec::new(),
            size: "1x2".into(),
        };
        let html = render(&chart).unwrap();
        assert!(html.contains("<svg") && html.contains("time (s)") && html.contains("Gbit/s"));
        assert!(html.contains("data-plot-area=\"") && html.contains("data-series=\"rep 1\""));
    }
}
