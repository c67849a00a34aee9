//! Plain text for character-level models: the vocabulary is the sorted set of
//! characters; each window of `T` characters predicts the next character at every step.

use std::path::Path;

use super::{DataError, DataInput, DataTargets, Dataset};

/// Reads `path` and cuts windows of `window` characters every `stride`.
/// With `vocab` given (from a trained model), unknown characters are an error.
pub fn load(
    path: &Path,
    window: usize,
    stride: usize,
    vocab: Option<&[char]>,
) -> Result<(Dataset, Vec<char>), DataError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| DataError::new(path, format!("cannot read as UTF-8 text: {e}")))?;
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Err(DataError::new(path, "empty file: expected text"));
    }
    let vocab: Vec<char> = match vocab {
        Some(v) => v.to_vec(),
        None => {
            let mut v = chars.clone();
            v.sort_unstable();
            v.dedup();
            v
        }
    };
    let mut ids = Vec::with_capacity(chars.len());
    for (i, c) in chars.iter().enumerate() {
        match vocab.binary_search(c) {
            Ok(k) => ids.push(k as u32),
            Err(_) => {
                return Err(DataError::new(
                    path,
                    format!("character {c:?} at offset {i} is not in the model's vocabulary"),
                ))
            }
        }
    }
    if window == 0 {
        return Err(DataError::new(path, "--window must be at least 1"));
    }
    if ids.len() < window + 1 {
        return Err(DataError::new(
            path,
            format!(
                "{} characters, a window of {window} needs at least {}",
                ids.len(),
                window + 1
            ),
        ));
    }
    let starts: Vec<usize> = (0..ids.len() - window).step_by(stride.max(1)).collect();
    let mut x = Vec::with_capacity(starts.len() * window);
    let mut y = Vec::with_capacity(starts.len() * window);
    for &s in &starts {
        x.extend_from_slice(&ids[s..s + window]);
        y.extend_from_slice(&ids[s + 1..s + window + 1]);
    }
    Ok((
        Dataset {
            n: starts.len(),
            t: window,
            input: DataInput::Tokens {
                vocab: vocab.len(),
                x,
            },
            targets: DataTargets::Classes {
                classes: vocab.len(),
                y,
            },
            per_step: true,
            mask: None,
        },
        vocab,
    ))
}
