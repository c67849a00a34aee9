//! Per-epoch history: CSV log, PNG plot, JSON summary.

use std::io::Write;
use std::path::Path;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

/// One epoch's figures.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Mean training metric.
    pub metric: f64,
    /// Validation loss.
    pub val_loss: Option<f64>,
    /// Validation metric.
    pub val_metric: Option<f64>,
    /// Wall seconds of the training pass.
    pub seconds: f64,
}

/// Writes the history as CSV (header `epoch,loss,<metric>,val_loss,val_<metric>,seconds`).
pub fn write_csv(path: &Path, metric: &str, hist: &[EpochRecord]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "epoch,loss,{metric},val_loss,val_{metric},seconds")?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    for r in hist {
        writeln!(
            f,
            "{},{:.6},{:.6},{},{},{:.3}",
            r.epoch,
            r.loss,
            r.metric,
            opt(r.val_loss),
            opt(r.val_metric),
            r.seconds
        )?;
    }
    f.flush()
}

/// Colour of training curves.
pub const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
/// Colour of validation curves.
pub const VAL_COLOR: RGBColor = RGBColor(255, 127, 14);

/// The font for plot text, embedded so no system font is needed (DejaVu Sans,
/// free licence in `assets/DejaVuSans.LICENSE`).
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// The family name plot text asks for.
const FONT_NAME: &str = "tinyrnn-sans";

fn register_font() -> Result<(), String> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FONT_NAME, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the embedded plot font could not be loaded".into())
    }
}

/// A chart of both plots: `f64` on both axes, drawn into a PNG.
type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The axes, grid and labels both plots share: `x_labels` labels along x,
/// named `x_desc`, six along y.
fn draw_mesh(chart: &mut Chart<'_, '_>, x_desc: &str, x_labels: usize) -> Result<(), String> {
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_labels(6)
        .x_labels(x_labels)
        .x_desc(x_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .axis_style(BLACK)
        .label_style((FONT_NAME, 14))
        .axis_desc_style((FONT_NAME, 15))
        .draw()
        .map_err(|e| e.to_string())
}

/// The legend of the labelled series, in `corner`, on a light box.
fn draw_legend<'a>(chart: &mut Chart<'a, 'a>, corner: SeriesLabelPosition) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(corner)
        .label_font((FONT_NAME, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(|e| e.to_string())
}

/// Draws loss (left panel) and `metric` (right panel) per epoch, training in
/// blue, validation in orange, with axes, titles and a legend.
pub fn write_plot(path: &Path, metric: &str, hist: &[EpochRecord]) -> Result<(), String> {
    register_font()?;
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(500);
    type Pick = fn(&EpochRecord) -> (f64, Option<f64>);
    let metric_title = format!("{metric} per epoch");
    let panels: [(&DrawingArea<_, _>, &str, Pick); 2] = [
        (&left, "loss per epoch", |r| (r.loss, r.val_loss)),
        (&right, &metric_title, |r| (r.metric, r.val_metric)),
    ];
    for (area, title, pick) in panels {
        let pts: Vec<(f64, Option<f64>)> = hist.iter().map(pick).collect();
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for (a, b) in &pts {
            for v in std::iter::once(*a).chain(*b) {
                if v.is_finite() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
        if !lo.is_finite() {
            lo = 0.0;
            hi = 1.0;
        }
        if hi - lo < 1e-9 {
            hi = lo + 1.0;
        }
        let pad = (hi - lo) * 0.05;
        let x_max = hist.len().max(2) as f64;
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .caption(title, (FONT_NAME, 20))
            .x_label_area_size(38)
            .y_label_area_size(56)
            .build_cartesian_2d(1.0..x_max, (lo - pad)..(hi + pad))
            .map_err(|e| e.to_string())?;
        draw_mesh(&mut chart, "epoch", hist.len().clamp(2, 10))?;
        let train: Vec<(f64, f64)> = pts
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64 + 1.0, p.0))
            .collect();
        chart
            .draw_series(LineSeries::new(train.clone(), TRAIN_COLOR.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("training")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], TRAIN_COLOR.stroke_width(2))
            });
        chart
            .draw_series(
                train
                    .iter()
                    .map(|&p| Circle::new(p, 3, TRAIN_COLOR.filled())),
            )
            .map_err(|e| e.to_string())?;
        let val: Vec<(f64, f64)> = pts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.1.map(|v| (i as f64 + 1.0, v)))
            .collect();
        if !val.is_empty() {
            chart
                .draw_series(LineSeries::new(val.clone(), VAL_COLOR.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label("validation")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], VAL_COLOR.stroke_width(2))
                });
            chart
                .draw_series(val.iter().map(|&p| Circle::new(p, 3, VAL_COLOR.filled())))
                .map_err(|e| e.to_string())?;
        }
        // Keep the legend off the curves: below them when they rise.
        let rising = pts.last().map(|l| l.0) > pts.first().map(|f| f.0);
        let corner = if rising {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        };
        draw_legend(&mut chart, corner)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Most points [`write_prediction_plot`] draws (the first ones).
pub const PREDICTION_PLOT_MAX: usize = 500;

/// Draws float targets (blue) and the model's outputs (orange) for each row
/// (a sequence's last step, or each step), one output: `name`, `x_desc`
/// naming what the rows are. Up to [`PREDICTION_PLOT_MAX`] rows, the first.
pub fn write_prediction_plot(
    path: &Path,
    name: &str,
    x_desc: &str,
    target: &[f32],
    pred: &[f32],
) -> Result<(), String> {
    register_font()?;
    let total = target.len().min(pred.len());
    let n = total.min(PREDICTION_PLOT_MAX);
    let (target, pred) = (&target[..n], &pred[..n]);
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    for &v in target.iter().chain(pred) {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let pad = f64::from(hi - lo) * 0.05;
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let title = if n < total {
        format!("{name}: target and prediction (the first {n} of {total} rows)")
    } else {
        format!("{name}: target and prediction")
    };
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .caption(title, (FONT_NAME, 20))
        .x_label_area_size(38)
        .y_label_area_size(64)
        .build_cartesian_2d(
            0.0..(n.max(2) - 1) as f64,
            // room above the curves for the legend
            (f64::from(lo) - pad)..(f64::from(hi) + 6.0 * pad),
        )
        .map_err(|e| e.to_string())?;
    draw_mesh(&mut chart, x_desc, 10)?;
    for (values, label, color) in [
        (target, "target", TRAIN_COLOR),
        (pred, "prediction", VAL_COLOR),
    ] {
        let pts = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (i as f64, f64::from(v)));
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(|e| e.to_string())
}
