//! CSV time series: one row per timestep, columns are features; `--target`
//! columns are predicted; windows of `T` rows every `S` rows become sequences.

use std::path::Path;

use super::{DataError, DataInput, DataTargets, Dataset};

/// How to cut a CSV file into sequences.
#[derive(Clone, Debug)]
pub struct CsvWindows {
    /// Target column names.
    pub targets: Vec<String>,
    /// Steps per window.
    pub window: usize,
    /// Rows between window starts.
    pub stride: usize,
    /// Predict the target `horizon` rows after the window's last row (many-to-one),
    /// or at every step shifted by `horizon` (many-to-many).
    pub horizon: usize,
    /// Targets at every step instead of after the last.
    pub many_to_many: bool,
    /// Keep the target columns among the input features.
    pub targets_as_features: bool,
    /// Read the one target column as class labels (whole numbers from 0 to
    /// 65,535: `--loss ce`), not as float values.
    pub classes: bool,
}

/// The field separator, from the first non-blank line (the header): a
/// comma, or else a semicolon or a tab if it has one (spreadsheets in
/// locales with a decimal comma write `;`).
fn delimiter(bytes: &[u8]) -> u8 {
    let header = bytes
        .split(|&b| b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .find(|d| header.contains(d))
        .unwrap_or(b',')
}

/// The column names of the CSV file at `path` (trimmed, as [`load`] reads
/// them), reading no further than its header line; `None` if it cannot be
/// read or parsed.
pub fn header(path: &Path) -> Option<Vec<String>> {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(std::fs::File::open(path).ok()?).lines();
    let line = lines.find_map(|l| l.ok().filter(|l| !l.trim().is_empty()))?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .delimiter(delimiter(line.as_bytes()))
        .from_reader(line.as_bytes());
    Some(
        rdr.headers()
            .ok()?
            .iter()
            .map(|h| h.trim().to_string())
            .collect(),
    )
}

/// Whether `v` can be a class label: a whole number from 0 to 65,535.
pub fn is_label(v: f32) -> bool {
    (0.0..65536.0).contains(&v) && v.fract() == 0.0
}

/// Reads a CSV file with a header row (fields separated by commas, or by
/// semicolons or tabs, as its header line shows) into windows.
pub fn load(path: &Path, w: &CsvWindows) -> Result<(Dataset, Vec<String>), DataError> {
    let err = |m: String| DataError::new(path, m);
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    // The line (1-based) of the record that the reader reports at `pos`: its
    // positions can point at blank lines before the record, which are skipped.
    // Only for error messages: it scans the file up to `pos`.
    let line_at = |pos: Option<&::csv::Position>| {
        let at = pos.map_or(0, |p| p.byte() as usize).min(bytes.len());
        let start = at
            + bytes[at..]
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
        1 + bytes[..start].iter().filter(|&&b| b == b'\n').count()
    };
    let mut rdr = ::csv::ReaderBuilder::new()
        .delimiter(delimiter(&bytes))
        .has_headers(true)
        .flexible(false)
        .from_reader(&bytes[..]);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| err(format!("bad header row: {e}")))?
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    if header.is_empty() || header.iter().all(|h| h.is_empty()) {
        return Err(err(
            "empty file: expected a header row naming the columns".into()
        ));
    }
    let mut target_idx = Vec::new();
    for t in &w.targets {
        match header.iter().position(|h| h == t) {
            Some(i) => target_idx.push(i),
            None => {
                return Err(err(format!(
                    "unknown --target column '{t}'; columns are: {}",
                    header.join(", ")
                )))
            }
        }
    }
    if w.classes && target_idx.len() > 1 {
        return Err(err(format!(
            "class labels (--loss ce) come from one --target column, {} were given",
            target_idx.len()
        )));
    }
    let feature_idx: Vec<usize> = (0..header.len())
        .filter(|i| w.targets_as_features || !target_idx.contains(i))
        .collect();
    if feature_idx.is_empty() {
        return Err(err(
            "no feature columns left after removing the targets".into()
        ));
    }
    let mut rows: Vec<Vec<f32>> = Vec::new();
    let mut rec = ::csv::StringRecord::new();
    // Rows are named by their line in the file (the header is line 1).
    loop {
        let more = rdr.read_record(&mut rec).map_err(|e| {
            let line = line_at(e.position());
            match e.kind() {
                ::csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => err(format!(
                    "row {line}: {len} fields, expected {expected_len} like the header"
                )),
                _ => err(format!("row {line}: {e}")),
            }
        })?;
        if !more {
            break;
        }
        let line = || line_at(rec.position());
        let mut vals = Vec::with_capacity(rec.len());
        for (c, field) in rec.iter().enumerate() {
            let v: f32 = field.trim().parse().map_err(|_| {
                let hint = if field.contains(',') && !field.contains('.') {
                    " (a decimal comma? write the number with a point, as 1.5)"
                } else {
                    ""
                };
                err(format!(
                    "row {}, column '{}': '{field}' is not a number{hint}",
                    line(),
                    header[c]
                ))
            })?;
            if !v.is_finite() {
                return Err(err(format!(
                    "row {}, column '{}': {field}; expected a finite number",
                    line(),
                    header[c]
                )));
            }
            if w.classes && target_idx.contains(&c) && !is_label(v) {
                return Err(err(format!(
                    "row {}, column '{}': {field} is not a class label; --loss ce reads the \
                     target as whole numbers from 0 to 65535",
                    line(),
                    header[c]
                )));
            }
            vals.push(v);
        }
        rows.push(vals);
    }
    if rows.is_empty() {
        return Err(err("no data rows after the header".into()));
    }
    let (t, s, hz) = (w.window, w.stride.max(1), w.horizon);
    if t == 0 {
        return Err(err("--window must be at least 1".into()));
    }
    let need = t + hz;
    if rows.len() < need {
        return Err(err(format!(
            "{} data rows, a window of {t} with horizon {hz} needs {need}",
            rows.len()
        )));
    }
    let starts: Vec<usize> = (0..=rows.len() - need).step_by(s).collect();
    let f = feature_idx.len();
    let o = target_idx.len();
    let mut x = Vec::with_capacity(starts.len() * t * f);
    let mut y = Vec::new();
    for &st in &starts {
        for r in &rows[st..st + t] {
            x.extend(feature_idx.iter().map(|&i| r[i]));
        }
        if w.many_to_many {
            for r in &rows[st + hz..st + hz + t] {
                y.extend(target_idx.iter().map(|&i| r[i]));
            }
        } else {
            let r = &rows[st + t - 1 + hz];
            y.extend(target_idx.iter().map(|&i| r[i]));
        }
    }
    let targets = if o == 0 {
        DataTargets::None
    } else if w.classes {
        // (each value checked by `is_label` as it was read)
        let y: Vec<u32> = y.iter().map(|&v| v as u32).collect();
        let classes = y.iter().max().map_or(0, |&m| m as usize + 1);
        DataTargets::Classes { classes, y }
    } else {
        DataTargets::Values { o, y }
    };
    let names = feature_idx.iter().map(|&i| header[i].clone()).collect();
    Ok((
        Dataset {
            n: starts.len(),
            t,
            input: DataInput::Dense { f, x },
            targets,
            per_step: w.many_to_many,
            mask: None,
        },
        names,
    ))
}
