#!/usr/bin/python3
"""Cost of denormal inputs, with convkit.set_flush_denormal off and on.

Times a ResNet-50 3x3 layer (1x64x56x56, 64 filters, float32) and a 7x7 image filter on normal
inputs and on inputs scaled into the denormal range (x * 1e-39), medians of 7 calls, and prints
the ratio denormal / normal for each switch position.

    PYTHONPATH=build/python /usr/bin/python3 bench/denormal_bench.py
"""

import numpy as np

import convkit
from convkit import signal

from timing import median_ms  # bench/timing.py, beside this script


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 64, 56, 56)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    img = rng.standard_normal((1080, 1920)).astype(np.float32)
    k = rng.standard_normal((7, 7)).astype(np.float32)
    cases = {
        "conv2d 64x56x56, 3x3": (lambda a: convkit.conv2d(a, w, padding=1), x),
        "convolve2d 1080x1920, 7x7": (lambda a: signal.convolve2d(a, k, "same"), img),
    }
    for name, (fn, a) in cases.items():
        den = (a * np.float32(1e-39)).astype(np.float32)
        for flush in (False, True):
            convkit.set_flush_denormal(flush)
            tn, td = median_ms(n=7, f=lambda: fn(a)), median_ms(n=7, f=lambda: fn(den))
            print(f"{name:28s} flush={str(flush):5s} normal {tn:7.2f} ms  denormal {td:7.2f} ms  "
                  f"ratio {td / tn:5.2f}")
    convkit.set_flush_denormal(False)


if __name__ == "__main__":
    main()
