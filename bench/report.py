"""Turns convkit-bench / torch_bench CSV files into the Markdown tables of BENCHMARKS.md.

usage: /usr/bin/python3 bench/report.py bench/results            (layer tables, Markdown)
       /usr/bin/python3 bench/report.py --signal bench/results   (the filtering table from
                                                                  signal_bench.py's CSV)
"""
import csv
import math
import os
import sys


def rows(path):
    with open(path) as f:
        lines = [l for l in f if not l.startswith("#")]
    return list(csv.DictReader(lines))


def header(path):
    with open(path) as f:
        first = f.readline()
    return first.strip("# \n") if first.startswith("#") else ""


def geomean(xs):
    xs = [x for x in xs if x > 0]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


def conv_table(path, title):
    rs = rows(path)
    out = [f"### {title}", "", f"`{header(path)}`", "",
           "| layer | algorithm | ms | GFLOP/s | % peak | verify | oneDNN best ms | oneDNN nchw ms | × oneDNN best | × oneDNN nchw |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rs:
        out.append(f"| {r['name']} | {r['algorithm']} | {float(r['median_ms']):.3f} | "
                   f"{float(r['gflops']):.0f} | {float(r['pct_peak']):.0f}% | {r['verify']} | "
                   f"{float(r['onednn_any_ms']):.3f} | {float(r['onednn_nchw_ms']):.3f} | "
                   f"{float(r['speed_vs_any']):.2f} | {float(r['speed_vs_nchw']):.2f} |")
    g = geomean([float(r["gflops"]) for r in rs])
    ga = geomean([float(r["speed_vs_any"]) for r in rs])
    gn = geomean([float(r["speed_vs_nchw"]) for r in rs])
    out += ["", f"Geometric means: convkit {g:.0f} GFLOP/s; speed vs oneDNN best format **{ga:.2f}×**, "
            f"vs oneDNN plain NCHW **{gn:.2f}×** (> 1: convkit faster).", ""]
    return "\n".join(out), (g, ga, gn)


def torch_table(path):
    rs = rows(path)
    out = ["### convkit vs PyTorch 1.13, forward, 2 threads", "", f"`{header(path)}`", "",
           "| layer | algorithm | convkit NCHW ms | convkit NHWC ms | torch NCHW ms | torch channels_last ms | × torch NCHW | × torch channels_last |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rs:
        out.append(f"| {r['name']} | {r['algorithm']} | {float(r['convkit_nchw_ms']):.3f} | "
                   f"{float(r['convkit_nhwc_ms']):.3f} | {float(r['torch_nchw_ms']):.3f} | "
                   f"{float(r['torch_cl_ms']):.3f} | {float(r['speed_nchw']):.2f} | "
                   f"{float(r['speed_nhwc']):.2f} |")
    gn = geomean([float(r["speed_nchw"]) for r in rs])
    gl = geomean([float(r["speed_nhwc"]) for r in rs])
    out += ["", f"Geometric means: speed vs torch NCHW **{gn:.2f}×**, convkit NHWC vs torch "
            f"channels_last **{gl:.2f}×** (> 1: convkit faster).", ""]
    return "\n".join(out)


def torch_backward_table(path):
    rs = rows(path)
    out = ["### convkit vs PyTorch 1.13 autograd, backward (grad_x + grad_weight), NCHW, 2 threads",
           "", f"`{header(path)}`", "",
           "| layer | convkit ms | GFLOP/s | torch ms | GFLOP/s | × torch |",
           "|---|---|---|---|---|---|"]
    for r in rs:
        out.append(f"| {r['name']} | {float(r['convkit_ms']):.3f} | "
                   f"{float(r['convkit_gflops']):.0f} | {float(r['torch_ms']):.3f} | "
                   f"{float(r['torch_gflops']):.0f} | {float(r['speed']):.2f} |")
    g = geomean([float(r["speed"]) for r in rs])
    out += ["", f"Geometric mean: speed vs torch autograd **{g:.2f}×** (> 1: convkit faster).", ""]
    return "\n".join(out)


def f64_table(ck_path, torch_path):
    """Forward float64: convkit-bench (% of the float64 peak) joined with torch_bench --dtype
    float64 by layer name."""
    ck = {r["name"]: r for r in rows(ck_path)}
    th = {r["name"]: r for r in rows(torch_path)} if os.path.exists(torch_path) else {}
    out = ["### Forward, float64, NCHW, 2 threads (oneDNN has no float64 convolution; PyTorch "
           "1.13 float64)", "", f"`{header(ck_path)}`", ""]
    if th:
        out += [f"`{header(torch_path)}`", ""]
    out += ["| layer | algorithm | ms | GFLOP/s | % f64 peak | verify | torch NCHW ms | "
            "torch channels_last ms | × torch NCHW | convkit NHWC × torch channels_last |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in ck.items():
        t = th.get(name)
        tcols = (f"{float(t['torch_nchw_ms']):.3f} | {float(t['torch_cl_ms']):.3f} | "
                 f"{float(t['speed_nchw']):.2f} | {float(t['speed_nhwc']):.2f}") if t else "– | – | – | –"
        out.append(f"| {name} | {r['algorithm']} | {float(r['median_ms']):.3f} | "
                   f"{float(r['gflops']):.0f} | {float(r['pct_peak']):.0f}% | {r['verify']} | {tcols} |")
    g = geomean([float(r["gflops"]) for r in ck.values()])
    gp = geomean([float(r["pct_peak"]) for r in ck.values()])
    line = f"Geometric means: convkit {g:.0f} GFLOP/s, {gp:.0f}% of the float64 peak"
    if th:
        gn = geomean([float(t["speed_nchw"]) for t in th.values()])
        gl = geomean([float(t["speed_nhwc"]) for t in th.values()])
        line += (f"; speed vs torch float64 NCHW **{gn:.2f}×**, convkit NHWC vs torch "
                 f"channels_last **{gl:.2f}×** (> 1: convkit faster)")
    out += ["", line + ".", ""]
    return "\n".join(out)


def signal_table(path):
    def num(v, fmt):
        x = float(v)
        return "n/a" if math.isnan(x) else format(x, fmt)
    out = ["| problem | dtype | convkit ms | method | GFLOP/s | % peak | % bandwidth | check | "
           "scipy direct ms | fftconvolve ms | oaconvolve ms | OpenCV ms | × scipy direct | "
           "× best scipy FFT | × OpenCV |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows(path):
        out.append(" | ".join([
            f"| {r['name']}", r["dtype"], num(r["convkit_ms"], ".3g"), r["method"],
            num(r["gflops"], ".3g"), num(r["pct_peak"], ".0f"), num(r["pct_bw"], ".0f"),
            r["check"], num(r["scipy_ms"], ".3g"), num(r["fftconvolve_ms"], ".3g"),
            num(r["oaconvolve_ms"], ".3g"), num(r["opencv_ms"], ".3g"), num(r["x_scipy"], ".3g"),
            num(r["x_fft_best"], ".3g"), num(r["x_opencv"], ".3g")]) + " |")
    return "\n".join(out)


def main(d):
    parts = []
    for name, title in (("fwd_2t.csv", "Forward, NCHW, 2 threads"),
                        ("fwd_1t.csv", "Forward, NCHW, 1 thread"),
                        ("fwd_2t_nhwc.csv", "Forward, NHWC, 2 threads"),
                        ("bwdd_2t.csv", "Backward-data, NCHW, 2 threads"),
                        ("bwdw_2t.csv", "Backward-weights, NCHW, 2 threads"),
                        ("bwdd_1t.csv", "Backward-data, NCHW, 1 thread"),
                        ("bwdw_1t.csv", "Backward-weights, NCHW, 1 thread"),
                        ("fwdt_2t.csv", "Transposed convolution (fwd_t: conv_transpose of each "
                                        "layer's output back to its input; oneDNN: deconvolution), "
                                        "NCHW, 2 threads")):
        p = os.path.join(d, name)
        if os.path.exists(p):
            parts.append(conv_table(p, title)[0])
    p = os.path.join(d, "torch_2t.csv")
    if os.path.exists(p):
        parts.append(torch_table(p))
    p = os.path.join(d, "torch_bwd_2t.csv")
    if os.path.exists(p):
        parts.append(torch_backward_table(p))
    p = os.path.join(d, "fwd_2t_f64.csv")
    if os.path.exists(p):
        parts.append(f64_table(p, os.path.join(d, "torch_2t_f64.csv")))
    print("\n".join(parts))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--signal":
        d = sys.argv[2] if len(sys.argv) > 2 else "bench/results"
        print(signal_table(os.path.join(d, "signal_2t.csv")))
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
