"""Conv1d/Conv2d/Conv3d layer objects: shapes, PyTorch's default init, seeds, forward/backward against torch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import convkit as ck

torch = pytest.importorskip("torch")
F = torch.nn.functional

LAYERS = {1: ck.Conv1d, 2: ck.Conv2d, 3: ck.Conv3d}
TORCH_LAYERS = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}


def _t(a, grad=False):
    return torch.tensor(np.array(a, np.float64), requires_grad=grad)


@pytest.mark.parametrize("nd, args, kwargs, wshape", [
    (1, (3, 5, 4), {}, (5, 3, 4)),
    (1, (6, 4, (3,)), dict(groups=2), (4, 3, 3)),
    (2, (3, 8, 3), {}, (8, 3, 3, 3)),
    (2, (6, 4, (3, 5)), dict(groups=2), (4, 3, 3, 5)),
    (2, (5, 10, 3), dict(groups=5), (10, 1, 3, 3)),
    (3, (2, 3, 2), {}, (3, 2, 2, 2, 2)),
    (3, (4, 4, (1, 2, 3)), dict(groups=4), (4, 1, 1, 2, 3)),
])
def test_weight_and_bias_shapes(nd, args, kwargs, wshape):
    layer = LAYERS[nd](*args, **kwargs)
    assert layer.weight.shape == wshape
    assert layer.bias.shape == (wshape[0],)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32  # the default
    assert layer.kernel_size == wshape[2:]
    assert layer.grad_weight is None and layer.grad_bias is None
    # torch's layer with the same arguments has the same parameter shapes
    tl = TORCH_LAYERS[nd](*args, **kwargs)
    assert tuple(tl.weight.shape) == wshape and tuple(tl.bias.shape) == (wshape[0],)


@pytest.mark.parametrize("nd, in_ch, out_ch, k, groups", [
    (1, 3, 64, 5, 1), (2, 16, 32, 3, 1), (2, 16, 32, 3, 4), (2, 8, 8, 3, 8), (3, 4, 16, 3, 2),
    (2, 1, 200, 1, 1),
])
def test_default_init_bounds_like_pytorch(nd, in_ch, out_ch, k, groups):
    layer = LAYERS[nd](in_ch, out_ch, k, groups=groups, seed=11, dtype=np.float64)
    fan_in = in_ch // groups * k ** nd
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight, layer.bias
    assert np.all(np.abs(w) <= bound) and np.all(np.abs(b) <= bound)
    # uniform over the whole interval, not a narrower one: extremes near ±bound, mean ~0,
    # standard deviation bound/sqrt(3) (the sample is large enough for 20% tolerance)
    assert w.max() > 0.9 * bound and w.min() < -0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.2 * bound / math.sqrt(3)
    assert abs(w.mean()) < 0.2 * bound
    # torch's own initialisation has the same bound: its values fill the same interval
    tl = TORCH_LAYERS[nd](in_ch, out_ch, k, groups=groups)
    tw = tl.weight.detach().numpy()
    assert np.all(np.abs(tw) <= bound + 1e-12) and np.abs(tw).max() > 0.9 * bound


def test_seed_reproducibility():
    a = ck.Conv2d(3, 8, 3, seed=123)
    b = ck.Conv2d(3, 8, 3, seed=123)
    c = ck.Conv2d(3, 8, 3, seed=124)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.bias, b.bias)
    assert not np.array_equal(a.weight, c.weight)
    assert not np.array_equal(a.bias, c.bias)
    # no seed: fresh randomness every time
    assert not np.array_equal(ck.Conv2d(3, 8, 3).weight, ck.Conv2d(3, 8, 3).weight)
    # float64 with the same seed: the same draws, not rounded to float32
    d = ck.Conv2d(3, 8, 3, seed=123, dtype=np.float64)
    np.testing.assert_array_equal(d.weight.astype(np.float32), a.weight)
    assert not np.array_equal(d.weight, a.weight.astype(np.float64))
    # a Generator seed works as a seed too (numpy semantics)
    g1 = ck.Conv1d(2, 2, 3, seed=np.random.default_rng(5))
    g2 = ck.Conv1d(2, 2, 3, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(g1.weight, g2.weight)


LAYER_CASES = [
    (1, dict(in_channels=3, out_channels=5, kernel_size=3, stride=2, padding=1), (2, 3, 17)),
    (1, dict(in_channels=4, out_channels=6, kernel_size=5, dilation=2, groups=2,
             padding_mode="circular", padding=3), (3, 4, 20)),
    (2, dict(in_channels=3, out_channels=4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),
     (2, 3, 9, 8)),
    (2, dict(in_channels=6, out_channels=6, kernel_size=3, groups=6, padding=1,
             padding_mode="reflect"), (2, 6, 7, 7)),
    (2, dict(in_channels=4, out_channels=8, kernel_size=3, padding="same", dilation=2,
             padding_mode="replicate"), (1, 4, 10, 9)),
    (2, dict(in_channels=3, out_channels=2, kernel_size=3, padding="valid", bias=False),
     (2, 3, 6, 6)),
    (3, dict(in_channels=2, out_channels=3, kernel_size=(2, 3, 2), stride=(1, 2, 1), padding=1),
     (2, 2, 5, 6, 4)),
    (3, dict(in_channels=3, out_channels=3, kernel_size=3, groups=3, padding=1,
             padding_mode="circular", bias=False), (1, 3, 4, 4, 4)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nd, kwargs, xshape", LAYER_CASES,
                         ids=[f"{c[0]}d-{i}" for i, c in enumerate(LAYER_CASES)])
def test_forward_backward_vs_torch_module(nd, kwargs, xshape, dtype, rng):
    layer = LAYERS[nd](**kwargs, dtype=dtype, seed=3)
    assert layer.weight.dtype == dtype
    tl = TORCH_LAYERS[nd](**kwargs).double()
    with torch.no_grad():
        tl.weight.copy_(_t(layer.weight))
        if layer.bias is not None:
            tl.bias.copy_(_t(layer.bias))
    x = rng.standard_normal(xshape).astype(dtype)
    y = layer.forward(x)
    assert y.dtype == dtype
    xt = _t(x, grad=True)
    yt = tl(xt)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)
    np.testing.assert_array_equal(layer(x), y)  # __call__ is forward

    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = layer.backward(gy)
    yt.backward(_t(gy))
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, xt.grad.numpy(), **tol)
    assert layer.grad_weight.shape == layer.weight.shape
    np.testing.assert_allclose(layer.grad_weight, tl.weight.grad.numpy(), **tol)
    if kwargs.get("bias", True):
        np.testing.assert_allclose(layer.grad_bias, tl.bias.grad.numpy(), **tol)
    else:
        assert layer.bias is None and layer.grad_bias is None


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_forward_backward_vs_functional(nd, rng):
    """The layer computes what torch.nn.functional computes with the layer's own weights."""
    layer = LAYERS[nd](4, 6, 3, stride=2, padding=1, groups=2, dtype=np.float64, seed=nd)
    x = rng.standard_normal((2, 4) + (7,) * nd)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    xt, wt, bt = _t(x, True), _t(layer.weight, True), _t(layer.bias, True)
    yt = conv(xt, wt, bt, stride=2, padding=1, groups=2)
    y = layer.forward(x)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    yt.backward(_t(gy))
    np.testing.assert_allclose(layer.backward(gy), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grad_weight, wt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grad_bias, bt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_bias_false(rng):
    layer = ck.Conv2d(3, 4, 3, bias=False, seed=1, dtype=np.float64)
    assert layer.bias is None
    x = rng.standard_normal((2, 3, 6, 6))
    y = layer.forward(x)
    np.testing.assert_array_equal(y, ck.conv2d(x, layer.weight))
    layer.backward(rng.standard_normal(y.shape))
    assert layer.grad_bias is None
    assert layer.grad_weight is not None and np.any(layer.grad_weight != 0)
    with_bias = ck.Conv2d(3, 4, 3, seed=1, dtype=np.float64)
    np.testing.assert_array_equal(with_bias.weight, layer.weight)  # same draws for the weight
    assert not np.allclose(with_bias.forward(x), y)


def test_dtype_float64_and_mixed_inputs(rng):
    l64 = ck.Conv2d(2, 3, 3, dtype=np.float64, seed=0)
    assert l64.weight.dtype == np.float64 and l64.bias.dtype == np.float64
    x32 = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    y = l64.forward(x32)
    assert y.dtype == np.float64  # float32 input with float64 weights: computed in float64
    gx = l64.backward(rng.standard_normal(y.shape))
    assert gx.dtype == np.float64 and l64.grad_weight.dtype == np.float64
    l32 = ck.Conv2d(2, 3, 3, seed=0)
    assert l32.forward(x32).dtype == np.float32
    assert l32.forward(x32.astype(np.float64)).dtype == np.float64
    assert ck.Conv2d(2, 3, 3, dtype="float64").weight.dtype == np.float64


def test_channels_last_layer(rng):
    layer = ck.Conv2d(3, 5, 3, padding=1, stride=2, dtype=np.float64, seed=2, layout="NHWC")
    x = rng.standard_normal((2, 7, 6, 3))
    y = layer.forward(x)
    assert y.shape == (2, 4, 3, 5)
    ref = F.conv2d(_t(x.transpose(0, 3, 1, 2)), _t(layer.weight), _t(layer.bias), stride=2,
                   padding=1).numpy()
    np.testing.assert_allclose(y.transpose(0, 3, 1, 2), ref, rtol=1e-12, atol=1e-12)
    gx = layer.backward(rng.standard_normal(y.shape))
    assert gx.shape == x.shape


def test_repr_mentions_configuration():
    r = repr(ck.Conv2d(3, 4, 3, stride=2, bias=False, dtype=np.float64))
    assert r.startswith("Conv2d(3, 4") and "stride=2" in r and "bias=False" in r
    assert "float64" in r
