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

/// Draws loss (left panel) and metric (right panel) per epoch, training in blue,
/// validation in orange, on a light grid. No text is drawn, so no system font is needed.
pub fn write_plot(path: &Path, hist: &[EpochRecord]) -> Result<(), String> {
    let root = BitMapBackend::new(path, (900, 360)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(450);
    type Pick = fn(&EpochRecord) -> (f64, Option<f64>);
    let panels: [(&DrawingArea<_, _>, Pick); 2] = [
        (&left, |r| (r.loss, r.val_loss)),
        (&right, |r| (r.metric, r.val_metric)),
    ];
    for (area, pick) in panels {
        let area = area.margin(20, 20, 20, 20);
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
        let mut chart = ChartBuilder::on(&area)
            .build_cartesian_2d(1.0..x_max, (lo - pad)..(hi + pad))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_labels(6)
            .x_labels(hist.len().clamp(2, 10))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .axis_style(BLACK)
            .x_label_style(("sans-serif", 0).into_font().color(&TRANSPARENT))
            .y_label_style(("sans-serif", 0).into_font().color(&TRANSPARENT))
            .draw()
            .map_err(|e| e.to_string())?;
        let train: Vec<(f64, f64)> = pts
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64 + 1.0, p.0))
            .collect();
        chart
            .draw_series(LineSeries::new(train.clone(), TRAIN_COLOR.stroke_width(2)))
            .map_err(|e| e.to_string())?;
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
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(val.iter().map(|&p| Circle::new(p, 3, VAL_COLOR.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())
}
