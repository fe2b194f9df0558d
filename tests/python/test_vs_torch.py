"""PyTorch in float64 as the oracle for convkit's forward, backward and transposed convolutions on random problems."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import convkit as ck

torch = pytest.importorskip("torch")
F = torch.nn.functional

# How many random problems each test compares with the oracle. Every forward case is also a
# backward case (same problem, random grad_output), so per spatial dimension count:
#   conv{n}d forward = conv{n}d backward = N_FORWARD[n], conv_transpose{n}d = N_TRANSPOSE[n].
# With the numbers below: 1-D 1500 + 1500 + 1000, 2-D 1500 + 1500 + 1000, 3-D 1000 + 1000 + 800
# cases, 10800 in all (each checks every output element; a backward case checks grad_x,
# grad_weight and grad_bias). On top of that every case is repeated with each algorithm of
# convkit.algorithms() forced (forward, grad_x, grad_weight, transposed; skipped where the
# algorithm declines the problem), and N_ISA[n] further cases run under CONVKIT_MAX_ISA=avx2
# and =generic. The counts are asserted in each test and printed in pytest's terminal summary
# ("random cases compared with the oracle"). The whole file takes ~20 s on an idle 2-core
# machine (~40 s under load). CONVKIT_TEST_SEED (see conftest.py) draws other random cases.
N_FORWARD = {1: 1500, 2: 1500, 3: 1000}
N_TRANSPOSE = {1: 1000, 2: 1000, 3: 800}
N_ISA = {1: 200, 2: 200, 3: 150}   # per capped instruction set (avx2, generic), see below

# Tolerances, relative to the sum of |terms| of each output element (computed by the oracle
# with absolute values), which bounds the rounding error of any summation order.
RTOL = {np.float32: 1e-5, np.float64: 1e-12}

NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
MODES = ("zeros", "reflect", "replicate", "circular")
LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
TORCH_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TORCH_CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
CK_CONV = {1: ck.conv1d, 2: ck.conv2d, 3: ck.conv3d}
CK_BACKWARD = {1: ck.conv1d_backward, 2: ck.conv2d_backward, 3: ck.conv3d_backward}
CK_CONVT = {1: ck.conv_transpose1d, 2: ck.conv_transpose2d, 3: ck.conv_transpose3d}
MAX_IN = {1: 24, 2: 10, 3: 6}      # largest random spatial size
MAX_K = {1: 7, 2: 5, 3: 3}         # largest random kernel size (unless it fills the input)


# ---- layouts and the oracle ------------------------------------------------------------------

def to_last(a):
    """(N, C, *spatial) → (N, *spatial, C)."""
    return np.moveaxis(a, 1, -1)


def to_first(a):
    """(N, *spatial, C) → (N, C, *spatial)."""
    return np.moveaxis(a, -1, 1)


def same_pads(n, k, s, d):
    """TensorFlow's 'same': output ceil(n/s), total pad as needed, the odd one at the end."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def pad_indices(n, before, after, mode):
    """The input index each position of a padded length-n axis reads (numpy.pad's 'reflect',
    'edge', 'wrap' as index maps). For pads larger than the input, reflection and wrapping
    repeat periodically (periods 2(n−1) and n). numpy itself agrees where a pad fits in the
    input or only one side is padded; numpy 1.24, installed here, is not periodic for larger
    unbalanced pads (numpy issues 22464 and 24436 for 'wrap', fixed by numpy PR 22575; 28575
    for 'reflect'), so the oracle uses this definition (see test_pad_indices_match_numpy)."""
    i = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * (n - 1)
        m = i % period
        return np.where(m < n, m, period - m)
    raise AssertionError(mode)


def torch_pad(t, pairs, mode):
    """Differentiable padding of a (N, C, *spatial) tensor: F.pad for zeros; for the other
    modes a gather with pad_indices (these modes only move elements, so this is numpy.pad of
    the data and torch's autograd gives its gradient)."""
    if mode == "zeros":
        flat = []
        for before, after in reversed(pairs):
            flat += [before, after]
        return F.pad(t, flat)
    for i, (before, after) in enumerate(pairs):
        idx = pad_indices(t.shape[2 + i], before, after, mode)
        t = t.index_select(2 + i, torch.from_numpy(idx))
    return t


def _t(a, grad=False):
    return None if a is None else torch.tensor(np.array(a, np.float64), requires_grad=grad)


def oracle_conv(nd, x, w, b, stride, pairs, dilation, groups, mode, gy=None):
    """Forward (and with gy the gradients) in float64, channels-first numpy in and out."""
    need = gy is not None
    xt, wt, bt = _t(x, need), _t(w, need), _t(b, need)
    y = TORCH_CONV[nd](torch_pad(xt, pairs, mode), wt, bt, stride=stride, padding=0,
                       dilation=dilation, groups=groups)
    if not need:
        return y.detach().numpy()
    y.backward(_t(gy))
    gb = None if bt is None else bt.grad.numpy()
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), gb


def oracle_conv_transpose(nd, x, w, b, stride, pairs, output_padding, groups, dilation):
    """Transposed convolution in float64 with (before, after) pads: torch's result without
    padding, output_padding zeros appended at the end of each dimension, then `before` cut
    from the start and `after` from the end (the backward-data pass of the forward
    convolution with those pads); torch's own conv_transpose where the pads are symmetric."""
    xt, wt = _t(x), _t(w)
    full = TORCH_CONVT[nd](xt, wt, None, stride=stride, padding=0, output_padding=0,
                           groups=groups, dilation=dilation).numpy()
    full = np.pad(full, [(0, 0), (0, 0)] + [(0, op) for op in output_padding])
    sl = tuple(slice(before, full.shape[2 + i] - after) for i, (before, after) in enumerate(pairs))
    y = full[(slice(None), slice(None)) + sl]
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape((1, -1) + (1,) * nd)
    if all(before == after for before, after in pairs):
        native = TORCH_CONVT[nd](xt, wt, _t(b), stride=stride, padding=[p for p, _ in pairs],
                                 output_padding=output_padding, groups=groups,
                                 dilation=dilation).numpy()
        # Guards the oracle itself: the crop construction must be torch's semantics.
        np.testing.assert_allclose(y, native, rtol=1e-12, atol=1e-12)
    return y


def compare(name, got, ref, bound, dtype):
    """None when got ≈ ref within RTOL[dtype]·bound, else a description of the mismatch."""
    if not isinstance(got, np.ndarray):
        return f"{name}: got {type(got).__name__}, expected an ndarray"
    if got.dtype != dtype:
        return f"{name}: dtype {got.dtype}, expected {np.dtype(dtype)}"
    if got.shape != ref.shape:
        return f"{name}: shape {got.shape}, expected {ref.shape}"
    err = np.abs(got.astype(np.float64) - ref)
    tol = RTOL[dtype] * bound + 1e-300
    bad = ~(err <= tol)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, err / tol, -1)), got.shape)
        return (f"{name}: {int(bad.sum())} of {got.size} elements differ; worst at {tuple(map(int, i))}: "
                f"got {got[i]!r}, expected {ref[i]!r} (|terms| sum {bound[i]:.3g}, tol {tol[i]:.3g})")
    return None


def approximate_tolerance(x, w, groups, nd):
    """The error bound convkit documents for approximate algorithms (Winograd): per output
    channel k, 2**-24 * 2304 * (C/groups + 32) * max|x| * max|w_k|, shaped to broadcast
    over a channels-first result."""
    cg = w.shape[1]
    wmax = np.abs(w.astype(np.float64)).reshape(w.shape[0], -1).max(axis=1)
    tol = 2.0 ** -24 * 2304 * (cg + 32) * float(np.abs(x).max(initial=0)) * wmax
    return tol.reshape((1, -1) + (1,) * nd)


def approximate_grad_x_tolerance(gy, w, groups):
    """The documented bound for an approximate algorithm's grad_x (Winograd sums over the
    K/groups output channels): 2**-24 * 2304 * (K/groups + 32) * max|gy| * max|w|."""
    kg = w.shape[0] // groups
    return 2.0 ** -24 * 2304 * (kg + 32) * float(np.abs(gy).max(initial=0)) * float(
        np.abs(w).max(initial=0))


