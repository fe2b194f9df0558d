#!/bin/sh
# bench/run_torch_bench.sh — runs bench/torch_bench.py with the environment its numbers need.
#
#   bench/run_torch_bench.sh --threads 1 --filter res2a [--csv out.csv]
#
# * MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000: glibc keeps freed memory instead of
#   mmap/munmap-ing torch's per-call result buffers (in this VM that otherwise dominates the
#   time; see /work/shared/bench/ANCHORS.md). The threshold is written out in digits on purpose:
#   glibc 2.36 does NOT understand "1e11" (the heap is then trimmed after every free, exactly as
#   with the default).
# * PYTHONPATH: the convkit package from $CONVKIT_BUILD_DIR, else build-bench/, else build/.
# * Threads: torch_bench.py sets OPENBLAS_NUM_THREADS/OMP_NUM_THREADS to --threads itself
#   (before numpy/torch load) and also limits OpenBLAS with threadpoolctl when installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${CONVKIT_BUILD_DIR:-}
if [ -z "$build" ]; then
  for d in "$root/build-bench" "$root/build"; do
    if [ -d "$d/python/convkit" ]; then build=$d; break; fi
  done
fi
if [ -z "$build" ] || [ ! -d "$build/python/convkit" ]; then
  echo "run_torch_bench.sh: no convkit Python package in build-bench/python or build/python;" >&2
  echo "  build it first (see bench/README.md) or set CONVKIT_BUILD_DIR" >&2
  exit 2
fi
export MALLOC_MMAP_MAX_=0
export MALLOC_TRIM_THRESHOLD_=100000000000
export PYTHONPATH="$build/python${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 "$here/torch_bench.py" "$@"
