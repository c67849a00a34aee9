//! Integer models of the benchmark cases, shared by `benches/step.rs` and
//! `examples/bench_json.rs`: a case's f32 model quantized to the integer
//! format (the encoder writes its weight matrices in tiles, tensor layout 2),
//! and a row-major twin of the same file (layout 0, as the encoder wrote them
//! before the tiles) so the host kernels can be timed on both.

#![allow(dead_code, reason = "each user takes what it needs")]

use crate::cases::{inputs, model_bytes, Case};
use tinyrnn::quant::matvec::{tiled_index, TILED4};
use tinyrnn::quant::NumFormat;
use tinyrnn::{crc32, AlignedBuf, Kernel, Layout, Model, ModelBuilder};

/// The integer cases timed by default: LSTM 1x32 and 16x64, GRU 1x32.
pub const INT_CASES: [&str; 3] = ["lstm_1x32", "lstm_16x64", "gru_reset_after_1x32"];

/// An integer variant: weights tiled (the encoder's file) or row-major, and
/// the kernel.
#[derive(Clone, Copy)]
pub struct IntVariant {
    /// `int_<layout>_<kernel>`.
    pub name: &'static str,
    /// The encoder's tiled file, or its row-major twin.
    pub tiled: bool,
    /// Kernel.
    pub kernel: Kernel,
}

/// Row-major SIMD first: the reference of the others.
pub const INT_VARIANTS: [IntVariant; 4] = [
    IntVariant {
        name: "int_rowmajor_simd",
        tiled: false,
        kernel: Kernel::Simd,
    },
    IntVariant {
        name: "int_tiled_simd",
        tiled: true,
        kernel: Kernel::Simd,
    },
    IntVariant {
        name: "int_tiled_scalar",
        tiled: true,
        kernel: Kernel::Scalar,
    },
    IntVariant {
        name: "int_rowmajor_scalar",
        tiled: false,
        kernel: Kernel::Scalar,
    },
];

/// The integer model file of `case` (calibrated on the case's inputs) and
/// its row-major twin: `(tiled, row_major)`.
pub fn int_model_bytes(case: &Case) -> (Vec<u8>, Vec<u8>) {
    let f32_file = AlignedBuf::from_slice(&model_bytes(case, Layout::RowMajor));
    let model = Model::from_bytes(&f32_file).expect("loads");
    let mut b = ModelBuilder::from_model(&model);
    b.quantize(NumFormat::Integer).calibration(&inputs(case));
    let tiled = b.build().expect("integer model encodes");
    let rows = row_major_twin(&tiled);
    assert_ne!(tiled, rows, "{}: the encoder tiled no matrix", case.cell);
    (tiled, rows)
}

/// LEB128 `u32` at `*pos` (postcard's varint).
fn varint(b: &[u8], pos: &mut usize) -> usize {
    let mut v = 0usize;
    for shift in (0..35).step_by(7) {
        let byte = b[*pos];
        *pos += 1;
        v |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            return v;
        }
    }
    panic!("varint too long")
}

/// `file` with every tiled tensor (layout 2) rewritten row-major (layout 0)
/// and the CRC renewed: the same model as older encoders wrote it.
pub fn row_major_twin(file: &[u8]) -> Vec<u8> {
    let mut f = file.to_vec();
    let header_len = u32::from_le_bytes(f[8..12].try_into().unwrap()) as usize;
    let payload = (16 + header_len).next_multiple_of(16);
    let h = &file[16..16 + header_len];
    let mut pos = 0;
    // Layers: kind, act, format, input, output, first_tensor, tensor_count.
    for _ in 0..varint(h, &mut pos) {
        pos += 3;
        for _ in 0..3 {
            varint(h, &mut pos);
        }
        pos += 1;
    }
    // Tensors: offset, dtype, layout, rows, cols.
    for _ in 0..varint(h, &mut pos) {
        let offset = varint(h, &mut pos);
        let layout_at = 16 + pos + 1;
        pos += 2;
        let rows = varint(h, &mut pos);
        let cols = varint(h, &mut pos);
        if f[layout_at] != TILED4 {
            continue;
        }
        f[layout_at] = 0;
        let at = payload + offset;
        let t = &file[at..at + rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                let (i, comp) = tiled_index(r, c, cols);
                let w = t[i] as i8 as i32 + (comp && (t[i - 1] as i8) < 0) as i32;
                f[at + r * cols + c] = i8::try_from(w).expect("a quantizer weight") as u8;
            }
        }
    }
    let end = f.len() - 4;
    let crc = crc32(&f[..end]);
    f[end..].copy_from_slice(&crc.to_le_bytes());
    f
}