def approximate_grad_w_tolerance(x, gy, dilation):
    """The documented bound for Winograd's grad_weight: 2**-24 * 2845 * (T + 32) * max|x| *
    max|gy|, T = N * (ceil(OH/4) + 2*dh) * (ceil(OW/4) + 2*dw) (the 4x4 output tiles summed)."""
    n, oh, ow = gy.shape[0], gy.shape[-2], gy.shape[-1]
    tiles = n * ((oh + 3) // 4 + 2 * dilation[0]) * ((ow + 3) // 4 + 2 * dilation[1])
    return 2.0 ** -24 * 2845 * (tiles + 32) * float(np.abs(x).max(initial=0)) * float(
        np.abs(gy).max(initial=0))


def _per_dim(rng, values, nd, as_int_prob=0.4):
    """Per-dimension values, given to convkit as an int when all equal (sometimes)."""
    return list(values), (values[0] if len(set(values)) == 1 and rng.random() < as_int_prob
                          else tuple(int(v) for v in values))


# ---- random problems ---------------------------------------------------------------------

def random_channels(rng):
    """(batch, groups, in_channels, out_channels): groups 1, grouped, or depthwise."""
    batch = int(rng.choice([1, 1, 2, 3]))
    kind = rng.choice(["single", "wide", "grouped", "depthwise"], p=[0.4, 0.08, 0.28, 0.24])
    if kind == "wide":  # just off multiples of 16, where blocked kernels have tails
        g, cg, kg = 1, int(rng.choice([15, 17, 31, 33])), int(rng.choice([15, 17, 33]))
    elif kind == "single":
        g, cg, kg = 1, int(rng.integers(1, 6)), int(rng.integers(1, 6))
    elif kind == "grouped":
        g, cg, kg = int(rng.integers(2, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    else:
        g = int(rng.choice([1, 2, 3, 5, 7, 17], p=[0.15, 0.2, 0.2, 0.2, 0.15, 0.1]))
        cg, kg = 1, int(rng.choice([1, 1, 2, 3]))
    return batch, g, g * cg, g * kg


def random_forward_case(rng, nd):
    batch, groups, cin, cout = random_channels(rng)
    top = MAX_IN[nd] * (2 if rng.random() < 0.08 else 1)  # now and then a larger input
    n = [int(rng.integers(1, top + 1)) for _ in range(nd)]
    stride = [int(rng.choice([1, 1, 2, 3, 4])) for _ in range(nd)]
    dilation = [int(rng.choice([1, 1, 1, 2, 3])) for _ in range(nd)]
    mode = str(rng.choice(MODES))
    pkind = str(rng.choice(["int", "tuple", "pairs", "same", "valid"], p=[.2, .2, .3, .2, .1]))
    big = mode != "zeros" and rng.random() < 0.3  # pads larger than the input
    hi = 2 * MAX_IN[nd] if big else 4
    k = []
    pairs = []
    if pkind == "int":
        p = int(rng.integers(0, hi + 1))
        raw = [(p, p)] * nd
    elif pkind == "tuple":
        raw = [(p, p) for p in (int(rng.integers(0, hi + 1)) for _ in range(nd))]
    elif pkind == "pairs":
        raw = [(int(rng.integers(0, hi + 1)), int(rng.integers(0, hi + 1))) for _ in range(nd)]
    else:
        raw = None
    for i in range(nd):
        if pkind in ("same", "valid"):
            room = n[i]
        else:
            room = n[i] + raw[i][0] + raw[i][1]
        kmax = (room - 1) // dilation[i] + 1           # the largest kernel that fits
        if pkind == "same":
            kmax = min(kmax + 1, MAX_K[nd])             # 'same' pads any kernel
        kk = kmax if rng.random() < 0.15 else int(rng.integers(1, min(kmax, MAX_K[nd]) + 1))
        kk = max(1, min(kk, MAX_IN[nd]))
        k.append(kk)
        if pkind == "same":
            pairs.append(same_pads(n[i], kk, stride[i], dilation[i]))
        elif pkind == "valid":
            pairs.append((0, 0))
        else:
            pairs.append(raw[i])
    if pkind == "int":
        padding = raw[0][0]
    elif pkind == "tuple":
        padding = tuple(p for p, _ in raw)
    elif pkind == "pairs":
        padding = tuple(raw) if rng.random() < 0.8 else np.array(raw)
    else:
        padding = pkind
    stride, stride_arg = _per_dim(rng, stride, nd)
    dilation, dilation_arg = _per_dim(rng, dilation, nd)
    return dict(
        nd=nd, batch=batch, groups=groups, cin=cin, cout=cout, n=n, k=k, stride=stride,
        stride_arg=stride_arg, dilation=dilation, dilation_arg=dilation_arg, pairs=pairs,
        padding=padding, pkind=pkind, mode=mode,
        layout=LAYOUTS[nd][1] if rng.random() < 0.35 else LAYOUTS[nd][0],
        dtype=np.float32 if rng.random() < 0.5 else np.float64,
        bias=rng.random() < 0.7)


def random_transpose_case(rng, nd):
    batch, groups, cin, cout = random_channels(rng)
    n = [int(rng.integers(1, MAX_IN[nd] // 2 + 2)) for _ in range(nd)]
    stride = [int(rng.choice([1, 1, 2, 3])) for _ in range(nd)]
    dilation = [int(rng.choice([1, 1, 2, 3])) for _ in range(nd)]
    k = [int(rng.integers(1, MAX_K[nd] + 1)) for _ in range(nd)]
    op = [int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation)]
    pkind = str(rng.choice(["int", "tuple", "pairs"], p=[0.3, 0.3, 0.4]))
    for _ in range(100):
        if pkind == "int":
            p = int(rng.integers(0, 4))
            pairs = [(p, p)] * nd
        elif pkind == "tuple":
            pairs = [(p, p) for p in (int(rng.integers(0, 4)) for _ in range(nd))]
        else:
            pairs = [(int(rng.integers(0, 4)), int(rng.integers(0, 4))) for _ in range(nd)]
        sizes = [(n[i] - 1) * stride[i] - sum(pairs[i]) + dilation[i] * (k[i] - 1) + op[i] + 1
                 for i in range(nd)]
        if min(sizes) >= 1:
            break
    else:
        pairs = [(0, 0)] * nd
    if pkind == "int":
        padding = pairs[0][0]
    elif pkind == "tuple":
        padding = tuple(p for p, _ in pairs)
    else:
        padding = tuple(pairs)
    stride, stride_arg = _per_dim(rng, stride, nd)
    dilation, dilation_arg = _per_dim(rng, dilation, nd)
    op, op_arg = _per_dim(rng, op, nd)
    return dict(
        nd=nd, batch=batch, groups=groups, cin=cin, cout=cout, n=n, k=k, stride=stride,
        stride_arg=stride_arg, dilation=dilation, dilation_arg=dilation_arg, pairs=pairs,
        padding=padding, pkind=pkind, output_padding=op, output_padding_arg=op_arg,
        layout=LAYOUTS[nd][1] if rng.random() < 0.35 else LAYOUTS[nd][0],
        dtype=np.float32 if rng.random() < 0.5 else np.float64,
        bias=rng.random() < 0.7)


def describe(case, idx):
    keys = [k for k in case if not k.endswith("_arg") or case[k] != case[k[:-4]]]
    body = ", ".join(f"{k}={case[k]!r}" if k != "dtype" else f"dtype={np.dtype(case[k])}"
                     for k in keys)
    return f"case #{idx}: {body}"


def make_arrays(rng, case, transposed):
    dt = case["dtype"]
    x = rng.standard_normal((case["batch"], case["cin"], *case["n"])).astype(dt)
    if transposed:
        wshape = (case["cin"], case["cout"] // case["groups"], *case["k"])
    else:
        wshape = (case["cout"], case["cin"] // case["groups"], *case["k"])
    w = rng.standard_normal(wshape).astype(dt)
    b = rng.standard_normal(case["cout"]).astype(dt) if case["bias"] else None
    return x, w, b


def _features(case, out_shape=None):
    """Labels of what a case exercises, to assert the random generator's coverage."""
    f = {case["layout"], np.dtype(case["dtype"]).name, f"padding:{case['pkind']}"}
    if case.get("mode"):
        f.add(f"mode:{case['mode']}")
    if case["batch"] == 1:
        f.add("batch1")
    if case["cin"] == 1:
        f.add("cin1")
    if case["groups"] > 1:
        f.add("grouped")
        if case["groups"] == case["cin"]:
            f.add("depthwise")
    if case["bias"]:
        f.add("bias")
    if any(s > 1 for s in case["stride"]):
        f.add("stride>1")
    if any(d > 1 for d in case["dilation"]):
        f.add("dilation>1")
    if any(a != b for a, b in case["pairs"]):
        f.add("asymmetric")
    if "output_padding" in case:
        if any(op > 0 for op in case["output_padding"]):
            f.add("output_padding")
        if any(op >= s for op, s in zip(case["output_padding"], case["stride"])):
            f.add("output_padding>=stride")
    else:
        for i in range(case["nd"]):
            n, k, s, d = case["n"][i], case["k"][i], case["stride"][i], case["dilation"][i]
            pb, pa = case["pairs"][i]
            span = n + pb + pa - d * (k - 1) - 1
            if s > 1 and span % s:
                f.add("stride∤span")
            if span == 0:
                f.add("kernel=padded input")
            if max(pb, pa) > n and case["mode"] != "zeros":
                f.add("pad>input")
            if case["pkind"] == "same" and s > 1:
                f.add("same,stride>1")
    return f


# ---- the random comparisons --------------------------------------------------------------

def _declined(e, algo):
    """An algorithm forced with algorithm= that does not handle a problem raises TypeError
    (convkit's UnsupportedError) "algorithm: '<name>' declines ...": not a wrong result."""
    return isinstance(e, TypeError) and str(e).startswith(f"algorithm: '{algo}' declines")


def run_forward_backward(nd, rng, n_cases, tag):
    """n_cases random problems: forward with algorithm 'auto' and with every algorithm forced
    (those that decline a problem are skipped), backward, all against the oracle.
    Returns (failures, features, counts, worst error ratios)."""
    failures, features, counts = [], Counter(), Counter()
    worst = {np.float32: 0.0, np.float64: 0.0}
    algos = [a for a in ck.algorithms()]
    for idx in range(n_cases):
        case = random_forward_case(rng, nd)
        x, w, b = make_arrays(rng, case, transposed=False)
        features.update(_features(case))
        dt, last = case["dtype"], case["layout"] in ("NWC", "NHWC", "NDHWC")
        common = dict(stride=case["stride_arg"], padding=case["padding"],
                      dilation=case["dilation_arg"], groups=case["groups"],
                      padding_mode=case["mode"], layout=case["layout"])
        args = (nd, x, w, b, case["stride"], case["pairs"], case["dilation"], case["groups"],
                case["mode"])
        gy_shape = oracle_conv(*args).shape
        gy = rng.standard_normal(gy_shape).astype(dt)
        y_ref, gx_ref, gw_ref, gb_ref = oracle_conv(*args, gy=gy)
        abs_args = (nd, np.abs(x), np.abs(w), None if b is None else np.abs(b)) + args[4:]
        y_bound, gx_bound, gw_bound, _ = oracle_conv(*abs_args, gy=np.abs(gy))
        gb_bound = np.abs(gy.astype(np.float64)).sum(axis=tuple(i for i in range(nd + 2) if i != 1))
        where = f"[{tag}] {describe(case, idx)}"
        xin = to_last(x) if last else x

        for algo in ["auto"] + algos:
            try:
                y = CK_CONV[nd](xin, w, b, algorithm=algo, **common)
            except Exception as e:  # noqa: BLE001 — every exception is a finding here
                if algo != "auto" and _declined(e, algo):
                    continue
                failures.append(f"{where}\n    forward ({algo}) raised {type(e).__name__}: {e}")
                counts[f"forward [{algo}]"] += 1
                continue
            counts[f"forward [{algo}]"] += 1
            yf = to_first(y) if last else y
            ran_algo = algo
            if algo == "auto":
                ran_algo = ck.explain(xin, w, **common).split("chose '")[1].split("'")[0]
            if ck.algorithm_is_approximate(ran_algo):
                # Winograd: within its documented bound (direct summation's RTOL·|terms| is
                # the tighter bound of the exact-summation algorithms)
                counts[f"forward [{algo}] approximate"] += 1
                tol = approximate_tolerance(x, w, case["groups"], nd)
                msg = compare(f"forward ({ran_algo})", yf, y_ref,
                              np.broadcast_to(tol, y_ref.shape) / RTOL[dt], dt)
            else:
                msg = compare(f"forward ({algo})", yf, y_ref, y_bound, dt)
            if msg:
                failures.append(f"{where}\n    {msg}")
            else:
                worst[dt] = max(worst[dt], float(np.max(np.abs(yf - y_ref) / (y_bound + 1e-300))))

        compute = ("x", "weight", "bias") if case["bias"] else ("x", "weight")
        try:
            gx, gw, gb = CK_BACKWARD[nd](to_last(gy) if last else gy, xin, w, compute=compute,
                                         **common)
            bd_algo = ck.explain(xin, w, direction="backward_data", **common).split(
                "chose '")[1].split("'")[0]
            gx_tol = gx_bound
            if ck.algorithm_is_approximate(bd_algo):
                counts["grad_x [auto] approximate"] += 1
                gx_tol = np.full(gx_ref.shape, approximate_grad_x_tolerance(gy, w, case["groups"])
                                 / RTOL[dt])
            msgs = [compare("grad_x", to_first(gx) if last else gx, gx_ref, gx_tol, dt),
                    compare("grad_weight", gw, gw_ref, gw_bound, dt)]
            if case["bias"]:
                msgs.append(compare("grad_bias", gb, gb_ref, gb_bound, dt))
            elif gb is not None:
                msgs.append("grad_bias: computed although not requested")
            msg = "; ".join(m for m in msgs if m)
        except Exception as e:  # noqa: BLE001
            msg = f"backward raised {type(e).__name__}: {e}"
        counts["backward"] += 1
        if msg:
            failures.append(f"{where}\n    {msg}")

        # each algorithm forced for each gradient it accepts
        for algo in algos:
            for comp, name, ref, bound in (("x", "grad_x", gx_ref, gx_bound),
                                           ("weight", "grad_weight", gw_ref, gw_bound)):
                try:
                    g = CK_BACKWARD[nd](to_last(gy) if last else gy, xin, w, compute=(comp,),
                                        algorithm=algo, **common)
                except Exception as e:  # noqa: BLE001
                    if _declined(e, algo):
                        continue
                    msg = f"{name} ({algo}) raised {type(e).__name__}: {e}"
                else:
                    got = g[0] if comp == "x" else g[1]
                    if comp == "x" and last:
                        got = to_first(got)
                    if ck.algorithm_is_approximate(algo):
                        bound = np.full(ref.shape, approximate_grad_x_tolerance(
                            gy, w, case["groups"]) / RTOL[dt])
                    msg = compare(f"{name} ({algo})", got, ref, bound, dt)
                counts[f"{name} [{algo}]"] += 1
                if msg:
                    failures.append(f"{where}\n    {msg}")
    return failures, features, counts, worst


FORWARD_FEATURES = ["batch1", "cin1", "grouped", "depthwise", "bias", "stride>1", "dilation>1",
                    "asymmetric", "stride∤span", "kernel=padded input", "pad>input",
                    "same,stride>1", "float32", "float64",
                    *(f"padding:{p}" for p in ("int", "tuple", "pairs", "same", "valid")),
                    *(f"mode:{m}" for m in MODES)]


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_forward_and_backward_vs_torch(nd, make_rng, case_counts):
    failures, features, counts, worst = run_forward_backward(nd, make_rng(f"fb{nd}"),
                                                             N_FORWARD[nd], "auto")
    case_counts[f"conv{nd}d forward"] = counts["forward [auto]"]
    case_counts[f"conv{nd}d backward"] = counts["backward"]
    for key, n in counts.items():
        if "[" in key and not key.startswith("forward [auto]"):
            case_counts[f"conv{nd}d {key}"] = n
    print(f"conv{nd}d: {dict(counts)}; worst error/|terms|: "
          f"float32 {worst[np.float32]:.2e}, float64 {worst[np.float64]:.2e}")
    assert not failures, (f"{len(failures)} comparisons failed:\n" + "\n".join(failures[:12]))
    assert counts["forward [auto]"] == counts["backward"] == N_FORWARD[nd]
    # every algorithm was compared on some problems in the direction(s) it implements
    for algo in ck.algorithms():
        ran = sum(counts[f"{op} [{algo}]"] for op in ("forward", "grad_x", "grad_weight"))
        if algo == "winograd":  # 3x3 stride-1 float32 2-D only: test_winograd_vs_torch
            assert nd == 2 or ran == 0, (algo, dict(counts))
            continue
        if algo == "pointwise_channels_last":  # 1x1 channels-last only: rare here, see
            assert ran > 0, (algo, dict(counts))  # test_pointwise_channels_last_vs_torch
            continue
        assert ran >= 20, (algo, dict(counts))
    # The generator must have produced every kind of problem the suite claims to cover.
    missing = [f for f in [*LAYOUTS[nd], *FORWARD_FEATURES] if features[f] < 3]
    assert not missing, f"random cases did not cover {missing}: {dict(features)}"


@pytest.mark.parametrize("isa", ["", "avx2", "generic"])
def test_winograd_vs_torch(isa, make_rng, case_counts, monkeypatch):
    """Winograd F(4x4, 3x3) on random problems it takes (float32, 3x3, stride 1, dilation run as
    dense phases): every padding mode and pad, 'same'/'valid', both layouts, strided views, bias
    and ReLU, channel counts
    around the vector widths, images from 1x1, on every ISA path; within its documented bound,
    and on random data close to direct summation's accuracy (about 25 ulp of max|x|*sum|w_k|);
    grad_x (zero padding) and grad_weight within theirs. With direct_summation_only=True, auto
    never chooses it."""
    if isa:
        monkeypatch.setenv("CONVKIT_MAX_ISA", isa)
    rng = make_rng(f"wino{isa}")
    failures, ran, ran_bd, ran_bw, worst = [], 0, 0, 0, 0.0
    for idx in range(120):
        n, c, k = int(rng.integers(1, 3)), int(rng.integers(1, 41)), int(rng.integers(1, 41))
        h, w_ = (int(rng.integers(1, 31)) for _ in range(2))
        mode = str(rng.choice(MODES))
        pkind = str(rng.choice(["pairs", "int", "same", "valid"]))
        if pkind == "same" and mode != "zeros":
            pkind = "pairs"
        if pkind == "valid" and (h < 3 or w_ < 3):
            pkind = "int"
        if pkind == "pairs":
            top = 3 if mode == "zeros" else 40
            pairs = [tuple(int(v) for v in rng.integers(0, min(top, size + 3) + 1, 2))
                     for size in (h, w_)]
            padding = pairs
        elif pkind == "int":
            p = int(rng.integers(1, 3))
            pairs, padding = [(p, p), (p, p)], p
        elif pkind == "same":
            pairs, padding = [(1, 1), (1, 1)], "same"
        else:
            pairs, padding = [(0, 0), (0, 0)], "valid"
        dil = [int(v) for v in rng.integers(1, 4, 2)] if rng.random() < 0.3 else [1, 1]
        if dil != [1, 1] and pkind == "same":
            pairs, padding = [(1, 1), (1, 1)], 1
        if any(size + b + a < 2 * d + 1 for size, (b, a), d in zip((h, w_), pairs, dil)):
            pairs = [(2 * d, 2 * d) for d in dil]  # fits any size
            padding = pairs
            mode = "zeros"
        x = rng.standard_normal((n, c, h, w_)).astype(np.float32)
        wt = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
        b = rng.standard_normal(k).astype(np.float32) if rng.random() < 0.5 else None
        relu = rng.random() < 0.3
        layout = str(rng.choice(["NCHW", "NHWC"]))
        xin = to_last(x) if layout == "NHWC" else x
        if rng.random() < 0.3:  # a strided view of a larger array
            big = np.zeros(xin.shape[:-1] + (2 * xin.shape[-1],), np.float32)
            big[..., ::2] = xin
            xin = big[..., ::2]
        y_ref = oracle_conv(2, x, wt, b, [1, 1], pairs, dil, 1, mode)
        if relu:
            y_ref = np.maximum(y_ref, 0)
        where = f"case {idx}: x{x.shape} w{wt.shape} pad {padding} {mode} {layout} relu={relu}"
        common = dict(padding=padding, padding_mode=mode, layout=layout, dilation=tuple(dil),
                      activation="relu" if relu else None)
        try:
            y = ck.conv2d(xin, wt, b, algorithm="winograd", **common)
        except Exception as e:  # noqa: BLE001
            failures.append(f"{where}: raised {type(e).__name__}: {e}")
            continue
        ran += 1
        yf = to_first(y) if layout == "NHWC" else y
        err = np.abs(yf.astype(np.float64) - y_ref)
        tol = approximate_tolerance(x, wt, 1, 2) + 2.0 ** -23 * np.abs(y_ref)
        if not (err <= tol).all():
            failures.append(f"{where}: error {err.max():.3g} above the documented bound")
        wsum = np.abs(wt.astype(np.float64)).reshape(k, -1).sum(axis=1).reshape(1, -1, 1, 1)
        worst = max(worst, float((err / (2.0 ** -24 * float(np.abs(x).max()) * wsum)).max()))
        # direct summation only: auto never picks it (the exact-summation result)
        exact = ck.conv2d(xin, wt, b, direct_summation_only=True, **common)
        chosen = ck.explain(xin, wt, padding=padding, padding_mode=mode, layout=layout,
                            dilation=tuple(dil),
                            direct_summation_only=True).split("chose '")[1].split("'")[0]
        if ck.algorithm_is_approximate(chosen):
            failures.append(f"{where}: direct_summation_only chose {chosen}")
        msg = compare("direct_summation_only", to_first(exact) if layout == "NHWC" else exact,
                      y_ref, oracle_conv(2, np.abs(x), np.abs(wt), None if b is None else np.abs(b),
                                         [1, 1], pairs, dil, 1, mode), np.float32)
        if msg:
            failures.append(f"{where}: {msg}")
        # grad_x (the flipped forward problem): zero padding up to 2·dilation
        if mode == "zeros" and all(max(pr) <= 2 * d for pr, d in zip(pairs, dil)):
            gy = rng.standard_normal(y_ref.shape).astype(np.float32)
            _, gx_ref, _, _ = oracle_conv(2, x, wt, None, [1, 1], pairs, dil, 1, mode, gy=gy)
            gx = ck.conv2d_backward(to_last(gy) if layout == "NHWC" else gy, xin, wt,
                                    padding=padding, dilation=tuple(dil), layout=layout,
                                    compute=("x",), algorithm="winograd")[0]
            gx = to_first(gx) if layout == "NHWC" else gx
            gerr = np.abs(gx.astype(np.float64) - gx_ref)
            if not (gerr <= approximate_grad_x_tolerance(gy, wt, 1)
                    + 2.0 ** -23 * np.abs(gx_ref)).all():
                failures.append(f"{where}: grad_x error {gerr.max():.3g} above the bound")
            ran_bd += 1
        # grad_weight: every padding mode, dilation, layout and view
        gy = rng.standard_normal(y_ref.shape).astype(np.float32)
        _, _, gw_ref, _ = oracle_conv(2, x, wt, None, [1, 1], pairs, dil, 1, mode, gy=gy)
        gw = ck.conv2d_backward(to_last(gy) if layout == "NHWC" else gy, xin, wt,
                                padding=padding, padding_mode=mode, dilation=tuple(dil),
                                layout=layout, compute=("weight",), algorithm="winograd")[1]
        werr = np.abs(gw.astype(np.float64) - gw_ref)
        if not (werr <= approximate_grad_w_tolerance(x, gy, dil) + 2.0 ** -23 * np.abs(gw_ref)).all():
            failures.append(f"{where}: grad_weight error {werr.max():.3g} above the bound")
        ran_bw += 1
    case_counts[f"conv2d winograd grad_weight (CONVKIT_MAX_ISA={isa or 'none'})"] = ran_bw
    case_counts[f"conv2d winograd grad_x (CONVKIT_MAX_ISA={isa or 'none'})"] = ran_bd
    case_counts[f"conv2d winograd (CONVKIT_MAX_ISA={isa or 'none'})"] = ran
    assert not failures, (f"{len(failures)} failed:\n" + "\n".join(failures[:12]))
    assert ran == 120 and ran_bd >= 15 and ran_bw == 120, (ran, ran_bd, ran_bw)
    assert worst < 100, worst  # measured ~25 on random data


@pytest.mark.parametrize("isa", ["avx2", "generic"])
def test_forward_and_backward_under_isa_cap(isa, make_rng, case_counts, monkeypatch):
    """The micro-kernels for smaller instruction sets (CONVKIT_MAX_ISA caps the one chosen at
    run time) on a share of the random problems."""
    monkeypatch.setenv("CONVKIT_MAX_ISA", isa)
    failures, total = [], Counter()
    for nd in (1, 2, 3):
        f, _, counts, _ = run_forward_backward(nd, make_rng(f"isa{isa}{nd}"), N_ISA[nd],
                                               f"CONVKIT_MAX_ISA={isa}")
        failures += f
        for k, v in counts.items():
            total[f"conv{nd}d {k}"] += v
        case_counts[f"conv{nd}d forward+backward (CONVKIT_MAX_ISA={isa})"] = counts["backward"]
    assert not failures, (f"{len(failures)} comparisons failed:\n" + "\n".join(failures[:12]))
    assert sum(v for k, v in total.items() if "forward [auto]" in k) == sum(N_ISA.values())
    # the cap is in effect: a fresh problem's plan names a kernel of at most that ISA
    x = np.ones((1, 5, 13, 11), np.float32)
    w = np.ones((7, 5, 3, 3), np.float32)
    text = ck.explain(x, w, padding=1)
    if "isa " in text:
        assert f"isa {isa}" in text, text


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_vs_torch(nd, make_rng, case_counts):
    rng = make_rng(f"t{nd}")
    failures, features, per_algo = [], Counter(), Counter()
    count = 0
    for idx in range(N_TRANSPOSE[nd]):
        case = random_transpose_case(rng, nd)
        x, w, b = make_arrays(rng, case, transposed=True)
        features.update(_features(case))
        dt, last = case["dtype"], case["layout"] in ("NWC", "NHWC", "NDHWC")
        targs = (case["stride"], case["pairs"], case["output_padding"], case["groups"],
                 case["dilation"])
        y_ref = oracle_conv_transpose(nd, x, w, b, *targs)
        bound = oracle_conv_transpose(nd, np.abs(x), np.abs(w),
                                      None if b is None else np.abs(b), *targs)
        for algo in ["auto"] + ck.algorithms():
            try:
                y = CK_CONVT[nd](to_last(x) if last else x, w, b, stride=case["stride_arg"],
                                 padding=case["padding"],
                                 output_padding=case["output_padding_arg"],
                                 groups=case["groups"], dilation=case["dilation_arg"],
                                 layout=case["layout"], algorithm=algo)
                msg = compare(f"conv_transpose ({algo})", to_first(y) if last else y, y_ref,
                              bound, dt)
            except Exception as e:  # noqa: BLE001
                if algo != "auto" and _declined(e, algo):
                    continue
                msg = f"({algo}) raised {type(e).__name__}: {e}"
            if algo == "auto":
                count += 1
            else:
                per_algo[algo] += 1
            if msg:
                failures.append(f"{describe(case, idx)}\n    {msg}")
    case_counts[f"conv_transpose{nd}d"] = count
    for algo, n in per_algo.items():
        case_counts[f"conv_transpose{nd}d [{algo}]"] = n
    print(f"conv_transpose{nd}d: {count} cases")
    assert not failures, (f"{len(failures)} of {N_TRANSPOSE[nd]} cases failed:\n"
                          + "\n".join(failures[:12]))
    assert count == N_TRANSPOSE[nd]
    need = [LAYOUTS[nd][0], LAYOUTS[nd][1], "float32", "float64", "batch1", "cin1", "grouped",
            "depthwise", "bias", "stride>1", "dilation>1", "asymmetric", "output_padding",
            "output_padding>=stride", "padding:int", "padding:tuple", "padding:pairs"]
    missing = [f for f in need if features[f] < 3]
    assert not missing, f"random cases did not cover {missing}: {dict(features)}"


# ---- the oracle's building blocks, checked on their own ------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_oracle_padding_is_numpy_pad(mode, rng):
    """torch_pad is numpy.pad of the data, wherever numpy's definition is unambiguous."""
    for _ in range(30):
        shape = (2, 3) + tuple(int(v) for v in rng.integers(1, 7, size=2))
        limit = [shape[2], shape[3]] if mode != "reflect" else [shape[2] - 1, shape[3] - 1]
        pairs = [tuple(int(v) for v in rng.integers(0, limit[i] + 1, size=2)) for i in range(2)]
        x = rng.standard_normal(shape)
        np_mode = "constant" if mode == "zeros" else NP_MODE[mode]
        expected = np.pad(x, [(0, 0), (0, 0)] + pairs, mode=np_mode)
        np.testing.assert_array_equal(torch_pad(_t(x), pairs, mode).numpy(), expected)


def test_pad_indices_match_numpy():
    for mode in ("reflect", "replicate", "circular"):
        for n in range(1, 7):
            for pad in range(0, 25):
                for before, after in ((pad, 0), (0, pad), (pad, pad)):
                    if mode == "reflect" and n == 1 and pad > 0:
                        continue  # numpy: constant; also ours (checked below)
                    got = pad_indices(n, before, after, mode)
                    want = np.pad(np.arange(n), (before, after), mode=NP_MODE[mode])
                    if before == after or mode != "circular" or pad <= n:
                        np.testing.assert_array_equal(got, want, err_msg=f"{mode} {n} {before} {after}")
    np.testing.assert_array_equal(pad_indices(1, 3, 2, "reflect"), np.zeros(6, int))
    np.testing.assert_array_equal(pad_indices(3, 5, 6, "reflect"),
                                  [1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1, 0])
    np.testing.assert_array_equal(pad_indices(3, 5, 2, "circular"),
                                  [1, 2, 0, 1, 2, 0, 1, 2, 0, 1])


def test_large_pads_are_periodic_in_convkit():
    """An identity kernel shows the padded signal itself: periodic for reflect and circular."""
    x = np.arange(1.0, 4.0).reshape(1, 1, 3)
    one = np.ones((1, 1, 1))
    np.testing.assert_array_equal(ck.conv1d(x, one, padding=((5, 2),), padding_mode="circular")[0, 0],
                                  [2, 3, 1, 2, 3, 1, 2, 3, 1, 2])
    np.testing.assert_array_equal(ck.conv1d(x, one, padding=((1, 8),), padding_mode="reflect")[0, 0],
                                  [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3])
    np.testing.assert_array_equal(ck.conv1d(x, one, padding=((4, 4),), padding_mode="replicate")[0, 0],
                                  [1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3])
    np.testing.assert_array_equal(ck.conv1d(x[:, :, :1], one, padding=3, padding_mode="reflect")[0, 0],
                                  [1] * 7)


@pytest.mark.parametrize("n, k, s, d, expected", [
    (5, 3, 2, 1, (1, 1)),
    (6, 3, 2, 1, (0, 1)),   # odd total pad: the extra one at the end
    (6, 4, 1, 1, (1, 2)),
    (7, 1, 3, 1, (0, 0)),
    (4, 3, 2, 2, (1, 2)),   # dilated: extent 5, total pad 3
    (2, 5, 3, 1, (1, 2)),   # kernel larger than the input
])
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_follows_tensorflow(n, k, s, d, expected, rng):
    assert same_pads(n, k, s, d) == expected
    x = rng.standard_normal((2, 3, n))
    w = rng.standard_normal((4, 3, k))
    y = ck.conv1d(x, w, stride=s, dilation=d, padding="same")
    assert y.shape == (2, 4, -(-n // s))
    np.testing.assert_allclose(y, ck.conv1d(x, w, stride=s, dilation=d, padding=(expected,)),
                               rtol=0, atol=0)
    np.testing.assert_allclose(y, oracle_conv(1, x, w, None, [s], [expected], [d], 1, "zeros"),
                               rtol=1e-12, atol=1e-12)
    if s == 1:  # torch's own 'same' (stride 1 only) agrees
        ref = F.conv1d(_t(x), _t(w), padding="same", dilation=d).numpy()
        np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_torch_padding_modes_agree_for_small_pads(rng):
    """For pads below the input size, torch's own padding_mode agrees with the numpy one."""
    x = rng.standard_normal((2, 3, 6, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    for mode in MODES:
        conv = torch.nn.Conv2d(3, 4, 3, padding=2, bias=False, padding_mode=mode)
        with torch.no_grad():
            conv.weight.copy_(_t(w))
            ref = conv(_t(x)).numpy()
        np.testing.assert_allclose(ck.conv2d(x, w, padding=2, padding_mode=mode), ref,
                                   rtol=1e-12, atol=1e-12)


# ---- memory layouts, dtypes, out= --------------------------------------------------------

def _ref2d(x, w, b=None, stride=1, padding=0):
    pairs = [(padding, padding)] * 2
    return oracle_conv(2, x, w, b, [stride] * 2, pairs, [1, 1], 1, "zeros")


def test_non_contiguous_inputs(rng):
    big = rng.standard_normal((4, 7, 15, 13))
    wbig = rng.standard_normal((6, 10, 3, 4))
    bbig = rng.standard_normal(12)
    views = {
        "step slices": (big[::2, 1::2, ::2, 1::3], wbig[::2, 1:4, :, ::2], bbig[::4]),
        "negative strides": (big[::-1, :3, ::-1, ::-2], wbig[:3, 8::-3, ::-1, ::-2], bbig[::-4]),
        "transposed views": (big[:, :3].transpose(0, 1, 3, 2), wbig[:2, :3, :, :3].transpose(0, 1, 3, 2),
                             bbig[:2]),
        "channel-last storage": (np.ascontiguousarray(to_last(big[:, :3])).transpose(0, 3, 1, 2),
                                 wbig[:5, :3, :, :3], bbig[:5]),
    }
    for name, (x, w, b) in views.items():
        assert not (x.flags.c_contiguous and w.flags.c_contiguous), name
        ref = _ref2d(x, w, b, stride=2, padding=1)
        for dt in (np.float64, np.float32):
            xs, ws, bs = x.astype(dt, copy=False), w.astype(dt, copy=False), b.astype(dt, copy=False)
            if dt is np.float32:  # astype copied; rebuild the same kind of view in float32
                xs = _same_view(x, dt)
                ws = _same_view(w, dt)
            y = ck.conv2d(xs, ws, bs, stride=2, padding=1)
            assert y.dtype == dt, name
            np.testing.assert_allclose(y, ref, rtol=1e-5 if dt is np.float32 else 1e-12,
                                       atol=1e-4 if dt is np.float32 else 1e-12, err_msg=name)
        gy = rng.standard_normal(ref.shape)[:, :, ::-1]  # a non-contiguous grad_output too
        gx, gw, gb = ck.conv2d_backward(gy, x, w, stride=2, padding=1)
        _, gx_ref, gw_ref, gb_ref = oracle_conv(2, x, w, b, [2, 2], [(1, 1)] * 2, [1, 1], 1,
                                                "zeros", gy=np.ascontiguousarray(gy))
        np.testing.assert_allclose(gx, gx_ref, rtol=1e-12, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(gw, gw_ref, rtol=1e-12, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(gb, gb_ref, rtol=1e-12, atol=1e-12, err_msg=name)


def _same_view(a, dtype):
    """A strided view over fresh `dtype` storage with the same element order as `a`."""
    base = np.empty(a.shape[::-1], dtype).T  # Fortran-ordered storage: not C-contiguous
    base[...] = a
    return base


def test_non_contiguous_channels_last_and_transpose(rng):
    x = rng.standard_normal((3, 9, 8, 5))[::-1, ::2]   # (N, H, W, C) view, negative batch stride
    w = rng.standard_normal((4, 5, 3, 2))
    y = ck.conv2d(x, w, padding=1, layout="NHWC")
    np.testing.assert_allclose(to_first(y), _ref2d(to_first(x), w, padding=1), rtol=1e-12,
                               atol=1e-12)
    xt = rng.standard_normal((2, 8, 5, 6))[:, ::2, ::-1, ::2]
    wt = rng.standard_normal((8, 3, 3, 3))[::2, :, ::-1]
    yt = ck.conv_transpose2d(xt, wt, stride=2, padding=1, output_padding=1)
    ref = oracle_conv_transpose(2, xt, wt, None, [2, 2], [(1, 1)] * 2, [1, 1], 1, [1, 1])
    np.testing.assert_allclose(yt, ref, rtol=1e-12, atol=1e-12)


def test_read_only_inputs(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    gy = rng.standard_normal((2, 4, 4, 4))
    ro = [a.copy() for a in (x, w, b, gy)]
    for a in ro:
        a.flags.writeable = False
    rx, rw, rb, rgy = ro
    np.testing.assert_array_equal(ck.conv2d(rx, rw, rb), ck.conv2d(x, w, b))
    for got, ref in zip(ck.conv2d_backward(rgy, rx, rw), ck.conv2d_backward(gy, x, w)):
        np.testing.assert_array_equal(got, ref)
    wt = rng.standard_normal((3, 2, 3, 3))
    wt_ro = wt.copy()
    wt_ro.flags.writeable = False
    np.testing.assert_array_equal(ck.conv_transpose2d(rx, wt_ro, stride=2),
                                  ck.conv_transpose2d(x, wt, stride=2))
    # a read-only broadcast view (zero strides) works as well
    xb = np.broadcast_to(rng.standard_normal((1, 3, 1, 6)), (2, 3, 6, 6))
    np.testing.assert_allclose(ck.conv2d(xb, w), _ref2d(np.ascontiguousarray(xb), w),
                               rtol=1e-12, atol=1e-12)
    # and nothing was written into the inputs
    for a, orig in zip(ro, (x, w, b, gy)):
        np.testing.assert_array_equal(a, orig)


def test_fortran_order_inputs(rng):
    x = np.asfortranarray(rng.standard_normal((2, 3, 7, 5)))
    w = np.asfortranarray(rng.standard_normal((4, 3, 2, 3)))
    assert x.flags.f_contiguous and not x.flags.c_contiguous
    ref = _ref2d(x, w, stride=2, padding=1)
    np.testing.assert_allclose(ck.conv2d(x, w, stride=2, padding=1), ref, rtol=1e-12, atol=1e-12)
    x32, w32 = np.asfortranarray(x, np.float32), np.asfortranarray(w, np.float32)
    y32 = ck.conv2d(x32, w32, stride=2, padding=1)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, _ref2d(x32, w32, stride=2, padding=1), rtol=1e-5, atol=1e-5)
    x3 = np.asfortranarray(rng.standard_normal((2, 2, 4, 5, 3)))
    w3 = np.asfortranarray(rng.standard_normal((3, 2, 2, 2, 2)))
    ref3 = F.conv3d(_t(x3), _t(w3)).numpy()
    np.testing.assert_allclose(ck.conv3d(x3, w3), ref3, rtol=1e-12, atol=1e-12)


def test_misaligned_strides_are_handled(rng):
    """A field of a packed structured array has strides that are not a multiple of 8."""
    rec = np.zeros((2, 3, 5, 5), dtype=[("tag", "u1"), ("v", "<f8")])
    rec["v"] = rng.standard_normal(rec.shape)
    x = rec["v"]
    assert any(s % 8 for s in x.strides)
    w = rng.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(ck.conv2d(x, w), _ref2d(np.array(x), w), rtol=1e-12, atol=1e-12)


def test_integer_and_mixed_dtypes(rng):
    xi = rng.integers(-5, 6, size=(2, 3, 6, 6))
    wi = rng.integers(-3, 4, size=(4, 3, 3, 3)).astype(np.int32)
    bi = np.arange(4, dtype=np.int16)
    exact = F.conv2d(_t(xi), _t(wi), _t(bi)).numpy()
    y = ck.conv2d(xi, wi, bi)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, exact)  # small integers: exact in float64
    # unsigned, bool and float16 are numeric too, and become float64
    for x in (xi.astype(np.uint8) % 3, xi > 0, xi.astype(np.float16)):
        y = ck.conv2d(x, wi)
        assert y.dtype == np.float64, x.dtype
        np.testing.assert_array_equal(y, F.conv2d(_t(x), _t(wi)).numpy())
    x32 = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w32 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b32 = rng.standard_normal(4).astype(np.float32)
    assert ck.conv2d(x32, w32, b32).dtype == np.float32
    assert ck.conv2d(x32, w32).dtype == np.float32
    ref = F.conv2d(_t(x32), _t(w32), _t(b32)).numpy()
    mixes = [(x32, w32.astype(np.float64), b32), (x32.astype(np.float64), w32, b32),
             (x32, w32, b32.astype(np.float64))]
    for x, w, b in mixes:
        y = ck.conv2d(x, w, b)
        assert y.dtype == np.float64, (x.dtype, w.dtype, b.dtype)
        # computed in float64 from the float32 values: as exact as the float64 oracle
        np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    bi64 = np.array([3, -2, 0, 1], np.int64)
    y = ck.conv2d(x32, w32, bi64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, F.conv2d(_t(x32), _t(w32), _t(bi64)).numpy(), rtol=1e-12,
                               atol=1e-12)
    # Python lists are arrays too
    np.testing.assert_array_equal(ck.conv1d([[[1, 2, 3, 4]]], [[[1, -1]]]), [[[-1.0, -1.0, -1.0]]])
    # backward and transposed follow the same promotion
    gy32 = rng.standard_normal((2, 4, 4, 4)).astype(np.float32)
    assert all(g.dtype == np.float32 for g in ck.conv2d_backward(gy32, x32, w32))
    assert all(g.dtype == np.float64 for g in ck.conv2d_backward(gy32.astype(np.float64), x32, w32))
    assert all(g.dtype == np.float64 for g in ck.conv2d_backward(gy32, xi, w32))
    wt32 = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    assert ck.conv_transpose2d(x32, wt32).dtype == np.float32
    assert ck.conv_transpose2d(x32, wt32, b32[:2].astype(np.float64)).dtype == np.float64
    assert ck.conv_transpose2d(xi, wt32).dtype == np.float64


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_out_argument(dt, rng):
    x = rng.standard_normal((2, 3, 7, 7)).astype(dt)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dt)
    b = rng.standard_normal(4).astype(dt)
    expected = ck.conv2d(x, w, b, stride=2)
    out = np.full((2, 4, 3, 3), np.nan, dt)
    res = ck.conv2d(x, w, b, stride=2, out=out)
    assert res is out
    np.testing.assert_array_equal(out, expected)
    # A non-contiguous view as out: written through, the rest of its base untouched.
    base = np.full((2, 4, 6, 7), -7.0, dt)
    view = base[:, :, ::2, 1:4]
    res = ck.conv2d(x, w, b, stride=2, out=view)
    assert res is view
    np.testing.assert_array_equal(base[:, :, ::2, 1:4], expected)
    untouched = np.ones(base.shape, bool)
    untouched[:, :, ::2, 1:4] = False
    assert np.all(base[untouched] == -7.0)
    # channels-last out
    out_last = np.empty((2, 3, 3, 4), dt)
    assert ck.conv2d(to_last(x), w, b, stride=2, layout="NHWC", out=out_last) is out_last
    np.testing.assert_array_equal(to_first(out_last), expected)
    # 1-D, 3-D and transposed
    x1, w1 = x[:, :, 0], w[:, :, 0]
    o1 = np.empty((2, 4, 5), dt)
    assert ck.conv1d(x1, w1, out=o1) is o1
    np.testing.assert_array_equal(o1, ck.conv1d(x1, w1))
    x3, w3 = x[:, :, :3, :3, None].repeat(2, axis=-1), w[:, :, :2, :2, None]
    o3 = np.empty((2, 4, 2, 2, 2), dt)
    assert ck.conv3d(x3, w3, out=o3) is o3
    np.testing.assert_array_equal(o3, ck.conv3d(x3, w3))
    wt = rng.standard_normal((3, 2, 3, 3)).astype(dt)
    ot = np.empty((2, 2, 15, 15), dt)
    assert ck.conv_transpose2d(x, wt, stride=2, out=ot) is ot
    np.testing.assert_array_equal(ot, ck.conv_transpose2d(x, wt, stride=2))


def test_out_argument_rejects_bad_arrays(rng):
    x = rng.standard_normal((2, 3, 7, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    bad = {
        "wrong shape": np.empty((2, 4, 5, 4)),
        "wrong ndim": np.empty((2, 4, 25)),
        "transposed shape": np.empty((4, 2, 5, 5)),
        "wrong dtype": np.empty((2, 4, 5, 5), np.float32),
        "integer dtype": np.empty((2, 4, 5, 5), np.int64),
    }
    ro = np.empty((2, 4, 5, 5))
    ro.flags.writeable = False
    bad["read-only"] = ro
    for name, out in bad.items():
        with pytest.raises((ValueError, TypeError), match="out") as info:
            ck.conv2d(x, w, out=out)
        assert "out" in str(info.value), name
    with pytest.raises((ValueError, TypeError), match="out"):
        ck.conv_transpose2d(x, rng.standard_normal((3, 2, 2, 2)), out=np.empty((2, 2, 7, 7)))
    with pytest.raises((ValueError, TypeError), match="out"):
        ck.conv2d(x.astype(np.float32), w.astype(np.float32), out=np.empty((2, 4, 5, 5)))


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_fused_relu_matches_torch(layout, rng):
    # activation="relu" fuses max(y, 0) into every forward algorithm's write-back.
    checked = Counter()
    for _ in range(30):
        C = int(rng.integers(1, 20)); N = int(rng.integers(1, 3)); H = int(rng.integers(3, 14))
        W = int(rng.integers(3, 14)); k = int(rng.integers(1, 4)); s = int(rng.integers(1, 3))
        groups = C if rng.random() < 0.3 else 1
        K = groups * int(rng.integers(1, 3)) if groups > 1 else int(rng.integers(1, 20))
        x = rng.standard_normal((N, C, H, W)).astype(np.float32)
        w = rng.standard_normal((K, C // groups, k, k)).astype(np.float32)
        b = rng.standard_normal(K).astype(np.float32)
        want = F.relu(F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                               torch.from_numpy(b).double(), stride=s, padding=1, groups=groups)).numpy()
        xin = x if layout == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        for algo in ["auto"] + ck.algorithms():
            try:
                y = ck.conv2d(xin, w, b, stride=s, padding=1, groups=groups, layout=layout,
                              algorithm=algo, activation="relu")
            except TypeError as e:  # a forced algorithm that declines the problem
                assert _declined(e, algo), e
                continue
            if layout == "NHWC":
                y = y.transpose(0, 3, 1, 2)
            assert (y >= 0).all(), algo
            np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4 * np.abs(x).sum() / x.size * k * k * C)
            checked[algo] += 1
    assert checked["auto"] == 30 and checked["reference"] == 30, checked
    assert sum(v for a, v in checked.items() if a not in ("auto", "reference")) >= 30, checked


def test_fused_relu_keeps_nan_and_rejects_unknown_activations():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 1] = np.nan
    w = np.ones((1, 1, 3, 3), np.float32)
    b = np.array([-1.0], np.float32)
    y = ck.conv2d(x, w, b, padding=1, activation="relu")
    assert np.isnan(y[0, 0, :3, :3]).all() and (y[0, 0, 3, 3] == 0)   # NaN stays NaN, -1 -> 0
    assert ck.conv2d(x, w, b, padding=1, activation=None)[0, 0, 3, 3] == -1
    # 1×1 with full tiles: the micro-kernel applies bias and ReLU while writing into y.
    x1 = np.zeros((1, 3, 8, 8), np.float32)
    x1[0, 0, 1, 1] = np.nan
    y1 = ck.conv2d(x1, np.ones((16, 3, 1, 1), np.float32), -np.ones(16, np.float32),
                   activation="relu")
    assert np.isnan(y1[0, :, 1, 1]).all() and (np.nan_to_num(y1, nan=0.0) == 0).all()
    with pytest.raises(ValueError, match="activation"):
        ck.conv2d(x, w, activation="gelu")


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_pointwise_channels_last_vs_torch(nd, make_rng, case_counts):
    """The channels-last 1x1 GEMM, forced, on random problems it takes: strides, every padding
    mode and pad (zero rows, mapped rows), channel counts around its tile widths and above its
    512-channel block, both dtypes, strided views of x and out, bias and ReLU; small integers,
    so the result must equal torch's exactly."""
    rng = make_rng(f"pw{nd}")
    failures, ran = [], 0
    for idx in range(40):
        n = int(rng.integers(1, 3))
        c = int(rng.choice([1, 3, 16, 17, 48, 65, 600 if idx % 10 == 3 else 33]))
        k = int(rng.choice([1, 5, 16, 31, 48, 49, 64, 100]))
        size = [int(rng.integers(1, 12 if nd < 3 else 6)) for _ in range(nd)]
        stride = [int(rng.integers(1, 4)) for _ in range(nd)]
        mode = str(rng.choice(MODES))
        top = 2 if mode == "zeros" else 4
        pairs = [tuple(int(v) for v in rng.integers(0, min(top, s_) + 1, 2)) for s_ in size]
        dtype = np.float32 if rng.random() < 0.5 else np.float64
        x = rng.integers(-2, 3, (n, c, *size)).astype(dtype)
        wt = rng.integers(-2, 3, (k, c) + (1,) * nd).astype(dtype)
        b = rng.integers(-2, 3, k).astype(dtype) if rng.random() < 0.5 else None
        relu = rng.random() < 0.3
        xin = to_last(x)
        if rng.random() < 0.3:  # channels at a stride
            big = np.zeros(xin.shape[:-1] + (2 * c,), dtype)
            big[..., ::2] = xin
            xin = big[..., ::2]
        y_ref = oracle_conv(nd, x, wt, b, stride, pairs, [1] * nd, 1, mode)
        if relu:
            y_ref = np.maximum(y_ref, 0)
        out = None
        if rng.random() < 0.3:  # a strided out
            big = np.full(to_last(y_ref).shape[:-1] + (2 * k,), np.nan, dtype)
            out = big[..., ::2]
        where = f"case {idx}: x{x.shape} w{wt.shape} stride {stride} pad {pairs} {mode} {dtype.__name__}"
        try:
            y = CK_CONV[nd](xin, wt, b, stride=stride, padding=pairs, padding_mode=mode,
                            layout=LAYOUTS[nd][1], algorithm="pointwise_channels_last",
                            activation="relu" if relu else None, out=out)
        except Exception as e:  # noqa: BLE001
            failures.append(f"{where}: raised {type(e).__name__}: {e}")
            continue
        ran += 1
        if out is not None and y is not out:
            failures.append(f"{where}: out= not returned")
        if y.dtype != dtype or not np.array_equal(to_first(y), y_ref):
            failures.append(f"{where}: differs from torch by {np.abs(to_first(y) - y_ref).max()}")
    case_counts[f"conv{nd}d pointwise_channels_last"] = ran
    assert not failures, (f"{len(failures)} failed:\n" + "\n".join(failures[:12]))
    assert ran == 40


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_pointwise_bwd_data_vs_torch(nd, make_rng, case_counts):
    """The 1x1 backward-data GEMM, forced: grad_x against torch autograd, and conv_transpose
    (its bias included) against torch's, on random problems it takes: strides (input positions
    no output reaches), zero padding (output positions dropped), output_padding, groups,
    channel counts around its tile widths on both sides, both layouts and dtypes; small
    integers, so the results must equal torch's exactly."""
    rng = make_rng(f"pbd{nd}")
    failures, ran = [], 0
    for idx in range(30):
        n = int(rng.integers(1, 3))
        groups = int(rng.choice([1, 1, 2]))
        c = groups * int(rng.choice([1, 3, 16, 17, 33, 48]))
        k = groups * int(rng.choice([1, 5, 16, 31, 49, 64]))
        size = [int(rng.integers(1, 10 if nd < 3 else 5)) for _ in range(nd)]
        stride = [int(rng.integers(1, 4)) for _ in range(nd)]
        pads = [int(rng.integers(0, 2)) for _ in range(nd)]
        dtype = np.float32 if rng.random() < 0.5 else np.float64
        last = rng.random() < 0.5
        layout = LAYOUTS[nd][1] if last else LAYOUTS[nd][0]
        x = rng.integers(-2, 3, (n, c, *size)).astype(dtype)
        wt = rng.integers(-2, 3, (k, c // groups) + (1,) * nd).astype(dtype)
        pairs = [(p_, p_) for p_ in pads]
        y_shape = oracle_conv(nd, x, wt, None, stride, pairs, [1] * nd, groups, "zeros").shape
        gy = rng.integers(-2, 3, y_shape).astype(dtype)
        _, gx_ref, _, _ = oracle_conv(nd, x, wt, None, stride, pairs, [1] * nd, groups, "zeros",
                                      gy=gy)
        where = (f"case {idx}: x{x.shape} w{wt.shape} groups {groups} stride {stride} pad {pads} "
                 f"{layout} {dtype.__name__}")
        try:
            gx = CK_BACKWARD[nd](to_last(gy) if last else gy, to_last(x) if last else x, wt,
                                 stride=stride, padding=pads, groups=groups, layout=layout,
                                 compute=("x",), algorithm="pointwise_bwd_data")[0]
            if last:
                gx = to_first(gx)
            if gx.dtype != dtype or not np.array_equal(gx, gx_ref):
                failures.append(f"{where}: grad_x differs from torch by "
                                f"{np.abs(gx - gx_ref).max()}")
            # The same pass as a transposed convolution of gy, with a bias.
            outpad = [int(rng.integers(0, s_)) for s_ in stride]
            if any((o_ - 1) * s_ - 2 * p_ + 1 + op_ < 1
                   for o_, s_, p_, op_ in zip(y_shape[2:], stride, pads, outpad)):
                ran += 1  # (padding would crop the whole transposed output)
                continue
            b = rng.integers(-2, 3, c).astype(dtype)
            y_ref = oracle_conv_transpose(nd, gy, wt, b, stride, pairs, outpad, groups, [1] * nd)
            y = CK_CONVT[nd](to_last(gy) if last else gy, wt, b, stride=stride, padding=pads,
                             output_padding=outpad, groups=groups, layout=layout,
                             algorithm="pointwise_bwd_data")
            y = to_first(y) if last else y
            if y.dtype != dtype or not np.array_equal(y, y_ref):
                failures.append(f"{where} output_padding {outpad}: conv_transpose differs from "
                                f"torch by {np.abs(y - y_ref).max()}")
        except Exception as e:  # noqa: BLE001
            failures.append(f"{where}: raised {type(e).__name__}: {e}")
            continue
        ran += 1
    case_counts[f"conv{nd}d pointwise_bwd_data"] = ran
    assert not failures, (f"{len(failures)} failed:\n" + "\n".join(failures[:12]))
    assert ran == 30
