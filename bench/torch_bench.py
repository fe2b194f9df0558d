#!/usr/bin/python3
"""convkit vs PyTorch: forward conv2d timings over a layer suite (float32, or --dtype float64).

For every layer of the suite (bench/suites/layers.csv format:
name,n,c,h,w,k,r,s,stride,pad,dilation,groups) this times

  convkit NCHW   convkit.conv2d(x, w, ..., layout="NCHW", out=y)   (y preallocated)
  convkit NHWC   convkit.conv2d(x_nhwc, w, ..., layout="NHWC", out=y_nhwc)
  torch NCHW     torch.nn.functional.conv2d on contiguous tensors
  torch CL       the same with x and w in torch.channels_last

under torch.no_grad() and prints median ms, GFLOP/s (2*MACs/time, MACs with padding taps as in
ConvProblem::macs()), the speed ratios convkit/torch (torch ms / convkit ms: > 1 means convkit
is faster) for NCHW vs NCHW and NHWC vs channels_last, and the largest |difference| between
the results (inputs are small integers, so every result should be identical). Geometric means
at the end.

Run it through bench/run_torch_bench.sh, which sets PYTHONPATH and MALLOC_MMAP_MAX_=0
MALLOC_TRIM_THRESHOLD_=100000000000 (glibc ignores the spelling "1e11"). torch allocates its
result on every call; with glibc's defaults each call mmaps, page-faults and unmaps it, which
in this VM dominates the time (see /work/shared/bench/ANCHORS.md). The thread count (--threads) is applied to
convkit (set_num_threads), torch (set_num_threads) and OpenBLAS (threadpoolctl, plus
OPENBLAS_NUM_THREADS/OMP_NUM_THREADS set before numpy and torch are imported).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time


def parse_args(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default=os.path.join(here, "suites", "layers.csv"),
                   help="layer suite CSV (default: bench/suites/layers.csv)")
    p.add_argument("--filter", default="", help="only layers whose name contains this")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for convkit, torch and OpenBLAS (default: all cores)")
    p.add_argument("--reps", type=int, default=0,
                   help="timed repetitions after warm-up (default adaptive: at least 5 and at "
                        "least 0.5 s; 3 when one call takes over 1 s)")
    p.add_argument("--csv", default="", help="also write the rows to this CSV file")
    p.add_argument("--skip-torch", action="store_true", help="time convkit only")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="element type of every tensor (default float32)")
    p.add_argument("--backward", action="store_true",
                   help="time the backward pass instead (NCHW): grad_x and grad_weight from "
                        "grad_output, convkit.conv2d_backward vs torch.ops.aten."
                        "convolution_backward, the function PyTorch's autograd runs")
    a = p.parse_args(argv)
    if a.threads < 1:
        p.error("--threads must be >= 1")
    return a


ARGS = parse_args()
# Thread pools read these when their libraries load: set them before numpy/torch come in.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

import convkit  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402
except ImportError:  # pragma: no cover
    torch = None

try:
    from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402
except ImportError:  # pragma: no cover
    threadpool_limits = None
    threadpool_info = None


def load_suite(path, flt):
    layers = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            cols = [c.strip() for c in s.split(",")]
            if len(cols) != 12:
                sys.exit(f"{path}:{lineno}: expected 12 columns "
                         f"name,n,c,h,w,k,r,s,stride,pad,dilation,groups, got {len(cols)}")
            name = cols[0]
            n, c, h, w, k, r, s_, stride, pad, dil, groups = (int(v) for v in cols[1:])
            if flt and flt not in name:
                continue
            layers.append(dict(name=name, n=n, c=c, h=h, w=w, k=k, r=r, s=s_, stride=stride,
                               pad=pad, dilation=dil, groups=groups))
    return layers


def out_size(i, k, s, p, d):
    return (i + 2 * p - d * (k - 1) - 1) // s + 1


def layer_geometry(L):
    """(n, c, h, w, k, r, s, stride, pad, dilation, groups, oh, ow, MACs) of a suite layer."""
    n, c, h, w, k = L["n"], L["c"], L["h"], L["w"], L["k"]
    r, s, st, pd, dl, g = L["r"], L["s"], L["stride"], L["pad"], L["dilation"], L["groups"]
    oh, ow = out_size(h, r, st, pd, dl), out_size(w, s, st, pd, dl)
    return n, c, h, w, k, r, s, st, pd, dl, g, oh, ow, n * k * oh * ow * (c // g) * r * s


def time_it(fn, fixed_reps):
    """Median seconds of fn() after warm-up (the same policy as convkit-bench)."""
    t0 = time.perf_counter()
    fn()
    warm = time.perf_counter() - t0
    if warm < 0.05:
        fn()
    ts = []
    if fixed_reps:
        for _ in range(fixed_reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    else:
        min_reps = 3 if warm > 1.0 else 5
        total = 0.0
        while len(ts) < min_reps or (total < 0.5 and len(ts) < 100000):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
            total += ts[-1]
    return statistics.median(ts), len(ts)


def small_ints(rng, shape):
    # Small integers: every partial sum is exact in float32 (and float64), so all variants must
    # agree exactly.
    return rng.integers(-2, 3, size=shape).astype(ARGS.dtype)


def tolerance(algorithm, summed_channels):
    """0 for direct summation (exact on small integers); for an approximate algorithm
    (Winograd) the bound convkit documents, 2**-24 * 2304 * (channels + 32) * max|a| * max|b|,
    with inputs in [-2, 2]."""
    if not convkit.algorithm_is_approximate(algorithm):
        return 0.0
    return 2.0 ** -24 * 2304 * (summed_channels + 32) * 4.0


class ForeignLoad:
    """CPU share other processes used since creation: /proc/stat busy time minus our own."""

    def __init__(self):
        self.busy0, self.self0, self.wall0 = self._busy(), self._self(), time.perf_counter()

    @staticmethod
    def _busy():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        user, nice, system, idle, iowait, irq, softirq, steal = v
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _self():
        t = os.times()
        return t.user + t.system

    def seconds(self):
        return time.perf_counter() - self.wall0

    def fraction(self):
        busy = self._busy()
        if busy is None or self.busy0 is None:
            return float("nan")
        wall = self.seconds() * (os.cpu_count() or 1)
        return max(0.0, ((busy - self.busy0) - (self._self() - self.self0)) / wall)


def loaded_blas():
    """BLAS/LAPACK shared objects mapped into this process (Linux), resolved to real paths."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                name = os.path.basename(path)
                if path.startswith("/") and ("blas" in name or "lapack" in name or "mkl" in name):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def geomean(v):
    v = [x for x in v if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")


def report_differences_and_csv(a, rows, gm, tag, check):
    """Prints the layers whose results differ from torch's; writes --csv. Returns the exit code."""
    bad = [r["name"] for r in rows if check and not r["max_abs_diff"] <= r["tolerance"]]
    if bad:
        print(f"# RESULTS DIFFER for: {', '.join(bad)}")
    if a.csv:
        import csv
        with open(a.csv, "w", newline="") as f:
            f.write(f"# {tag} threads={a.threads}\n")
            wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()) + ["threads"])
            wr.writeheader()
            for r in rows:
                wr.writerow({**r, "threads": a.threads})
            f.write("# geomean " + " ".join(f"{k}={v:.4f}" for k, v in gm.items()) + "\n")
    return 1 if bad else 0


