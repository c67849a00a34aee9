#!/bin/sh
# Cost report of the firmware example on the emulated Cortex-M4F (QEMU mps2-an386).
#
# Usage: firmware-example/cost.sh [K]        (K steps per run, default 64; needs qemu-system-arm, gcc, llvm-size or arm-none-eabi-size)
#        M0=1 firmware-example/cost.sh [K]   also counts instructions per step on the Cortex-M0 (cortex-m0/, QEMU microbit)
#        FW_TARGET_DIR=DIR ...               builds the firmware in DIR instead of firmware-example/target
#
# For each model (lstm1x32, lstm16x64, gru1x32, elman1x32) in each format (f32, f16, i8, integer;
# files models/NAME.trnn, models/NAME.FORMAT.trnn):
# - instructions per step: the firmware built with only that model file (features NAME,FORMAT) runs
#   `bench K` and `bench 2K` under ../shared/tools/insncount (markers bench_start/bench_stop); per step
#   = (R(2K) - R(K)) / K, so start-up and marker costs cancel. Exact and repeatable (QEMU counts guest
#   instructions, not cycles). Float formats: `Model::step` with libm activations, and with the
#   runtime's `Math::Fast` ones ("fast math"); integer: `IntModel::step` (i16 in and out, no float).
# - flash: `size_probe` (load + step, no printing) built with the model, minus the same built with no
#   model: code = .text difference (the runtime: loader, cells, kernels, libm, memcpy) with both
#   activation maths (tinyrnn feature exact-math), and "fast-only" without it (Math::Fast only, no libm
#   sigmoid/tanh; float formats; the integer step never uses them), and "static" (fast-only, the model
#   loaded while compiling with `Model::from_aligned` / `static_model!`: no loader code, the `Model`
#   itself in flash; feature static-model of size_probe), const = .rodata
#   difference less the model file; weights = the model file (header + tensors + CRC), kept in flash in place.
# - RAM: static = .data + .bss of size_probe; state = what the caller owns (float: State<N>; integer:
#   IntModel's words = state + io buffers + scratch); stack = measured by painting, deepest use below
#   the caller's frame during step() and during Model::from_bytes().
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
K=${1:-64}
K2=$((2 * K))
target=thumbv7em-none-eabihf
insncount=${INSNCOUNT_DIR:-$here/../../shared/tools/insncount}
[ -x "$insncount/count.sh" ] || insncount=$here/../shared/tools/insncount
[ -x "$insncount/count.sh" ] || { echo "cost.sh: no insncount at $insncount (set INSNCOUNT_DIR)" >&2; exit 2; }
command -v qemu-system-arm >/dev/null || { echo "cost.sh: qemu-system-arm not installed (apt-get install qemu-system-arm)" >&2; exit 2; }
size=$(command -v llvm-size || command -v arm-none-eabi-size || command -v rust-size || true)
[ -n "$size" ] || { echo "cost.sh: need llvm-size (apt-get install llvm) or arm-none-eabi-size" >&2; exit 2; }
# Keep the host build's settings out of the firmware build.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
tdir=$here/target
if [ -n "${FW_TARGET_DIR:-}" ]; then
  tdir=$FW_TARGET_DIR
  export CARGO_TARGET_DIR="$FW_TARGET_DIR"
fi
out=$tdir/cost
mkdir -p "$out"
rm -f "$out/cost.txt.new"

# section NAME of ELF, in bytes
section() { "$size" -A "$1" | awk -v s="$2" '$1==s{print $2; f=1} END{if(!f)print 0}'; }
build() { # FEATURES BIN -> copies the ELF to $out/BIN-FEATURES.elf
  cargo build -q --release --target $target --no-default-features ${1:+--features "$1"} --bin "$2"
  cp "$tdir/$target/release/$2" "$out/$2-$(echo "${1:-none}" | tr , -).elf"
}
region() { # ELF K [fast] -> region count; also keeps the guest's bench line in $out/bench.line
  "$insncount/count.sh" "$1" bench "$2" ${3:-} >"$out/run.log" 2>&1 || { cat "$out/run.log" >&2; echo "cost.sh: run failed" >&2; exit 1; }
  grep '^bench ' "$out/run.log" >"$out/bench.line" || true
  sed -n 's/^insncount: .*region=\([0-9]*\).*/\1/p' "$out/run.log"
}
field() { sed -n "s/.*$1=\([0-9+]*\).*/\1/p" "$out/bench.line"; }

build "" size_probe
base_text=$(section "$out/size_probe-none.elf" .text)
base_ro=$(section "$out/size_probe-none.elf" .rodata)

printf '%-18s | %10s | %10s | %8s | %8s | %9s | %6s | %6s | %9s | %8s | %8s | %7s | %10s | %10s\n' \
  model insn/step "fast math" MACs/step "code B" "fast-only" static "const B" "weights B" "static B" "state B" "model B" "stack step" "stack load"
