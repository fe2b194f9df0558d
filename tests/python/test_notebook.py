"""The CS231n-style notebook's checks: output sizes, the reference forward numbers, numerical gradients."""
from __future__ import annotations

import numpy as np
import pytest

import convkit as ck


def rel_error(x, y):
    """The notebook's relative error: max |x − y| / max(1e-8, |x| + |y|)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    assert x.shape == y.shape, (x.shape, y.shape)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def scaled_error(analytic, numeric):
    """max |analytic − numeric| / max |numeric|: rel_error without its blow-up at exact zeros
    (strided convolutions leave input positions that no output reads)."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    assert analytic.shape == numeric.shape, (analytic.shape, numeric.shape)
    scale = float(np.max(np.abs(numeric)))
    assert scale > 0, "degenerate check: the numerical gradient is all zeros"
    return float(np.max(np.abs(analytic - numeric))) / scale


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Central differences of sum(f(x) * df) with respect to every element of x (float64)."""
    x = np.array(x, dtype=np.float64)  # own copy: modified in place below
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


# ---- output sizes ---------------------------------------------------------------------------

def test_get_output_dim_notebook_value():
    # get_output_dim(input_dim, kernel_dim, padding, stride)
    assert ck.get_output_dim(4, 4, 1, 2) == 2


@pytest.mark.parametrize("args, expected", [
    ((32, 5, 0, 1), 28),
    ((32, 3, 1, 1), 32),
    ((7, 3, 1, 2), 4),
    ((5, 3, 0, 2), 2),
    ((6, 3, 0, 2), 2),    # (6 − 3) // 2 + 1: the last row is dropped
    ((4, 4, 0, 1), 1),
    ((1, 3, 1, 1), 1),
])
def test_get_output_dim_formula(args, expected):
    assert ck.get_output_dim(*args) == expected
    n, k, p, s = args
    assert ck.get_output_dim(*args) == (n + 2 * p - k) // s + 1


@pytest.mark.parametrize("kwargs, expected", [
    (dict(input_size=4, kernel_size=4, stride=2, padding=1), 2),
    (dict(input_size=10, kernel_size=3), 8),
    (dict(input_size=10, kernel_size=3, dilation=2), 6),
    (dict(input_size=10, kernel_size=3, dilation=4, stride=3), 1),
    (dict(input_size=5, kernel_size=3, stride=2, padding=(0, 1)), 2),
    (dict(input_size=5, kernel_size=3, stride=2, padding=(1, 0)), 2),
    (dict(input_size=5, kernel_size=2, stride=2, padding=(0, 1)), 3),
    (dict(input_size=1, kernel_size=1), 1),
    (dict(input_size=2**40, kernel_size=1, stride=2**39), 2),
])
def test_conv_output_size(kwargs, expected):
    assert ck.conv_output_size(**kwargs) == expected


def test_conv_output_size_matches_formula_exhaustively():
    for n in range(1, 9):
        for k in range(1, 6):
            for s in range(1, 4):
                for d in range(1, 3):
                    for pb in range(3):
                        for pa in range(3):
                            span = n + pb + pa - d * (k - 1) - 1
                            if span < 0:
                                continue
                            got = ck.conv_output_size(n, k, stride=s, padding=(pb, pa), dilation=d)
                            assert got == span // s + 1, (n, k, s, d, pb, pa)


def test_output_sizes_agree_with_conv2d_shape():
    x = np.zeros((1, 1, 11, 7))
    w = np.zeros((1, 1, 3, 2))
    y = ck.conv2d(x, w, stride=(2, 3), padding=((1, 0), (2, 1)), dilation=(2, 1))
    assert y.shape == (1, 1,
                       ck.conv_output_size(11, 3, stride=2, padding=(1, 0), dilation=2),
                       ck.conv_output_size(7, 2, stride=3, padding=(2, 1)))


# ---- the notebook's forward numbers ---------------------------------------------------------

NOTEBOOK_CORRECT_OUT = np.array(
    [[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
      [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
      [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
     [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
      [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
      [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]])


def _notebook_inputs():
    x = np.linspace(-0.1, 0.5, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=3 * 3 * 4 * 4).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    return x, w, b


def test_notebook_forward_values():
    x, w, b = _notebook_inputs()
    out = ck.conv2d(x, w, b, stride=2, padding=1)
    assert out.dtype == np.float64
    assert out.shape == (2, 3, 2, 2)
    # The notebook prints 8 decimals: the difference must be below that rounding.
    np.testing.assert_allclose(out, NOTEBOOK_CORRECT_OUT, rtol=0, atol=1e-8)
    assert rel_error(out, NOTEBOOK_CORRECT_OUT) < 1e-7


def test_notebook_forward_values_through_layer():
    x, w, b = _notebook_inputs()
    layer = ck.Conv2d(3, 3, 4, stride=2, padding=1, dtype=np.float64)
    layer.weight, layer.bias = w.copy(), b.copy()
    np.testing.assert_allclose(layer.forward(x), NOTEBOOK_CORRECT_OUT, rtol=0, atol=1e-8)


def test_notebook_forward_values_float32():
    x, w, b = (a.astype(np.float32) for a in _notebook_inputs())
    out = ck.conv2d(x, w, b, stride=2, padding=1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, NOTEBOOK_CORRECT_OUT, rtol=0, atol=2e-6)


# ---- numerical gradient checks --------------------------------------------------------------

GRAD_CASES = [
    # the notebook's: x (4, 3, 5, 5), w (2, 3, 3, 3), stride 1, pad 1
    dict(x=(4, 3, 5, 5), w=(2, 3, 3, 3), conv=dict(stride=1, padding=1)),
    dict(x=(2, 3, 7, 6), w=(4, 3, 3, 2), conv=dict(stride=2, padding=1)),       # stride ∤ span
    dict(x=(2, 4, 6, 6), w=(6, 2, 3, 3), conv=dict(stride=(1, 2), padding=((2, 0), (0, 1)),
                                                   groups=2, dilation=(1, 2))),
    dict(x=(2, 3, 5, 4), w=(3, 1, 3, 3), conv=dict(padding=2, groups=3,
                                                   padding_mode="reflect")),
    dict(x=(1, 2, 4, 5), w=(3, 2, 2, 3), conv=dict(padding="same", stride=2,
                                                   padding_mode="circular")),
    dict(x=(2, 2, 3, 4), w=(2, 2, 3, 3), conv=dict(padding=3, padding_mode="replicate")),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: f"x{c['x']}-w{c['w']}-{c['conv']}")
def test_conv2d_backward_numerical_gradient(case, rng):
    x = rng.standard_normal(case["x"])
    w = rng.standard_normal(case["w"])
    b = rng.standard_normal(case["w"][0])
    kw = case["conv"]
    out = ck.conv2d(x, w, b, **kw)
    dout = rng.standard_normal(out.shape)  # a random upstream gradient, as in the notebook

    dx_num = eval_numerical_gradient_array(lambda v: ck.conv2d(v, w, b, **kw), x, dout)
    dw_num = eval_numerical_gradient_array(lambda v: ck.conv2d(x, v, b, **kw), w, dout)
    db_num = eval_numerical_gradient_array(lambda v: ck.conv2d(x, w, v, **kw), b, dout)

    dx, dw, db = ck.conv2d_backward(dout, x, w, **kw)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    assert dx.dtype == dw.dtype == db.dtype == np.float64
    # The function is linear in each argument, so central differences are exact up to
    # rounding (~1e-11 relative here); the notebook asks for rel_error < 1e-8.
    assert scaled_error(dx, dx_num) < 1e-8
    assert scaled_error(dw, dw_num) < 1e-8
    assert scaled_error(db, db_num) < 1e-8
    if case is GRAD_CASES[0]:  # the notebook's own case, with the notebook's own measure
        assert max(rel_error(dx, dx_num), rel_error(dw, dw_num), rel_error(db, db_num)) < 1e-8
    # db is simply dout summed over batch and space.
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)


def test_backward_compute_subset(rng):
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    dout = rng.standard_normal((2, 4, 3, 3))
    full = ck.conv2d_backward(dout, x, w)
    only_w = ck.conv2d_backward(dout, x, w, compute=("weight",))
    only_x = ck.conv2d_backward(dout, x, w, compute="x")
    assert only_w[0] is None and only_w[2] is None
    assert only_x[1] is None and only_x[2] is None
    np.testing.assert_array_equal(only_w[1], full[1])
    np.testing.assert_array_equal(only_x[0], full[0])
    with pytest.raises(ValueError, match="compute"):
        ck.conv2d_backward(dout, x, w, compute=("x", "gamma"))


def test_layer_numerical_gradient(rng):
    """Through the Conv2d object: forward keeps a cache, backward returns grad_x and sets
    grad_weight / grad_bias."""
    layer = ck.Conv2d(3, 2, 3, stride=1, padding=1, dtype=np.float64, seed=7)
    x = rng.standard_normal((4, 3, 5, 5))
    out = layer.forward(x)
    assert out.shape == (4, 2, 5, 5)
    dout = rng.standard_normal(out.shape)
    assert layer.grad_weight is None and layer.grad_bias is None

    w0, b0 = layer.weight.copy(), layer.bias.copy()

    def f_x(v):
        return ck.Conv2d.forward(layer, v)

    def f_w(v):
        saved = layer.weight
        layer.weight = v
        try:
            return layer.forward(x)
        finally:
            layer.weight = saved

    def f_b(v):
        saved = layer.bias
        layer.bias = v
        try:
            return layer.forward(x)
        finally:
            layer.bias = saved

    dx_num = eval_numerical_gradient_array(f_x, x, dout)
    dw_num = eval_numerical_gradient_array(f_w, w0, dout)
    db_num = eval_numerical_gradient_array(f_b, b0, dout)

    layer.forward(x)  # the cache now holds exactly (x, weight)
    dx = layer.backward(dout)
    assert dx.shape == x.shape
    assert rel_error(dx, dx_num) < 1e-8
    assert layer.grad_weight.shape == layer.weight.shape
    assert rel_error(layer.grad_weight, dw_num) < 1e-8
    assert rel_error(layer.grad_bias, db_num) < 1e-8
    # The parameters themselves are not touched by backward.
    np.testing.assert_array_equal(layer.weight, w0)
    np.testing.assert_array_equal(layer.bias, b0)


def test_layer_backward_uses_cache_of_last_forward(rng):
    layer = ck.Conv2d(2, 3, 3, padding=1, dtype=np.float64, seed=1)
    x1 = rng.standard_normal((2, 2, 4, 4))
    x2 = rng.standard_normal((2, 2, 4, 4))
    dout = rng.standard_normal((2, 3, 4, 4))
    layer.forward(x1)
    layer.forward(x2)
    layer.backward(dout)
    _, dw2, db2 = ck.conv2d_backward(dout, x2, layer.weight, padding=1)
    _, dw1, _ = ck.conv2d_backward(dout, x1, layer.weight, padding=1)
    np.testing.assert_allclose(layer.grad_weight, dw2, rtol=1e-13, atol=1e-13)
    assert not np.allclose(layer.grad_weight, dw1)
    np.testing.assert_allclose(layer.grad_bias, db2, rtol=1e-13, atol=1e-13)


def test_layer_backward_before_forward_raises():
    layer = ck.Conv2d(1, 1, 3)
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.zeros((1, 1, 1, 1), np.float32))


# ---- the notebook's 2-D filter: CNN "convolution" is cross-correlation ------------------

def test_filter_is_cross_correlation_like_scipy():
    scipy_signal = pytest.importorskip("scipy.signal")
    image = np.zeros((6, 6), dtype=np.int64)
    image[:3] = 10
    k = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    corr = ck.conv2d(image[None, None], k[None, None])[0, 0]
    assert corr.dtype == np.float64 and corr.shape == (4, 4)
    np.testing.assert_array_equal(corr, scipy_signal.correlate(image, k, mode="valid"))
    np.testing.assert_array_equal(corr, [[0, 0, 0, 0], [40, 40, 40, 40], [40, 40, 40, 40],
                                         [0, 0, 0, 0]])
    true_conv = scipy_signal.convolve(image, k, mode="valid")
    np.testing.assert_array_equal(corr, -true_conv)  # the flipped kernel changes the sign
    flipped = ck.conv2d(image[None, None], k[None, None, ::-1, ::-1])[0, 0]
    np.testing.assert_array_equal(flipped, true_conv)


def test_random_filters_match_scipy_correlate(rng):
    scipy_signal = pytest.importorskip("scipy.signal")
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(3, 20, size=2))
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        img = rng.standard_normal((h, w))
        k = rng.standard_normal((kh, kw))
        np.testing.assert_allclose(ck.conv2d(img[None, None], k[None, None])[0, 0],
                                   scipy_signal.correlate(img, k, mode="valid", method="direct"),
                                   rtol=1e-12, atol=1e-12)
        # 'same' with stride 1 and an odd kernel is scipy's centred 'same'
        if kh % 2 and kw % 2:
            np.testing.assert_allclose(
                ck.conv2d(img[None, None], k[None, None], padding="same")[0, 0],
                scipy_signal.correlate(img, k, mode="same", method="direct"),
                rtol=1e-12, atol=1e-12)


def test_demo_output_size():
    assert ck.conv_output_size(224, 7, 2, 3) == 112
