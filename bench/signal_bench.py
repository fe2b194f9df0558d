#!/usr/bin/python3
"""convkit.signal vs scipy.signal and OpenCV over the filtering suite, side by side.

For every row of the suite (bench/suites/filters.csv: name,dtype,image_shape,kernel_shape,mode,
boundary) this times, in one process, with the same inputs:

  convkit      convolve2d(img, k, mode, boundary) for 2-D rows, convolve(img, k, mode) otherwise
               (method auto), writing into a preallocated out= array
  scipy        scipy.signal.convolve2d for 2-D rows, scipy.signal.convolve(method="direct")
               otherwise (skipped with --skip-slow when it would take minutes)
  fftconvolve  scipy.signal.fftconvolve (fill boundary only: scipy's FFT has no boundaries)
  oaconvolve   scipy.signal.oaconvolve (idem)
  opencv       cv2.filter2D with the kernel flipped (filter2D correlates) and the matching border
               (fill -> BORDER_CONSTANT, symm -> BORDER_REFLECT; wrap has no filter2D border, so
               n/a); 'valid'/'full' modes are cropped / pre-padded with cv2.copyMakeBorder, and the
               padding is timed too. 1-D rows run as a 1xN image; 3-D rows are n/a.

and prints median ms, GFLOP/s (2 * output size * kernel size / time), % of the machine's float
peak (--peak-gflops, default: probed by `convkit-bench --probe-peak` for --threads, float32;
float64 half that; 224 GFLOP/s a thread when the tool is not built), the traffic rate (input read + output written, bytes / time) as % of the measured memory
bandwidth (bench/convkit-membw, run at the start and at the end: the printed rows use the first,
the CSV the larger), and the speed ratios anchor_ms / convkit_ms (> 1: convkit is
faster). scipy's FFT functions are given workers=--threads (scipy.fft's thread count) so the
anchors use the same cores as convkit. Every convkit result is checked against scipy's (exact for integers; 1e-5 / 1e-12
relative to max|expected| for float32 / float64).

Kernels: rows named box*/gauss*/sobel* get those kernels (so separable paths apply), the others
get seeded normal random kernels (float) or random small integers (integer rows).
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import re
import statistics
import subprocess
import sys
import time


def parse_args(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default=os.path.join(here, "suites", "filters.csv"))
    p.add_argument("--filter", default="", help="only rows whose name contains this")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=0, help="timed repetitions (default adaptive)")
    p.add_argument("--skip-slow", action="store_true",
                   help="skip scipy direct runs estimated above 20 s")
    p.add_argument("--peak-gflops", type=float, default=0.0,
                   help="float32 peak of the machine for --threads (default: probed)")
    p.add_argument("--membw", type=float, default=0.0,
                   help="memory bandwidth in GB/s (default: run convkit-membw)")
    p.add_argument("--membw-tool", default="", help="path of convkit-membw")
    p.add_argument("--csv", default="")
    return p.parse_args(argv)


ARGS = parse_args()
# glibc keeps freed memory instead of mmap/munmap-ing the anchors' per-call result buffers (in
# this VM fresh pages dominate otherwise; see /work/shared/bench/ANCHORS.md): the same
# allocator setting the anchors were measured with. Written in digits: glibc 2.36 does not
# parse "1e11". Re-executes itself once with it.
if os.environ.get("MALLOC_MMAP_MAX_") != "0":
    env = dict(os.environ, MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_="100000000000")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))

import numpy as np  # noqa: E402
import scipy.fft as sp_fft  # noqa: E402
import scipy.signal as ss  # noqa: E402

import convkit  # noqa: E402
from convkit import signal as cs  # noqa: E402

try:
    import cv2  # noqa: E402
except ImportError:  # pragma: no cover
    cv2 = None


def read_suite(path, flt):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, dtype, ishape, kshape, mode, boundary = [c.strip() for c in line.split(",")]
            if flt and flt not in name:
                continue
            rows.append(dict(name=name, dtype=dtype,
                             ishape=tuple(int(v) for v in ishape.split("x")),
                             kshape=tuple(int(v) for v in kshape.split("x")),
                             mode=mode, boundary=boundary))
    return rows


def make_kernel(name, kshape, dtype, rng):
    kind = name.split(".")[-1]
    integer = np.dtype(dtype).kind in "iu"
    if kind.startswith("box") or "_box" in kind:
        # integer data keeps an integer kernel (ones), so the result keeps the input's dtype
        return np.ones(kshape, dtype=dtype) if integer else np.ones(kshape, dtype) / np.prod(kshape)
    if kind.startswith("gauss"):
        axes = [np.exp(-0.5 * ((np.arange(n) - (n - 1) / 2) / (n / 4)) ** 2) for n in kshape]
        k = axes[0]
        for a in axes[1:]:
            k = np.multiply.outer(k, a)
        return (k / k.sum()).astype(dtype)
    if kind.startswith("sobel"):
        return np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=dtype)
    if integer:
        return rng.integers(-3, 4, kshape).astype(dtype)
    return rng.standard_normal(kshape).astype(dtype)


def make_image(shape, dtype, rng):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 256, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def timeit(fn, reps):
    fn()  # warm-up (plans, pools, page faults)
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    if reps <= 0:
        reps = 3 if once > 1.0 else max(5, min(50, int(0.5 / max(once, 1e-6))))
    times = [once]
    for _ in range(reps - 1):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def build_tool(name):
    """Path of a tool of the build (bench/NAME), or "" when it is not built."""
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in [os.path.join(os.environ.get("CONVKIT_BUILD_DIR", ""), "bench", name),
                 os.path.join(here, "..", "build", "bench", name)]:
        if os.path.exists(cand):
            return cand
    return ""


def measure_peak():
    """float32 peak for --threads: the bench tool's probe (this machine's ISA and clock)."""
    if ARGS.peak_gflops > 0:
        return ARGS.peak_gflops
    tool = build_tool("convkit-bench")
    if tool:
        out = subprocess.run([tool, "--probe-peak", "--threads", str(ARGS.threads)],
                             capture_output=True, text=True, check=True).stdout
        m = re.search(r"peak f32: ([0-9.]+) GFLOP/s", out)
        if m:
            return float(m.group(1))
    return 224.0 * ARGS.threads


def measure_membw():
    if ARGS.membw > 0:
        return ARGS.membw
    tool = ARGS.membw_tool or build_tool("convkit-membw")
    if not tool:
        return float("nan")
    out = subprocess.run([tool, str(ARGS.threads)], capture_output=True, text=True, check=True).stdout
    vals = dict(line.split() for line in out.strip().splitlines())
    return max(float(vals["copy"]), float(vals["copy_streaming"]))


def opencv_fn(img, k, mode, boundary):
    if cv2 is None or img.ndim > 2 or boundary == "wrap":
        return None
    img2 = img if img.ndim == 2 else img.reshape(1, -1)
    k2 = k if k.ndim == 2 else k.reshape(1, -1)
    kf = np.ascontiguousarray(k2[::-1, ::-1]).astype(np.float32 if img.dtype != np.float64 else np.float64)
    border = {"fill": cv2.BORDER_CONSTANT, "symm": cv2.BORDER_REFLECT}[boundary]
    kh, kw = k2.shape
    # filter2D's anchor (kw//2, kh//2) on the flipped kernel equals scipy's 'same' centring for
    # odd kernels (all rows of the suite).
    if mode == "same":
        return lambda: cv2.filter2D(img2, -1, kf, borderType=border)
    if mode == "valid":
        return lambda: cv2.filter2D(img2, -1, kf, borderType=border)[kh // 2: img2.shape[0] - kh // 2,
                                                                      kw // 2: img2.shape[1] - kw // 2]
    # full: pad by (k-1)/2 more on each side, then 'same' on the padded image
    def full():
        padded = cv2.copyMakeBorder(img2, kh // 2, kh // 2, kw // 2, kw // 2, border, value=0)
        return cv2.filter2D(padded, -1, kf, borderType=border)
    return full


def check(got, want, dtype):
    if np.dtype(dtype).kind in "iu":
        return "exact" if np.array_equal(got, want) else "MISMATCH"
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
    scale = float(np.max(np.abs(want))) or 1.0
    err = float(np.max(np.abs(got.astype(np.float64) - want))) / scale
    return f"{err:.1e}" + ("" if err <= tol else " OVER")


def main():
    convkit.set_num_threads(ARGS.threads)
    if cv2 is not None:
        cv2.setNumThreads(ARGS.threads)
    peak32 = measure_peak()
    bw = measure_membw()
    rng = np.random.default_rng(0)
    print(f"# threads {ARGS.threads}; float32 peak {peak32:.0f} GFLOP/s (float64 {peak32 / 2:.0f}); "
          f"memory bandwidth {bw:.1f} GB/s (read + write)")
    header = ["name", "dtype", "convkit_ms", "GFLOP/s", "%peak", "%bw", "method", "check",
              "scipy_ms", "fftconvolve_ms", "oaconvolve_ms", "opencv_ms",
              "x_scipy", "x_fft_best", "x_opencv"]
    print(" ".join(f"{h:>14}" if i else f"{h:<18}" for i, h in enumerate(header)))
    rows_out = []
    row_gbps = []  # input read + output written per second, per row
    for r in read_suite(ARGS.suite, ARGS.filter):
        dt = r["dtype"]
        img = make_image(r["ishape"], dt, rng)
        k = make_kernel(r["name"], r["kshape"], dt, rng)
        mode, boundary = r["mode"], r["boundary"]
        two_d = img.ndim == 2
        if two_d:
            ck = lambda: cs.convolve2d(img, k, mode, boundary, out=out)  # noqa: E731
            sp = lambda: ss.convolve2d(img, k, mode, boundary)  # noqa: E731
        else:
            ck = lambda: cs.convolve(img, k, mode, out=out)  # noqa: E731
            sp = lambda: ss.convolve(img, k, mode, method="direct")  # noqa: E731
        out = (cs.convolve2d(img, k, mode, boundary) if two_d else cs.convolve(img, k, mode))
        expl = cs.explain("convolve2d" if two_d else "convolve", img, k, mode,
                          boundary=boundary)
        method = "fft" if "engine fft" in expl else "direct"
        t_ck = timeit(ck, ARGS.reps)
        out_size = out.size
        flops = 2.0 * out_size * float(np.prod(k.shape))
        peak = peak32 if np.dtype(out.dtype).itemsize <= 4 or out.dtype.kind in "iu" else peak32 / 2
        traffic = img.nbytes + out.nbytes
        macs_direct = float(np.prod(k.shape)) * out_size
        t_sp = math.nan
        if not (ARGS.skip_slow and macs_direct > 20 * 0.5e9):
            t_sp = timeit(sp, 1 if macs_direct > 5e9 else ARGS.reps)
        want = None
        t_fft = t_oa = math.nan
        if boundary == "fill":
            with sp_fft.set_workers(ARGS.threads):
                t_fft = timeit(lambda: ss.fftconvolve(img, k, mode), ARGS.reps)
                t_oa = timeit(lambda: ss.oaconvolve(img, k, mode), ARGS.reps)
        # reference result for the check: scipy direct when affordable, else fftconvolve
        if macs_direct <= 5e9 or not math.isnan(t_sp):
            want = sp()
        else:
            want = ss.fftconvolve(img.astype(np.float64), k.astype(np.float64), mode)
        status = check(out, want, dt)
        cvf = opencv_fn(img, k, mode, boundary)
        t_cv = timeit(cvf, ARGS.reps) if cvf else math.nan
        fft_best = min(t_fft, t_oa) if not math.isnan(t_fft) else math.nan
        row = dict(name=r["name"], dtype=dt, convkit_ms=t_ck * 1e3, gflops=flops / t_ck / 1e9,
                   pct_peak=100 * flops / t_ck / 1e9 / peak, pct_bw=100 * traffic / t_ck / 1e9 / bw,
                   method=method, check=status, scipy_ms=t_sp * 1e3, fftconvolve_ms=t_fft * 1e3,
                   oaconvolve_ms=t_oa * 1e3, opencv_ms=t_cv * 1e3, x_scipy=t_sp / t_ck,
                   x_fft_best=fft_best / t_ck, x_opencv=t_cv / t_ck)
        rows_out.append(row)
        row_gbps.append(traffic / t_ck / 1e9)
        vals = list(row.values())
        print(" ".join((f"{v:>14.3g}" if isinstance(v, float) else f"{str(v):>14}") if i
                       else f"{v:<18}" for i, v in enumerate(vals)), flush=True)
    # The VM's bandwidth moves by tens of % within minutes: measure again at the end and
    # express every row against the larger of the two measurements.
    bw_end = measure_membw()
    bw_best = max(bw, bw_end)
    for row, gbps in zip(rows_out, row_gbps):
        row["pct_bw"] = 100 * gbps / bw_best
    print(f"# memory bandwidth at the end {bw_end:.1f} GB/s; the CSV's %bw uses {bw_best:.1f} GB/s")
    if ARGS.csv:
        with open(ARGS.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows_out[0].keys()))
            w.writeheader()
            w.writerows(rows_out)


if __name__ == "__main__":
    main()
