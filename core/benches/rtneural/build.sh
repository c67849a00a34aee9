#!/usr/bin/env bash
# Builds the RTNeural side of the comparison, one binary per backend:
#   bench_eigen  (RTNEURAL_USE_EIGEN: Eigen 3.4, Debian's libeigen3-dev)
#   bench_xsimd  (RTNEURAL_USE_XSIMD: xsimd >= 9)
#
# usage: RTNEURAL_DIR=/path/to/RTNeural-checkout [XSIMD_DIR=...] core/benches/rtneural/build.sh
#   RTNEURAL_DIR  a directory holding RTNeural/ModelT.h (the repository root
#                 of https://github.com/jatinchowdhury18/RTNeural)
#   XSIMD_DIR     a directory holding xsimd/xsimd.hpp; by default the xsimd
#                 14.1 headers that the PyPI wheel of pythran 0.19.0 vendors
#                 are fetched with pip into $OUT/xsimd (Debian bookworm's
#                 libxsimd-dev 8.1 lacks xsimd::reduce_add)
#   OUT           where the binaries go (default: target/rtneural)
#   CPPFLAGS      added to both compiles (say -I for extra headers)
# The binaries print bench_json's JSON lines; side_by_side.py alternates them
# with bench_json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
: "${RTNEURAL_DIR:?set RTNEURAL_DIR to a directory holding RTNeural/ModelT.h}"
out=${OUT:-$root/target/rtneural}
mkdir -p "$out"
CXX=${CXX:-g++}
CXXFLAGS=${CXXFLAGS:-"-O3 -march=native -std=c++17 -DNDEBUG"}
if [ ! -f /usr/include/eigen3/Eigen/Dense ]; then
    echo "missing Eigen: apt-get install -y libeigen3-dev" >&2
    exit 1
fi
xsimd=${XSIMD_DIR:-$out}
if [ ! -f "$xsimd/xsimd/xsimd.hpp" ]; then
    tmp=$(mktemp -d)
    python3 -m pip download --no-deps --only-binary=:all: pythran==0.19.0 -d "$tmp" >/dev/null
    python3 - "$tmp" "$xsimd" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
whl = zipfile.ZipFile(glob.glob(os.path.join(tmp, "pythran-*.whl"))[0])
whl.extractall(tmp, members=[n for n in whl.namelist() if n.startswith("pythran/xsimd/")])
shutil.copytree(os.path.join(tmp, "pythran", "xsimd"), os.path.join(dest, "xsimd"), dirs_exist_ok=True)
PY
    rm -rf "$tmp"
fi
set -x
$CXX $CXXFLAGS ${CPPFLAGS:-} -I"$RTNEURAL_DIR" -I"$RTNEURAL_DIR/modules/json" -I/usr/include/eigen3 \
    -DRTNEURAL_USE_EIGEN=1 -DRTNEURAL_DEFAULT_ALIGNMENT=32 \
    "$here/harness.cpp" -o "$out/bench_eigen"
# On an AVX-512 machine xsimd's default batch is 64 bytes, and RTNeural
# stores batches into alignas(RTNEURAL_DEFAULT_ALIGNMENT) arrays.
$CXX $CXXFLAGS ${CPPFLAGS:-} -I"$RTNEURAL_DIR" -I"$RTNEURAL_DIR/modules/json" -I"$xsimd" \
    -DRTNEURAL_USE_XSIMD=1 -DRTNEURAL_DEFAULT_ALIGNMENT=64 \
    "$here/harness.cpp" -o "$out/bench_xsimd"
