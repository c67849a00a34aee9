//! Training checkpoints (JSON), written atomically: a temporary file, then a rename.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::ModelSpec;
use crate::optim::Optimizer;
use crate::report::EpochRecord;
use crate::train::TrainConfig;

/// Everything needed to resume training or export.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Architecture.
    pub spec: ModelSpec,
    /// Parameters after `epoch` epochs.
    pub params: Vec<f32>,
    /// Optimizer moments.
    pub optim: Optimizer,
    /// Epochs done.
    pub epoch: usize,
    /// History so far.
    pub history: Vec<EpochRecord>,
    /// Settings of the run.
    pub cfg: TrainConfig,
    /// Best validation metric so far, its parameters and epoch (early stopping).
    pub best: Option<(f64, Vec<f32>, usize)>,
    /// Epochs since the best.
    pub since_best: usize,
    /// Text vocabulary, if any.
    pub vocab: Option<Vec<char>>,
    /// CSV feature names, if any.
    pub features: Option<Vec<String>>,
    /// Steps per sequence.
    pub seq_len: usize,
    /// Where the training inputs came from.
    #[serde(default)]
    pub train_data: Option<crate::data::TrainData>,
    /// The input standardization of a `--normalize` run.
    #[serde(default)]
    pub input_norm: Option<crate::data::InputNorm>,
    /// Class names (`--class-names`).
    #[serde(default)]
    pub class_names: Option<Vec<String>>,
}

/// Writes `ckpt` to `path` via `path.tmp` and a rename, so a crash never leaves a torn file.
pub fn save_atomic(path: &Path, ckpt: &Checkpoint) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(ckpt).map_err(std::io::Error::other)?;
    write_atomic(path, &bytes)
}

/// Writes bytes to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Reads a checkpoint.
pub fn load(path: &Path) -> Result<Checkpoint, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a tinyrnn checkpoint: {e}", path.display()))
}