printf '%s\n' '-------------------|------------|------------|----------|----------|-----------|--------|--------|-----------|----------|----------|---------|------------|-----------'
for m in lstm1x32 lstm16x64 gru1x32 elman1x32; do
  for fmt in f32 f16 i8 integer; do
    file=models/$m.$fmt.trnn
    [ "$fmt" = f32 ] && file=models/$m.trnn
    [ -f "$file" ] || continue
    # With both activation maths (feature exact-math), and the runtime's code
    # without it (Math::Fast only: no libm, one copy of each cell).
    build "$m,$fmt,exact-math" tinyrnn-firmware-example
    build "$m,$fmt,exact-math" size_probe
    build "$m,$fmt" size_probe
    build "$m,$fmt,static-model" size_probe
    elf=$out/tinyrnn-firmware-example-$m-$fmt-exact-math.elf
    r1=$(region "$elf" "$K")
    r2=$(region "$elf" "$K2")
    per_step=$(( (r2 - r1) / K ))
    state=$(field state_bytes); model_b=$(field model_bytes); stack_step=$(field step_stack_bytes); stack_load=$(field load_stack_bytes)
    if [ "$fmt" = integer ]; then
      per_step_fast=-
    else
      f1=$(region "$elf" "$K" fast)
      f2=$(region "$elf" "$K2" fast)
      per_step_fast=$(( (f2 - f1) / K ))
    fi
    probe=$out/size_probe-$m-$fmt-exact-math.elf
    text=$(( $(section "$probe" .text) - base_text ))
    text_fast=$(( $(section "$out/size_probe-$m-$fmt.elf" .text) - base_text ))
    [ "$fmt" = integer ] && text_fast=-
    text_static=$(( $(section "$out/size_probe-$m-$fmt-static-model.elf" .text) - base_text ))
    weights=$(wc -c <"$file")
    ro=$(( $(section "$probe" .rodata) - base_ro - weights ))
    [ "$ro" -ge 0 ] || ro=0
    static=$(( $(section "$probe" .data) + $(section "$probe" .bss) ))
    # Dense heads included: LSTM 4H(I+H) + H*O, GRU 3H(I+H) + H*O, Elman H(I+H) + H*O.
    macs=$(awk -v m="$m" 'BEGIN{split("lstm1x32 4256 lstm16x64 20736 gru1x32 3200 elman1x32 1088",a," "); for(i=1;i<8;i+=2) if(a[i]==m) print a[i+1]}')
    printf '%-18s | %10s | %10s | %8s | %8s | %9s | %6s | %6s | %9s | %8s | %8s | %7s | %10s | %10s\n' \
      "$m.$fmt" "$per_step" "$per_step_fast" "${macs:-?}" "$text" "$text_fast" "$text_static" "$ro" "$weights" "$static" "$state" "$model_b" "$stack_step" "$stack_load"
    echo "cost: model=$m format=$fmt insn_per_step=$per_step insn_per_step_fast_math=$per_step_fast code_bytes=$text code_bytes_fast_only=$text_fast code_bytes_static=$text_static const_bytes=$ro weight_bytes=$weights static_ram=$static state_bytes=$state model_bytes=$model_b stack_step=$stack_step stack_load=$stack_load k=$K r_k=$r1 r_2k=$r2" >>"$out/cost.txt.new"
  done
done

# The runtime's Cortex-M4F kernels and the candidates measured against them (src/bin/kernel_bench.rs):
# each runs K and 2K times between the markers; every run also checks the kernel against the portable
# code on the chip and exits 1 (stopping this script) if they disagree.
cargo build -q --release --target $target --bin kernel_bench
kb=$tdir/$target/release/kernel_bench
rm -f "$out/kbench.lines"
kcount() { # VARIANT -> instructions per call (K = 4 and 8); appends the guest's check line to $out/kbench.lines
  "$insncount/count.sh" "$kb" kbench 4 "$1" >"$out/run.log" 2>&1 || { cat "$out/run.log" >&2; echo "cost.sh: kernel_bench $1 failed" >&2; exit 1; }
  a=$(sed -n 's/^insncount: .*region=\([0-9]*\).*/\1/p' "$out/run.log")
  "$insncount/count.sh" "$kb" kbench 8 "$1" >"$out/run.log" 2>&1 || { cat "$out/run.log" >&2; echo "cost.sh: kernel_bench $1 failed" >&2; exit 1; }
  b=$(sed -n 's/^insncount: .*region=\([0-9]*\).*/\1/p' "$out/run.log")
  grep '^kbench' "$out/run.log" >>"$out/kbench.lines" || true
  echo $(( (b - a) / 4 ))
}
echo
echo "matrix-vector kernels, W 256 x 64 = 16384 MACs per product (src/bin/kernel_bench.rs):"
for v in panel16 rowfma portable rows4 panel8 panel8fma; do
  case $v in
    panel16) label="runtime: column-major recurrent layers (ColMajor8), 16 rows x 4 columns per iteration, vfma";;
    rowfma) label="runtime: Dense and row-major recurrent layers, 8 columns per iteration, vfma";;
    portable) label="portable matvec_acc: the runtime's kernel without an FPU asm path (Cortex-M0, host scalar)";;
    *) label="candidate, not in the runtime";;
  esac
  per=$(kcount "$v")
  printf '  %-10s %7s insn  %s insn/MAC  %s\n' "$v" "$per" "$(awk -v p="$per" 'BEGIN{printf "%.2f", p/16384}')" "$label"
  echo "kernel: variant=$v insn_per_matvec=$per macs=16384" >>"$out/cost.txt.new"
