"""Property-based tests (hypothesis) of the CNN convolution API against PyTorch.

Random shapes and parameters — including degenerate ones (kernels larger than the padded
input, zero or negative sizes, strides and dilations, channel counts that groups do not
divide) — for conv1d/2d/3d forward, backward and transposed convolution: whenever PyTorch
computes a result convkit must give the same (exactly, on small-integer data: direct
summation), and whenever the parameters are invalid convkit must raise ValueError/TypeError,
never crash or return garbage.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import convkit  # noqa: E402

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TORCH_FWD = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d,
             3: torch.nn.functional.conv3d}
TORCH_T = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
           3: torch.nn.functional.conv_transpose3d}
CK_FWD = {1: convkit.conv1d, 2: convkit.conv2d, 3: convkit.conv3d}
CK_BWD = {1: convkit.conv1d_backward, 2: convkit.conv2d_backward, 3: convkit.conv3d_backward}
CK_T = {1: convkit.conv_transpose1d, 2: convkit.conv_transpose2d, 3: convkit.conv_transpose3d}


@st.composite
def problems(draw, allow_invalid=True):
    """A valid problem; with allow_invalid, about a third get exactly one bad parameter."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    cin = draw(st.integers(1, 4)) * groups
    cout = draw(st.integers(1, 3)) * groups
    size_cap = 7 if nd == 3 else 12
    p = dict(nd=nd, groups=groups, cin=cin, cout=cout, batch=draw(st.integers(1, 2)),
             sizes=[draw(st.integers(1, size_cap)) for _ in range(nd)],
             kernel=[draw(st.integers(1, 5)) for _ in range(nd)],
             stride=[draw(st.integers(1, 3)) for _ in range(nd)],
             dilation=[draw(st.integers(1, 3)) for _ in range(nd)],
             padding=[draw(st.integers(0, 3)) for _ in range(nd)])
    if allow_invalid and draw(st.integers(0, 2)) == 0:
        field = draw(st.sampled_from(["groups", "cin", "cout", "sizes", "kernel", "stride",
                                      "dilation", "padding", "indivisible"]))
        bad = draw(st.integers(-2, 0))
        if field == "indivisible":
            p["cin"] = p["groups"] * 2 + 1 if p["groups"] > 1 else p["cin"]
            p["groups"] = max(p["groups"], 2)
        elif field in ("groups", "cin", "cout"):
            p[field] = bad
        else:
            i = draw(st.integers(0, nd - 1))
            p[field][i] = bad - 1 if field == "padding" else bad
    return p


def _arrays(p, rng):
    x = rng.integers(-3, 4, (p["batch"], max(p["cin"], 0), *[max(s, 0) for s in p["sizes"]]))
    w = rng.integers(-3, 4, (max(p["cout"], 0), max(p["cin"], 0) // max(p["groups"], 1),
                             *[max(k, 0) for k in p["kernel"]]))
    return x.astype(np.float64), w.astype(np.float64)


def _torch_or_none(fn):
    try:
        with torch.no_grad():
            return fn()
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None


@SETTINGS
@given(problems(), st.integers(0, 2**32 - 1))
def test_forward_and_backward_match_torch_or_raise_cleanly(p, seed):
    rng = np.random.default_rng(seed)
    nd = p["nd"]
    valid = (p["groups"] >= 1 and p["cin"] >= 1 and p["cout"] >= 1 and
             p["cin"] % p["groups"] == 0 and p["cout"] % p["groups"] == 0 and
             all(s >= 1 for s in p["sizes"]) and all(k >= 1 for k in p["kernel"]) and
             all(s >= 1 for s in p["stride"]) and all(d >= 1 for d in p["dilation"]) and
             all(q >= 0 for q in p["padding"]))
    x, w = _arrays(p, rng)
    kwargs = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"],
                  groups=p["groups"])
    want = None
    if valid:
        want = _torch_or_none(lambda: TORCH_FWD[nd](torch.from_numpy(x), torch.from_numpy(w),
                                                     **kwargs).numpy())
    if want is None:
        with pytest.raises((ValueError, TypeError)):
            CK_FWD[nd](x, w, **kwargs)
        return
    got = CK_FWD[nd](x, w, **kwargs)
    np.testing.assert_array_equal(got, want)
    # Backward against autograd on the same problem.
    dy = rng.integers(-3, 4, want.shape).astype(np.float64)
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    TORCH_FWD[nd](xt, wt, **kwargs).backward(torch.from_numpy(dy))
    dx, dw, db = CK_BWD[nd](dy, x, w, **kwargs)
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    np.testing.assert_array_equal(dw, wt.grad.numpy())
    np.testing.assert_array_equal(db, dy.sum(axis=tuple(i for i in range(dy.ndim) if i != 1)))


@SETTINGS
@given(problems(allow_invalid=False), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_transposed_matches_torch_or_raises_cleanly(p, out_pad, seed):
    rng = np.random.default_rng(seed)
    nd = p["nd"]
    # For the transposed convolution, in2 is (C_in, C_out/groups, *kernel).
    x = rng.integers(-3, 4, (p["batch"], p["cin"], *p["sizes"])).astype(np.float64)
    w = rng.integers(-3, 4, (p["cin"], p["cout"] // p["groups"], *p["kernel"])).astype(np.float64)
    op = [min(out_pad, s) for s in p["stride"]]
    kwargs = dict(stride=p["stride"], padding=p["padding"], output_padding=op,
                  groups=p["groups"], dilation=p["dilation"])
    want = None
    if p["cin"] % p["groups"] == 0:
        want = _torch_or_none(lambda: TORCH_T[nd](torch.from_numpy(x), torch.from_numpy(w),
                                                   **kwargs).numpy())
    if want is None:
        with pytest.raises((ValueError, TypeError)):
            CK_T[nd](x, w, **kwargs)
        return
    np.testing.assert_array_equal(CK_T[nd](x, w, **kwargs), want)
