"""convkit.pack_weights: a forward convolution with its weights prepared once.

Packed calls must equal convkit.conv*d bit for bit (same arguments, same algorithm), for every
algorithm that takes the problem (Winograd keeps its transformed filters), 1-D/2-D/3-D, both
layouts, bias and ReLU, out=, strided inputs; the packed weights are a snapshot; bad inputs
(other shapes, dtypes, layouts) get clear errors.
"""
from __future__ import annotations

import numpy as np
import pytest

import convkit as ck

CONV = {1: ck.conv1d, 2: ck.conv2d, 3: ck.conv3d}
LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def random_case(rng, nd):
    n = int(rng.integers(1, 3))
    c = int(rng.integers(1, 20))
    g = int(rng.choice([1, 1, 1, c])) if c > 1 else 1
    k = g * int(rng.integers(1, 6)) if g > 1 else int(rng.integers(1, 20))
    size = [int(rng.integers(3, 13 if nd < 3 else 7)) for _ in range(nd)]
    ks = [int(rng.integers(1, min(4, s) + 1)) for s in size]
    stride = [int(rng.integers(1, 3)) for _ in range(nd)]
    pad = [int(rng.integers(0, 2)) for _ in range(nd)]
    layout = LAST[nd] if rng.integers(0, 3) == 0 else None
    return n, c, k, g, size, ks, stride, pad, layout


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_packed_equals_conv_bitwise(nd, make_rng, case_counts):
    rng = make_rng(f"nd{nd}")
    ran = 0
    for i in range(30):
        n, c, k, g, size, ks, stride, pad, layout = random_case(rng, nd)
        dtype = np.float32 if i % 3 else np.float64
        x = rng.standard_normal((n, c, *size)).astype(dtype)
        if layout is not None:
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        w = rng.standard_normal((k, c // g, *ks)).astype(dtype)
        b = rng.standard_normal(k).astype(dtype)
        kw = dict(stride=stride, padding=pad, groups=g, layout=layout)
        packed = ck.pack_weights(w, x.shape, **kw)
        act = "relu" if i % 2 else None
        want = CONV[nd](x, w, b, activation=act, **kw)
        got = packed(x, b, activation=act)
        assert got.dtype == dtype and got.shape == want.shape == packed.output_shape
        np.testing.assert_array_equal(got, want)
        assert packed.input_shape == x.shape and packed.nbytes >= w.nbytes
        assert packed.algorithm in ck.algorithms() and packed.algorithm in packed.explain()
        ran += 1
    case_counts[f"pack_weights conv{nd}d"] = ran


def test_every_algorithm_packed(make_rng):
    """Each algorithm that takes a forward problem, forced: packed == unpacked, bitwise."""
    rng = make_rng()
    x = rng.standard_normal((2, 16, 12, 12)).astype(np.float32)
    w = rng.standard_normal((24, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    took = []
    for alg in ck.algorithms():
        try:
            packed = ck.pack_weights(w, x.shape, padding=1, algorithm=alg)
        except TypeError:  # the algorithm declines forward 3x3 layers
            continue
        assert packed.algorithm == alg
        np.testing.assert_array_equal(packed(x, b), ck.conv2d(x, w, b, padding=1, algorithm=alg))
        took.append(alg)
    assert {"winograd", "direct", "im2col_gemm", "reference"} <= set(took)


def test_winograd_packed_keeps_filters_and_matches_torch_bound(make_rng):
    rng = make_rng()
    x = rng.standard_normal((1, 32, 20, 20)).astype(np.float32)
    w = rng.standard_normal((48, 32, 3, 3)).astype(np.float32)
    packed = ck.pack_weights(w, x.shape, padding=1, algorithm="winograd")
    # The transformed filters (36 values per 9 taps) are kept besides the copy of w.
    assert packed.nbytes >= w.nbytes * (1 + 36 / 9)
    exact = ck.conv2d(x.astype(np.float64), w.astype(np.float64), padding=1)
    got = packed(x)
    bound = 2.0 ** -24 * 2304 * (32 + 32) * np.abs(x).max() * np.abs(w).reshape(48, -1).max(1)
    assert np.all(np.abs(got - exact) <= bound[None, :, None, None])


def test_snapshot_out_and_views(make_rng):
    rng = make_rng()
    x = rng.standard_normal((2, 5, 9, 9))
    w = rng.standard_normal((7, 5, 3, 3))
    w0 = w.copy()
    packed = ck.pack_weights(w, x.shape, padding=1)
    want = ck.conv2d(x, w, padding=1)
    w[:] = 0  # packing took a copy
    np.testing.assert_array_equal(packed(x), want)
    out = np.full(packed.output_shape, np.nan)
    assert packed(x, out=out) is out
    np.testing.assert_array_equal(out, want)
    # A strided view of x, and an integer x (converted to the packed dtype, float64 here).
    big = np.zeros((2, 10, 9, 18))
    big[:, ::2, :, ::2] = x
    np.testing.assert_array_equal(packed(big[:, ::2, :, ::2]), want)
    xi = rng.integers(-3, 4, x.shape)
    np.testing.assert_array_equal(packed(xi), ck.conv2d(xi.astype(np.float64), w0, padding=1))
    assert "PackedConv" in repr(packed)


def test_errors_name_the_argument(make_rng):
    rng = make_rng()
    x = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    packed = ck.pack_weights(w, x.shape)
    with pytest.raises(ValueError, match="x"):  # another input shape than packed for
        packed(np.zeros((1, 4, 9, 8), np.float32))
    with pytest.raises(TypeError, match="float32"):  # another dtype
        packed(x.astype(np.float64))
    with pytest.raises(ValueError, match="out"):
        packed(x, out=np.zeros((1, 6, 5, 5), np.float32))
    with pytest.raises(ValueError, match="bias"):
        packed(x, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="input_shape"):
        ck.pack_weights(w, (1, 4, 8))
    with pytest.raises(ValueError, match=r"weight: got shape \(6, 4, 3, 3\), expected \(6, 5"):
        ck.pack_weights(w, (1, 5, 8, 8))
    with pytest.raises(ValueError, match="weight"):
        ck.pack_weights(w[0, 0], (1, 4, 8, 8))
    with pytest.raises(TypeError, match="weight"):
        ck.pack_weights(w.astype(np.complex64), x.shape)
    with pytest.raises(ValueError, match="algorithm"):
        ck.pack_weights(w, x.shape, algorithm="nope")
    with pytest.raises(TypeError, match="winograd"):  # declines stride 2
        ck.pack_weights(w, x.shape, stride=2, algorithm="winograd")
    with pytest.raises(ValueError, match="activation"):
        packed(x, activation="tanh")
