#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<harness>/seed-*).

Deterministic: rerunning it rewrites the same files. Each harness reads its input as a stream
of small decisions (one byte each, `byte % n`, see fuzz_input.hpp), so a seed is a handful of
chosen leading bytes (the decisions the seed is meant to cover) followed by pseudo-random
bytes. The campaign (scripts/fuzz) merges inputs that add coverage next to these seeds.

    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, head, tail_len, seed):
    rnd = random.Random(seed)
    data = bytes(head) + bytes(rnd.randrange(256) for _ in range(tail_len))
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def write_all(harness, cases, seed_base):
    """cases: (name, leading bytes, random tail length); seeds seed_base, seed_base + 1, ..."""
    for i, (name, head, n) in enumerate(cases):
        write(harness, name, head, n, seed_base + i)


def conv_seeds():
    # Byte 0: ISA cap (0 avx512, 1 avx2, 2 generic, 3 unset); bytes 1-6: conv_output_size
    # arguments; byte 7: 0 mod 4 -> transposed convolution, else forward.
    # Forward: byte 8: 0 mod 16 -> odd spatial_dims; byte 9: spatial_dims - 1 (mod 3).
    cases = [
        ("forward-1d-avx512", [0, 5, 3, 1, 1, 1, 1, 1, 1, 0], 120),
        ("forward-2d-avx2", [1, 5, 3, 1, 1, 1, 1, 1, 1, 1], 120),
        ("forward-3d-generic", [2, 5, 3, 1, 1, 1, 1, 1, 1, 2], 120),
        ("forward-2d-unset", [3, 7, 3, 2, 1, 1, 1, 2, 1, 1], 160),
        ("forward-huge", [0, 255, 255, 255, 255, 255, 255, 1, 1, 1, 250, 251, 252], 100),
        ("forward-bad-dims", [1, 0, 0, 0, 0, 0, 0, 3, 0, 5], 80),
        ("transposed-1d", [0, 5, 3, 1, 1, 1, 1, 0, 1, 0], 120),
        ("transposed-2d", [1, 5, 3, 2, 1, 1, 1, 4, 1, 1], 140),
        ("transposed-3d", [2, 5, 3, 2, 1, 1, 1, 8, 1, 2], 140),
        ("empty", [], 0),
        ("random-a", [], 200),
        ("random-b", [], 300),
    ]
    write_all("conv_problem", cases, 1000)


def signal_seeds():
    # Byte 0: parser word; byte 1: function (mod 6: convolve, correlate, convolve2d,
    # correlate2d, fftconvolve, oaconvolve); 2: mode (full, same, valid); 3: method (auto,
    # direct, fft); 4: boundary (fill, wrap, symm); 5: in1 dtype (mod 13); 6: 0 mod 3 -> same dtype.
    cases = [
        ("convolve-full", [0, 0, 0, 1, 0, 10, 0], 120),
        ("correlate-same-int", [1, 1, 1, 1, 0, 5, 0], 120),
        ("correlate-valid-complex", [2, 1, 2, 0, 0, 12, 1, 3], 120),
        ("convolve-fft-f32", [3, 0, 0, 2, 0, 9, 0], 120),
        ("convolve2d-wrap", [4, 2, 1, 0, 1, 10, 0], 140),
        ("convolve2d-symm-u8", [5, 2, 0, 0, 2, 2, 0], 140),
        ("correlate2d-fill-same", [6, 3, 1, 0, 0, 7, 0], 140),
        ("correlate2d-valid-c64", [7, 3, 2, 0, 2, 11, 0], 140),
        ("fftconvolve-axes", [8, 4, 1, 0, 0, 10, 1, 6], 160),
        ("oaconvolve-valid", [9, 5, 2, 0, 0, 9, 0], 160),
        ("bool-mixed", [10, 0, 0, 1, 0, 0, 1, 1], 120),
        ("empty", [], 0),
        ("random", [], 250),
    ]
    write_all("signal", cases, 2000)


def fft_seeds():
    # Byte 0: ISA cap (0 avx512, 1 avx2, 2 generic, 3 unset); byte 1: double when odd;
    # byte 2: family (mod 5: 0, 1 complex; 2, 3 real rank 1-3; 4 four-step); then per length
    # a kind byte (mod 4: short, medium, small-prime product, prime << k) and its draws.
    cases = [
        ("complex-short-f32", [0, 0, 0, 0, 17, 1, 0, 0], 40),
        ("complex-prime-f64", [1, 1, 1, 3, 25, 2, 1, 1, 0], 40),
        ("complex-medium-generic", [2, 0, 0, 1, 0x39, 0x05, 1, 0, 1], 40),
        ("complex-bad-length", [0, 0, 0, 0, 17, 64, 0], 40),
        ("real-1d-composite", [0, 1, 2, 0, 2, 2, 1, 2, 4, 1, 0, 0], 40),
        ("real-2d", [1, 0, 3, 1, 0, 9, 1, 0, 12, 1, 0], 40),
        ("real-3d-f64", [2, 1, 2, 2, 0, 4, 1, 0, 5, 1, 0, 6, 1, 0], 40),
        ("irfft-odd", [3, 0, 2, 0, 0, 20, 1, 1], 40),
        ("four-step-f32", [0, 0, 4, 77, 0], 40),
        ("four-step-f64", [1, 1, 4, 200, 1], 40),
        ("empty", [], 0),
        ("random", [], 120),
    ]
    write_all("fft", cases, 3000)


if __name__ == "__main__":
    conv_seeds()
    signal_seeds()
    fft_seeds()