def main_backward(a, layers):
    """convkit.conv2d_backward(compute=("x", "weight")) vs the autograd kernel of conv2d."""
    print("# backward (grad_x + grad_weight, no bias), NCHW: convkit.conv2d_backward vs "
          "torch.ops.aten.convolution_backward (what autograd calls for conv2d); both allocate "
          "their results; x = torch ms / convkit ms")
    wname = max(4, max(len(L["name"]) for L in layers))
    print(f"{'name':<{wname}}  {'ck ms':>9} {'GF/s':>6} {'torch ms':>9} {'GF/s':>6} "
          f"{'x':>6} {'maxdiff':>8}")
    rows = []
    rng = np.random.default_rng(0)
    for L in layers:
        load = ForeignLoad()
        n, c, h, w, k, r, s, st, pd, dl, g, oh, ow, macs = layer_geometry(L)
        flops = 2.0 * 2 * macs  # two passes: grad_x and grad_weight
        x = small_ints(rng, (n, c, h, w))
        wt = small_ints(rng, (k, c // g, r, s))
        dy = small_ints(rng, (n, k, oh, ow))
        kw = dict(stride=st, padding=pd, dilation=dl, groups=g)
        alg_bd = convkit.explain(x, wt, direction="backward_data", **kw).split(
            "chose '")[-1].split("'")[0]
        t_ck, reps = time_it(lambda: convkit.conv2d_backward(dy, x, wt, compute=("x", "weight"),
                                                             **kw), a.reps)
        dx, dw, _ = convkit.conv2d_backward(dy, x, wt, compute=("x", "weight"), **kw)
        t_th, maxdiff = float("nan"), float("nan")
        if not a.skip_torch:
            xt, wtt, dyt = torch.from_numpy(x), torch.from_numpy(wt), torch.from_numpy(dy)
            args = (dyt, xt, wtt, None, [st, st], [pd, pd], [dl, dl], False, [0, 0], g,
                    [True, True, False])
            bwd = torch.ops.aten.convolution_backward
            t_th, _ = time_it(lambda: bwd(*args), a.reps)
            gx, gw, _ = bwd(*args)
            maxdiff = max(float(np.max(np.abs(gx.numpy() - dx))),
                          float(np.max(np.abs(gw.numpy() - dw))))
            time.sleep(0.03)
        row = dict(name=L["name"], reps=reps, macs=macs, convkit_ms=t_ck * 1e3,
                   convkit_gflops=flops / t_ck * 1e-9, torch_ms=t_th * 1e3,
                   torch_gflops=flops / t_th * 1e-9, speed=t_th / t_ck, max_abs_diff=maxdiff,
                   tolerance=tolerance(alg_bd, k // g), foreign_cpu_pct=100 * load.fraction())
        rows.append(row)
        print(f"{row['name']:<{wname}}  {row['convkit_ms']:9.3f} {row['convkit_gflops']:6.1f} "
              f"{row['torch_ms']:9.3f} {row['torch_gflops']:6.1f} {row['speed']:6.2f} "
              f"{maxdiff:8.3g}", flush=True)
    gm = {key: geomean([r[key] for r in rows]) for key in ("convkit_gflops", "torch_gflops",
                                                            "speed")}
    print(f"# geomean over {len(rows)} layer(s): convkit {gm['convkit_gflops']:.1f} GFLOP/s, "
          f"torch {gm['torch_gflops']:.1f} GFLOP/s; speed convkit/torch {gm['speed']:.3f}")
    return report_differences_and_csv(a, rows, gm, f"torch_bench --backward dtype={a.dtype}",
                                      check=not a.skip_torch)


def main():
    a = ARGS
    layers = load_suite(a.suite, a.filter)
    if not layers:
        sys.exit(f"no layer of {a.suite} matches --filter {a.filter!r}")
    if torch is None and not a.skip_torch:
        sys.exit("torch is not importable (Debian: apt-get install python3-torch), "
                 "or pass --skip-torch")

    convkit.set_num_threads(a.threads)
    if torch is not None:
        torch.set_num_threads(a.threads)
    limiter = None
    blas_note = "threadpoolctl not installed: OpenBLAS limited by OPENBLAS_NUM_THREADS only"
    if threadpool_limits is not None:
        limiter = threadpool_limits(limits=a.threads, user_api="blas")
        blas = [f"{i.get('internal_api')} {i.get('version')} threads={i.get('num_threads')}"
                for i in threadpool_info() if i.get("user_api") == "blas"]
        blas_note = "threadpoolctl: " + ("; ".join(blas) if blas else "no BLAS loaded")

    # glibc wants plain digits: "1e11" is silently not applied (checked with glibc 2.36).
    malloc_ok = (os.environ.get("MALLOC_MMAP_MAX_") == "0"
                 and os.environ.get("MALLOC_TRIM_THRESHOLD_", "").isdigit())
    print(f"# torch_bench: dtype={a.dtype} threads={a.threads} "
          f"reps={a.reps or 'adaptive(>=5 and >=0.5 s)'} "
          f"convkit {convkit.__version__} torch {torch.__version__ if torch else '-'} "
          f"numpy {np.__version__}")
    print(f"# {blas_note}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    blas_libs = loaded_blas()
    print(f"# BLAS mapped in this process: {', '.join(blas_libs) or '(none)'}")
    if any("/blas/libblas.so" in p for p in blas_libs) and not any("openblas" in p
                                                                 for p in blas_libs):
        print("# NOTE: that is Debian's netlib *reference* BLAS (no OpenBLAS installed): torch's "
              "im2col+GEMM path (Slow2d, e.g. 1-thread batch-1 1x1 convs) is much slower than "
              "with the OpenBLAS 0.3.21 used for ANCHORS.md")
    if malloc_ok:
        print(f"# malloc: MALLOC_MMAP_MAX_={os.environ['MALLOC_MMAP_MAX_']} "
              f"MALLOC_TRIM_THRESHOLD_={os.environ['MALLOC_TRIM_THRESHOLD_']}")
    else:
        print("# WARNING: MALLOC_MMAP_MAX_=0 and MALLOC_TRIM_THRESHOLD_=<digits, e.g. "
              "100000000000> are not both set: torch's per-call allocations will be slow in this "
              "VM; run bench/run_torch_bench.sh instead")
    print("# x = speed convkit/torch = torch ms / convkit ms (> 1: convkit faster); "
          "nchw: convkit NCHW vs torch NCHW, nhwc: convkit NHWC vs torch channels_last")

    if a.backward:
        rc = main_backward(a, layers)
        if limiter is not None:
            limiter.restore_original_limits()
        return rc

    # Is out= really honoured (so convkit's timing excludes allocation)?
    probe_x = np.zeros((1, 1, 3, 3), np.float32)
    probe_w = np.zeros((1, 1, 1, 1), np.float32)
    probe_y = np.empty((1, 1, 3, 3), np.float32)
    if convkit.conv2d(probe_x, probe_w, out=probe_y) is not probe_y:
        sys.exit("convkit.conv2d(out=...) did not return the given array")

    wname = max(4, max(len(L["name"]) for L in layers))
    hdr = (f"{'name':<{wname}}  {'alg':<12} {'ck nchw ms':>10} {'GF/s':>6} {'ck nhwc ms':>10} "
           f"{'GF/s':>6} {'th nchw ms':>10} {'GF/s':>6} {'th cl ms':>10} {'GF/s':>6} "
           f"{'x nchw':>6} {'x nhwc':>6} {'maxdiff':>8}")
    print(hdr)
    rows = []
    rng = np.random.default_rng(0)
    run_load = ForeignLoad()
    disturbed = 0
    for L in layers:
        load = ForeignLoad()
        n, c, h, w, k, r, s, st, pd, dl, g, oh, ow, macs = layer_geometry(L)
        flops = 2.0 * macs
        x = small_ints(rng, (n, c, h, w))
        wt = small_ints(rng, (k, c // g, r, s))
        x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        y = np.empty((n, k, oh, ow), a.dtype)
        y_nhwc = np.empty((n, oh, ow, k), a.dtype)
        kw = dict(stride=st, padding=pd, dilation=dl, groups=g)
        alg = convkit.explain(x, wt, **kw).split("chose '")[-1].split("'")[0]

        t_ck, reps = time_it(lambda: convkit.conv2d(x, wt, None, layout="NCHW", out=y, **kw),
                             a.reps)
        t_ckl, _ = time_it(lambda: convkit.conv2d(x_nhwc, wt, None, layout="NHWC", out=y_nhwc,
                                                   **kw), a.reps)
        maxdiff = float(np.max(np.abs(y_nhwc.transpose(0, 3, 1, 2) - y)))
        t_th = t_thl = float("nan")
        if not a.skip_torch:
            with torch.no_grad():
                xt, wtt = torch.from_numpy(x), torch.from_numpy(wt)
                xt_cl = xt.contiguous(memory_format=torch.channels_last)
                wt_cl = wtt.contiguous(memory_format=torch.channels_last)
                t_th, _ = time_it(lambda: F.conv2d(xt, wtt, None, st, pd, dl, g), a.reps)
                t_thl, _ = time_it(lambda: F.conv2d(xt_cl, wt_cl, None, st, pd, dl, g), a.reps)
                ref = F.conv2d(xt, wtt, None, st, pd, dl, g).numpy()
                ref_cl = F.conv2d(xt_cl, wt_cl, None, st, pd, dl, g).contiguous().numpy()
            maxdiff = max(maxdiff, float(np.max(np.abs(ref - y))),
                          float(np.max(np.abs(ref_cl - y))))
            # torch's OpenMP workers spin for a while after a parallel region: let them settle
            # before the next layer's convkit measurement.
            time.sleep(0.03)
        gf = lambda t: flops / t * 1e-9  # noqa: E731
        row = dict(name=L["name"], algorithm=alg, reps=reps, macs=macs,
                   convkit_nchw_ms=t_ck * 1e3, convkit_nchw_gflops=gf(t_ck),
                   convkit_nhwc_ms=t_ckl * 1e3, convkit_nhwc_gflops=gf(t_ckl),
                   torch_nchw_ms=t_th * 1e3, torch_nchw_gflops=gf(t_th),
                   torch_cl_ms=t_thl * 1e3, torch_cl_gflops=gf(t_thl),
                   speed_nchw=t_th / t_ck, speed_nhwc=t_thl / t_ckl, max_abs_diff=maxdiff,
                   tolerance=tolerance(alg, c // g), foreign_cpu_pct=100 * load.fraction())
        rows.append(row)
        print(f"{row['name']:<{wname}}  {alg:<12} {row['convkit_nchw_ms']:10.3f} "
              f"{row['convkit_nchw_gflops']:6.1f} {row['convkit_nhwc_ms']:10.3f} "
              f"{row['convkit_nhwc_gflops']:6.1f} {row['torch_nchw_ms']:10.3f} "
              f"{row['torch_nchw_gflops']:6.1f} {row['torch_cl_ms']:10.3f} "
              f"{row['torch_cl_gflops']:6.1f} {row['speed_nchw']:6.2f} {row['speed_nhwc']:6.2f} "
              f"{maxdiff:8.3g}", flush=True)
        if row["foreign_cpu_pct"] > 5 and load.seconds() > 0.2:
            disturbed += 1
            print(f"#   {row['name']}: DISTURBED: other processes used "
                  f"{row['foreign_cpu_pct']:.0f}% of the machine's CPUs meanwhile", flush=True)

    keys = ["convkit_nchw_gflops", "convkit_nhwc_gflops", "torch_nchw_gflops",
            "torch_cl_gflops", "speed_nchw", "speed_nhwc"]
    gm = {key: geomean([r[key] for r in rows]) for key in keys}
    print(f"# geomean over {len(rows)} layer(s): convkit NCHW {gm['convkit_nchw_gflops']:.1f} "
          f"NHWC {gm['convkit_nhwc_gflops']:.1f} GFLOP/s; torch NCHW "
          f"{gm['torch_nchw_gflops']:.1f} CL {gm['torch_cl_gflops']:.1f} GFLOP/s; speed "
          f"convkit/torch nchw {gm['speed_nchw']:.3f} nhwc {gm['speed_nhwc']:.3f}")
    rf = run_load.fraction()
    if rf == rf:  # not NaN
        print(f"# other processes used {100 * rf:.1f}% of the machine's CPUs during the run "
              f"({run_load.seconds():.1f} s); {disturbed} layer(s) flagged DISTURBED (> 5%)"
              + (": re-run on a quiet machine before trusting the numbers" if rf > 0.05 else ""))
    rc = report_differences_and_csv(a, rows, gm, f"torch_bench dtype={a.dtype}", check=True)
    if limiter is not None:
        limiter.restore_original_limits()
    return rc


if __name__ == "__main__":
    sys.exit(main())