done
echo "activations, 256 values (incl. a 3-instruction refill per value):"
for v in sigmoid_m4 tanh_m4 sigmoid_libm tanh_libm sigmoid_fast tanh_fast; do
  case $v in
    *_m4) label="runtime Math::Fast on Cortex-M4F: rational function, Horner in vfma, one vdiv";;
    *_libm) label="runtime Math::Exact: libm";;
    *) label="candidate exp2 (exponent bits + degree-6 polynomial), not in the runtime";;
  esac
  per=$(kcount "$v")
  printf '  %-13s %6s insn/value  %s\n' "$v" "$((per / 256))" "$label"
  echo "activation: variant=$v insn_per_256=$per" >>"$out/cost.txt.new"
done
echo "elementwise gate kernels, Math::Fast, 64 units per call:"
for v in lstm_gates gru_gates; do
  case $v in
    lstm_gates) label="runtime: LSTM c and h (4 activations + tanh(c) per unit)";;
    *) label="runtime: GRU reset-after h (2 sigmoids + tanh per unit)";;
  esac
  per=$(kcount "$v")
  printf '  %-10s %7s insn/unit  %s\n' "$v" "$((per / 64))" "$label"
  echo "elementwise: variant=$v insn_per_64_units=$per" >>"$out/cost.txt.new"
done
echo "on-chip checks of these kernels (last run of each):"
awk '{k=$2} {last[k]=$0; if(!(k in seen)){seen[k]=1; order[++n]=k}} END{for(i=1;i<=n;i++) print "  " last[order[i]]}' "$out/kbench.lines"


if [ "${M0:-0}" = 1 ]; then
  echo
  echo "Cortex-M0 (no FPU: f32 with soft float from compiler-builtins; integer with IntModel::step), QEMU microbit, K=16/32:"
  plugin=${INSNCOUNT_PLUGIN:-$HOME/.cache/insncount/libinsncount.so}
  [ -f "$plugin" ] || plugin=$("$insncount/build.sh")
  m0dir=$here/target/cortex-m0
  [ -n "${FW_TARGET_DIR:-}" ] && m0dir=$FW_TARGET_DIR
  for mf in lstm1x32,f32 lstm16x64,f32 gru1x32,f32 elman1x32,f32 lstm1x32,integer lstm16x64,integer gru1x32,integer elman1x32,integer; do
    m=${mf%,*}; fmt=${mf#*,}
    (cd cortex-m0 && cargo build -q --release --target thumbv6m-none-eabi --no-default-features --features "$mf,exact-math" --bin tinyrnn-firmware-example)
    elf=$m0dir/thumbv6m-none-eabi/release/tinyrnn-firmware-example
    s=$(nm "$elf" | awk '$3=="bench_start"{print "0x"$1}'); e=$(nm "$elf" | awk '$3=="bench_stop"{print "0x"$1}')
    r=""
    for k in 16 32; do
      qemu-system-arm -machine microbit -nographic -semihosting-config enable=on,target=native -kernel "$elf" \
        -append "bench $k" -plugin "$plugin,start=$s,stop=$e" -d plugin >"$out/run.log" 2>&1 || { cat "$out/run.log" >&2; exit 1; }
      r="$r $(sed -n 's/^insncount: .*region=\([0-9]*\).*/\1/p' "$out/run.log")"
    done
    set -- $r
    per=$(( ($2 - $1) / 16 ))
    printf '  %-18s %9s insn/step   %s\n' "$m.$fmt" "$per" "$(grep '^bench' "$out/run.log" | sed 's/^bench [^:]*: //')"
    echo "cost-m0: model=$m format=$fmt insn_per_step=$per" >>"$out/cost.txt.new"
  done
fi
mv "$out/cost.txt.new" "$out/cost.txt"
echo
echo "machine-readable lines: $out/cost.txt"
echo "goals (issue 6): integer LSTM 1x32 <= 13,500 and 16x64 <= 37,700 insn/step (CMSIS-NN s8: 27,067 and 75,500);"
echo "  f32 LSTM 1x32 <= 10,000 and 16x64 <= 40,000 (plain C f32: 33,083 and 115,505); runtime code <= 6 KB"
