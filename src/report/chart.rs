//! The metric over time per policy: SVG and PNG drawn with plotters (lines only: the
//! build carries no font, so the SVG gets its axis labels and legend as plain `<text>`
//! added here, and the PNG's legend is the report's table of colours), and a Mermaid
//! `xychart-beta` for Markdown.

use plotters::prelude::*;

use crate::outcome::BacktestReport;

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 480;
const LEFT: u32 = 60;
const RIGHT: u32 = 230;
const TOP: u32 = 20;
const BOTTOM: u32 = 40;

/// Colours of the charted policies, in order.
pub const PALETTE: [(u8, u8, u8); 8] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
];

pub fn hex(c: (u8, u8, u8)) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// The policies worth a line: the recommended one, the current one, the best one,
/// never, the every-period ones and the rest of the Pareto front, at most 8.
pub fn charted(report: &BacktestReport) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let mut add = |i: Option<usize>| {
        if let Some(i) = i {
            if !out.contains(&i) && out.len() < PALETTE.len() {
                out.push(i);
            }
        }
    };
    let find = |name: &str| report.policies.iter().position(|p| p.name == name);
    add(find(&report.recommended));
    add(report.policies.iter().position(|p| p.current));
    add(find(&report.best));
    add(find("never"));
    for (i, p) in report.policies.iter().enumerate() {
        if p.pareto {
            add(Some(i));
        }
    }
    out
}

fn y_range(report: &BacktestReport, lines: &[usize]) -> (f64, f64) {
    let values = lines
        .iter()
        .flat_map(|i| report.policies[*i].metrics.iter().flatten().copied());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let lo = (lo * 10.0).floor() / 10.0;
    let hi = ((hi * 10.0).ceil() / 10.0).max(lo + 0.1);
    (lo, hi)
}

/// What plotters reported when a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the chart: {0}")]
pub struct DrawError(String);

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    report: &BacktestReport,
    lines: &[usize],
    right: u32,
) -> Result<(), DrawError> {
    let err = |e: &dyn std::fmt::Display| DrawError(e.to_string());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let n = report.scored_periods.max(2);
    let (lo, hi) = y_range(report, lines);
    let area = root.margin(TOP, BOTTOM, LEFT, right);
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d(0f64..(n - 1) as f64, lo..hi)
        .map_err(|e| err(&e))?;
    let grid = RGBColor(225, 225, 225);
    let mut y = lo;
    while y <= hi + 1e-9 {
        chart
            .draw_series(LineSeries::new(
                [(0.0, y), ((n - 1) as f64, y)],
                grid.stroke_width(1),
            ))
            .map_err(|e| err(&e))?;
        y += 0.1;
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, lo), (0.0, hi)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, lo), ((n - 1) as f64, lo)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| err(&e))?;
    for (k, i) in lines.iter().enumerate() {
        let (r, g, b) = PALETTE[k];
        let points: Vec<(f64, f64)> = report.policies[*i]
            .metrics
            .iter()
            .enumerate()
            .filter_map(|(x, v)| v.map(|v| (x as f64, v)))
            .collect();
        chart
            .draw_series(LineSeries::new(points, RGBColor(r, g, b).stroke_width(2)))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart as SVG text, with axis labels and a legend.
pub fn svg(report: &BacktestReport) -> Result<String, DrawError> {
    let lines = charted(report);
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        draw(root, report, &lines, RIGHT)?;
    }
    let (lo, hi) = y_range(report, &lines);
    let plot_h = (HEIGHT - TOP - BOTTOM) as f64;
    let plot_w = (WIDTH - LEFT - RIGHT) as f64;
    let mut extra = String::new();
    let mut y = lo;
    while y <= hi + 1e-9 {
        let py = TOP as f64 + plot_h * (1.0 - (y - lo) / (hi - lo));
        extra.push_str(&format!(
            r#"<text x="{}" y="{:.1}" font-family="sans-serif" font-size="12" text-anchor="end">{y:.1}</text>"#,
            LEFT - 6,
            py + 4.0
        ));
        y += 0.1;
    }
    let n = report.scored_periods.max(2);
    let step = (n / 8).max(1);
    for x in (0..n).step_by(step) {
        let px = LEFT as f64 + plot_w * x as f64 / (n - 1) as f64;
        let label = report.period_labels.get(x).cloned().unwrap_or_default();
        extra.push_str(&format!(
            r#"<text x="{px:.1}" y="{}" font-family="sans-serif" font-size="11" text-anchor="middle">{}</text>"#,
            HEIGHT - BOTTOM + 16,
            escape_xml(&label)
        ));
    }
    extra.push_str(&format!(
        r#"<text x="{}" y="{}" font-family="sans-serif" font-size="12" text-anchor="middle">{} per period ({} scored periods)</text>"#,
        LEFT as f64 + plot_w / 2.0,
        HEIGHT - 6,
        report.metric,
        report.scored_periods
    ));
    for (k, i) in lines.iter().enumerate() {
        let p = &report.policies[*i];
        let y = TOP + 14 + 20 * k as u32;
        let x = WIDTH - RIGHT + 12;
        extra.push_str(&format!(
            r#"<rect x="{x}" y="{}" width="14" height="4" fill="{}"/><text x="{}" y="{}" font-family="sans-serif" font-size="12">{} ({} retrains)</text>"#,
            y - 5,
            hex(PALETTE[k]),
            x + 20,
            y,
            escape_xml(&p.name),
            p.retrains
        ));
    }
    match text.rfind("</svg>") {
        Some(pos) => text.insert_str(pos, &extra),
        None => return Err(DrawError("plotters wrote no </svg>".into())),
    }
    Ok(text)
}

/// The chart as PNG bytes (lines only; colours as in [`PALETTE`]).
pub fn png(report: &BacktestReport) -> Result<Vec<u8>, DrawError> {
    let lines = charted(report);
    let mut buf = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        // No legend (no font): the plot takes the width; the report lists the colours.
        draw(root, report, &lines, 20)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| DrawError(e.to_string()))?;
        w.write_image_data(&buf)
            .map_err(|e| DrawError(e.to_string()))?;
    }
    Ok(out)
}

/// A Mermaid `xychart-beta` of the charted policies (lines in [`PALETTE`] order).
pub fn mermaid(report: &BacktestReport) -> String {
    let lines = charted(report);
    let (lo, hi) = y_range(report, &lines);
    let mut out = String::from("xychart-beta\n");
    out.push_str(&format!("    title \"{} per period\"\n", report.metric));
    let n = report.scored_periods;
    out.push_str(&format!("    x-axis \"period\" 1 --> {n}\n"));
    out.push_str(&format!(
        "    y-axis \"{}\" {lo:.1} --> {hi:.1}\n",
        report.metric
    ));
    for i in &lines {
        let values: Vec<String> = report.policies[*i]
            .metrics
            .iter()
            .map(|v| format!("{:.3}", v.unwrap_or(lo)))
            .collect();
        out.push_str(&format!("    line [{}]\n", values.join(", ")));
    }
    out
}

/// Writes `backtest.svg` and `backtest.png` into `dir`; returns their paths.
pub fn write(
    report: &BacktestReport,
    dir: &std::path::Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let svg_path = dir.join("backtest.svg");
    let png_path = dir.join("backtest.png");
    let svg_bytes = svg(report).map_err(std::io::Error::other)?;
    crate::snapshot::manifest::write_atomic(&svg_path, svg_bytes.as_bytes())?;
    let png_bytes = png(report).map_err(std::io::Error::other)?;
    crate::snapshot::manifest::write_atomic(&png_path, &png_bytes)?;
    Ok(vec![svg_path, png_path])
}
