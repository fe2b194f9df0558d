#!/usr/bin/python3
"""Calibration check of convkit.signal's automatic method choice (direct vs FFT).

For a range of image, signal and volume problems this times convkit.signal.correlate with
method="direct" and method="fft" (medians, preallocated out=) and prints them next to what
method="auto" picks (convkit.signal.explain gives the cost-model estimates, in one-core
seconds). The cost models live in src/signal/direct_filter.cpp (direct_filter_cost_seconds)
and src/signal/fft_filter.cpp (fft_filter_cost_seconds).

    PYTHONPATH=build/python /usr/bin/python3 bench/signal_cost.py
"""

import numpy as np

from convkit import signal as cs

from timing import median_ms  # bench/timing.py, beside this script

CASES = [((2160, 3840), (7, 7)), ((2160, 3840), (15, 15)), ((2160, 3840), (21, 21)),
         ((2160, 3840), (31, 31)), ((1080, 1920), (15, 15), np.float64),
         ((1080, 1920), (21, 21), np.float64), ((1000000,), (101,)), ((1000000,), (201,)),
         ((1000000,), (401,)), ((4000000,), (63,), np.float64), ((128, 128, 128), (5, 5, 5)),
         ((128, 128, 128), (9, 9, 9)), ((256, 256), (3, 3)), ((64, 64), (16, 16), np.float64)]


def main():
    rng = np.random.default_rng(0)
    print(f"{'image':>18} {'kernel':>12} {'dtype':>8} {'direct ms':>10} {'fft ms':>8} {'auto':>7} {'right':>6}")
    for case in CASES:
        shape, kshape = case[0], case[1]
        dt = case[2] if len(case) > 2 else np.float32
        x = rng.standard_normal(shape).astype(dt)
        k = rng.standard_normal(kshape).astype(dt)
        out = cs.correlate(x, k, "same", method="direct")
        td = median_ms(n=5, f=lambda: cs.correlate(x, k, "same", method="direct", out=out))
        tf = median_ms(n=5, f=lambda: cs.correlate(x, k, "same", method="fft", out=out))
        auto = cs.choose_conv_method(x, k, "same")
        best = "fft" if tf < td else "direct"
        ok = "yes" if auto == best or abs(td - tf) < 0.15 * min(td, tf) else "NO"
        print(f"{str(shape):>18} {str(kshape):>12} {np.dtype(dt).name:>8} {td:>10.2f} {tf:>8.2f} "
              f"{auto:>7} {ok:>6}")


if __name__ == "__main__":
    main()
