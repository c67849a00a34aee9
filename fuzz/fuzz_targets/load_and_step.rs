//! Arbitrary bytes into `Model::from_bytes` (and `Model::from_aligned`, which
//! must answer the same), then `step`, `step_token` and `skip` on whatever
//! loads. Nothing may panic or read out of bounds.
//!
//! Most random bytes fail the CRC; the first byte selects whether the CRC is
//! fixed up, so the fuzzer also reaches the header and layer validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyrnn::quant::IntModel;
use tinyrnn::{crc32, AlignedBuf, Model, StateVec};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 && bytes.len() >= 4 {
        let n = bytes.len() - 4;
        let crc = crc32(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
    }
    let buf = AlignedBuf::from_slice(&bytes);
    let result = Model::from_bytes(&buf);
    // The entry that loads models while compiling runs the same checks.
    let in_const = Model::<16>::from_aligned(buf.as_aligned());
    assert_eq!(
        result.as_ref().err(),
        in_const.as_ref().err(),
        "from_bytes and from_aligned disagree"
    );
    let Ok(model) = result else { return };
    // Bound the work so huge-but-valid models do not time out the fuzzer.
    if model.state_len() > 1 << 16 || model.macs_per_step() > 1 << 20 {
        return;
    }
    let mut state = StateVec::new(&model);
    let mut y = vec![0.0f32; model.output_size()];
    let x: Vec<f32> = (0..model.input_size())
        .map(|i| (i as f32 * 0.7).sin() * 3.0)
        .collect();
    for t in 0..4usize {
        let _ = model.step(&mut state, &x, &mut y);
        let _ = model.step_token(
            &mut state,
            t.wrapping_mul(7) % (model.input_size() + 1),
            &mut y,
        );
        let _ = model.skip(&mut state, &mut y);
    }
    let _ = model.step(&mut state, &[f32::NAN; 3], &mut y);
    let _ = model.step(&mut state, &x, &mut []);
    // The float-free entry of integer models.
    if let Ok(int) = IntModel::new(&model) {
        let mut words = vec![0i32; int.state_len()];
        let mut yq = vec![0i16; model.output_size()];
        let xq: Vec<i16> = (0..model.input_size())
            .map(|i| (i as i16).wrapping_mul(7919))
            .collect();
        for t in 0..4usize {
            let _ = int.step(&mut words, &xq, &mut yq);
            let _ = int.step_token(&mut words, t * 3 % (model.input_size() + 1), &mut yq);
        }
        let _ = int.step(&mut words, &xq, &mut []);
        let _ = int.step(&mut [], &xq, &mut yq);
    }
});
