//! A small `.npy` reader and writer (format versions 1-3, little-endian numeric dtypes, C order).

use std::io::Write;
use std::path::Path;

use super::DataError;

/// Element values of an array, widened.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// Floating point (`f2`, `f4`, `f8`), as f32.
    Float(Vec<f32>),
    /// Integers (`i1`..`i8`, `u1`..`u8`, `b1`), as i64.
    Int(Vec<i64>),
}

/// An array read from a `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Npy {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: NpyData,
}

fn err(path: &Path, msg: impl Into<String>) -> DataError {
    DataError::new(path, msg)
}

/// Reads a `.npy` file.
pub fn read(path: &Path) -> Result<Npy, DataError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    parse(&bytes).map_err(|m| err(path, m))
}

/// Parses `.npy` bytes.
pub fn parse(bytes: &[u8]) -> Result<Npy, String> {
    if bytes.is_empty() {
        return Err("empty file, expected a .npy array".into());
    }
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (missing the \\x93NUMPY magic)".into());
    }
    let major = bytes[6];
    let (hlen, start): (usize, usize) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| "header is not text")?;
    let descr = dict_str(header, "descr").ok_or("header has no 'descr'")?;
    if header.contains("'fortran_order': True") {
        return Err(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        );
    }
    let shape = dict_shape(header).ok_or("header has no readable 'shape'")?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("shape too large")?;
    let body = &bytes[end..];
    let (endian, kind, size) = parse_descr(&descr)?;
    if endian == '>' && size > 1 {
        return Err(format!("big-endian dtype {descr} is not supported"));
    }
    let need = count.checked_mul(size).ok_or("shape too large")?;
    if body.len() < need {
        return Err(format!(
            "data is {} bytes, shape {:?} of {descr} needs {need}",
            body.len(),
            shape
        ));
    }
    let chunks = body[..need].chunks_exact(size.max(1));
    if (kind, size) == ('u', 8) {
        if let Some(i) = chunks.clone().position(|c| c[7] & 0x80 != 0) {
            return Err(format!(
                "value at flat index {i} is 2^63 or more; expected integers below 2^63"
            ));
        }
    }
    let data = match (kind, size) {
        ('f', 4) => NpyData::Float(
            chunks
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        ('f', 8) => {
            let mut narrow = Vec::with_capacity(count);
            for (i, c) in chunks.enumerate() {
                let v = f64::from_le_bytes(c.try_into().expect("8 bytes"));
                if v.is_finite() && !(v as f32).is_finite() {
                    return Err(format!(
                        "value {v:e} at flat index {i} is beyond the float32 range (±3.4e38)"
                    ));
                }
                narrow.push(v as f32);
            }
            NpyData::Float(narrow)
        }
        ('f', 2) => NpyData::Float(
            chunks
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        ),
        ('i', n) | ('u', n) | ('b', n) if matches!(n, 1 | 2 | 4 | 8) => NpyData::Int(
            chunks
                .map(|c| {
                    let mut b = [0u8; 8];
                    b[..n].copy_from_slice(c);
                    if kind == 'i' && c[n - 1] & 0x80 != 0 {
                        b[n..].fill(0xff);
                    }
                    i64::from_le_bytes(b)
                })
                .collect(),
        ),
        _ => {
            return Err(format!(
                "unsupported dtype {descr}; expected float32/float64 or an integer type"
            ))
        }
    };
    Ok(Npy { shape, data })
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match exp {
        0 => {
            if man == 0 {
                sign
            } else {
                return f32::from_bits(sign)
                    + (man as f32) * 2f32.powi(-24) * if sign != 0 { -1.0 } else { 1.0 };
            }
        }
        31 => sign | 0x7f80_0000 | (man << 13),
        e => sign | ((e + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

fn parse_descr(d: &str) -> Result<(char, char, usize), String> {
    let mut ch = d.chars();
    let endian = ch.next().ok_or("empty dtype")?;
    let kind = ch.next().ok_or("short dtype")?;
    let size: usize = ch
        .as_str()
        .parse()
        .map_err(|_| format!("unsupported dtype {d}"))?;
    Ok((endian, kind, size))
}

fn dict_str(h: &str, key: &str) -> Option<String> {
    let at = h.find(&format!("'{key}'"))?;
    let rest = &h[at + key.len() + 2..];
    let q = rest.find('\'')?;
    let rest = &rest[q + 1..];
    let e = rest.find('\'')?;
    Some(rest[..e].to_string())
}

fn dict_shape(h: &str) -> Option<Vec<usize>> {
    let at = h.find("'shape'")?;
    let rest = &h[at..];
    let open = rest.find('(')?;
    let close = rest.find(')')?;
    rest[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

/// Writes a float32 array.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), DataError> {
    let body: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_raw(path, "<f4", shape, &body)
}

/// Writes an int64 array.
pub fn write_i64(path: &Path, shape: &[usize], data: &[i64]) -> Result<(), DataError> {
    let body: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_raw(path, "<i8", shape, &body)
}

fn write_raw(path: &Path, descr: &str, shape: &[usize], body: &[u8]) -> Result<(), DataError> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_s = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + body.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    let mut f =
        std::fs::File::create(path).map_err(|e| err(path, format!("cannot create: {e}")))?;
    f.write_all(&out)
        .map_err(|e| err(path, format!("cannot write: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("tinyrnn-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.npy");
        write_f32(&p, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]).unwrap();
        let a = read(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, NpyData::Float(vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5]));
        assert!(parse(b"").unwrap_err().contains("empty"));
        assert!(parse(b"hello world!").unwrap_err().contains("magic"));
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.truncate(bytes.len() - 3);
        assert!(parse(&bytes).unwrap_err().contains("needs"));
        // int64 with negative values
        let mut h = String::from("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }");
        h.push_str(&" ".repeat(128 - 11 - h.len()));
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(&7i64.to_le_bytes());
        b.extend_from_slice(&(-2i64).to_le_bytes());
        assert_eq!(parse(&b).unwrap().data, NpyData::Int(vec![7, -2]));
        std::fs::remove_dir_all(&dir).ok();
    }
}
