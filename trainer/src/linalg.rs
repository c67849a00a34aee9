//! Dense matrix products through the `gemm` crate, behind a bounds-checked view.

use crate::float::Float;

/// A read-only strided matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T: Float> MatRef<'a, T> {
    /// A row-major `rows x cols` matrix stored contiguously at the start of `data`.
    ///
    /// # Panics
    /// If `data` is shorter than `rows * cols` (a programming error, not bad input).
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix view out of bounds");
        MatRef {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// A row-major matrix with an explicit row stride (a column block of a wider matrix).
    ///
    /// # Panics
    /// If the last element would lie outside `data`.
    pub fn strided(data: &'a [T], rows: usize, cols: usize, row_stride: usize) -> Self {
        if rows > 0 && cols > 0 {
            assert!(
                (rows - 1) * row_stride + cols <= data.len(),
                "matrix view out of bounds"
            );
        }
        MatRef {
            data,
            rows,
            cols,
            rs: row_stride,
            cs: 1,
        }
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// `c = a * b` (or `c += a * b` when `accumulate`), `c` row-major `a.rows x b.cols`
/// with row stride `ldc`.
///
/// # Panics
/// On mismatched shapes or a too-short `c` (programming errors).
pub fn matmul_ld<T: Float>(
    c: &mut [T],
    ldc: usize,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    accumulate: bool,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "inner dimensions differ");
    assert!(ldc >= n, "row stride smaller than the row");
    if m == 0 || n == 0 {
        return;
    }
    assert!((m - 1) * ldc + n <= c.len(), "output too short");
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c[i * ldc..i * ldc + n].fill(T::ZERO);
            }
        }
        return;
    }
    // SAFETY: the views were bounds-checked at construction, the output extent
    // (m - 1) * ldc + n was checked above, `c` is borrowed mutably so it
    // cannot alias `a` or `b`, and `T` is f32 or f64 (the only `Float` types),
    // both supported by `gemm`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `c = a * b` (or `+=`), `c` contiguous row-major.
pub fn matmul<T: Float>(c: &mut [T], a: MatRef<'_, T>, b: MatRef<'_, T>, accumulate: bool) {
    let n = b.cols;
    matmul_ld(c, n, a, b, accumulate);
}

/// `out[j] += sum_i m[i * cols + j]` over `rows` rows.
pub fn add_col_sums<T: Float>(out: &mut [T], m: &[T], rows: usize, cols: usize) {
    for row in m[..rows * cols].chunks_exact(cols) {
        for (o, &v) in out[..cols].iter_mut().zip(row) {
            *o += v;
        }
    }
}

/// `out[j] += sum_i m[i * stride + off + j]` for `j < cols`: column sums of a block.
pub fn add_col_sums_strided<T: Float>(
    out: &mut [T],
    m: &[T],
    rows: usize,
    stride: usize,
    off: usize,
    cols: usize,
) {
    for i in 0..rows {
        let row = &m[i * stride + off..i * stride + off + cols];
        for (o, &v) in out[..cols].iter_mut().zip(row) {
            *o += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn matmul_matches_naive_including_transposes_and_odd_sizes() {
        for &(m, k, n) in &[(1, 1, 1), (7, 33, 5), (0, 3, 4), (3, 0, 2), (16, 64, 256)] {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let want = naive(&a, &b, m, k, n);
            let mut c = vec![1.0; m * n];
            matmul(
                &mut c,
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&b, k, n),
                false,
            );
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() < 1e-12);
            }
            // b given transposed: bt is n x k
            let mut bt = vec![0.0; k * n];
            for p in 0..k {
                for j in 0..n {
                    bt[j * k + p] = b[p * n + j];
                }
            }
            let mut c2 = want.clone();
            matmul(
                &mut c2,
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&bt, n, k).t(),
                true,
            );
            for (x, y) in c2.iter().zip(&want) {
                assert!((x - 2.0 * y).abs() < 1e-12);
            }
        }
    }
}
