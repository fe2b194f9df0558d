#!/usr/bin/env bash
# tests/fuzz/clang_or_gcc.sh — compiler launcher for the libFuzzer build (scripts/fuzz).
#
# CMake runs it as `clang_or_gcc.sh clang++-14 ARGS...`. It compiles with clang (sanitizers and
# coverage instrumentation on); if clang rejects a file — src/kernels/fft/fft_ukernel.inc uses
# GCC's __builtin_shuffle, which clang does not have — it compiles that file with g++ instead,
# without sanitizer/coverage flags (the object links fine: both use libstdc++), and says so.
compiler="$1"; shift
if "$compiler" "$@" 2> "${TMPDIR:-/tmp}/clang_or_gcc.$$.err"; then
  rm -f "${TMPDIR:-/tmp}/clang_or_gcc.$$.err"
  exit 0
fi
args=()
src=""
for a in "$@"; do
  case "$a" in
    -fsanitize=*|-fno-sanitize-recover=*|-fsanitize-coverage=*) ;;
    *.cpp) src="$a"; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
echo "clang_or_gcc: clang++ cannot compile $src ($(grep -m1 'error:' "${TMPDIR:-/tmp}/clang_or_gcc.$$.err" | sed 's/.*error: //')); using g++ without instrumentation" >&2
rm -f "${TMPDIR:-/tmp}/clang_or_gcc.$$.err"
exec g++ "${args[@]}"
