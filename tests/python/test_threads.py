"""Threads: bitwise-identical results for any thread count, thread-safe concurrent calls, NaN/Inf propagation like a plain sum."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import convkit as ck

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _bits(a):
    """Bytes of an array (NaN payloads included): equality means bitwise identical."""
    return np.ascontiguousarray(a).tobytes()


def _run_all(rng, dtype):
    """Forward, backward and transposed results of a set of problems large enough to be split
    across threads (batch, channels and rows)."""
    out = []
    problems = [
        # (nd, x shape, weight shape, kwargs)
        (2, (4, 7, 23, 19), (9, 7, 3, 3), dict(padding=1)),
        (2, (3, 6, 31, 17), (6, 2, 5, 3), dict(stride=2, padding=((2, 1), (0, 3)), groups=3,
                                              padding_mode="reflect")),
        (2, (2, 17, 15, 15), (17, 1, 3, 3), dict(groups=17, dilation=2, padding="same")),
        (1, (5, 5, 257), (11, 5, 7), dict(stride=3, padding=4, padding_mode="circular")),
        (3, (2, 3, 9, 10, 11), (5, 3, 3, 2, 3), dict(padding=1, stride=(1, 2, 1))),
    ]
    conv = {1: ck.conv1d, 2: ck.conv2d, 3: ck.conv3d}
    back = {1: ck.conv1d_backward, 2: ck.conv2d_backward, 3: ck.conv3d_backward}
    for nd, xs, ws, kw in problems:
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        y = conv[nd](x, w, b, **kw)
        gy = rng.standard_normal(y.shape).astype(dtype)
        out.append(y)
        out.extend(back[nd](gy, x, w, **kw))
    # channels-last and transposed
    x = rng.standard_normal((3, 21, 18, 10)).astype(dtype)
    w = rng.standard_normal((12, 10, 3, 3)).astype(dtype)
    out.append(ck.conv2d(x, w, layout="NHWC", padding=1))
    gy = rng.standard_normal((3, 21, 18, 12)).astype(dtype)
    out.extend(ck.conv2d_backward(gy, x, w, layout="NHWC", padding=1))
    xt = rng.standard_normal((2, 8, 13, 11)).astype(dtype)
    wt = rng.standard_normal((8, 3, 4, 4)).astype(dtype)
    out.append(ck.conv_transpose2d(xt, wt, rng.standard_normal(6).astype(dtype), stride=2,
                                   padding=1, output_padding=1, groups=2))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_identical_for_any_thread_count(dtype, make_rng, restore_threads):
    results = {}
    for n in (1, 2, 3, 4):
        ck.set_num_threads(n)
        assert ck.get_num_threads() == n
        results[n] = _run_all(make_rng("data"), dtype)  # same seed: same inputs
    for n in (2, 3, 4):
        for i, (a, b) in enumerate(zip(results[1], results[n])):
            assert a.dtype == dtype
            assert _bits(a) == _bits(b), (
                f"result {i} differs between 1 and {n} threads: max |diff| "
                f"{np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))):.3g}")
    # and the results are right (not e.g. all zeros for every count)
    assert all(np.any(r != 0) for r in results[1])


def test_thread_count_is_restored(restore_threads):
    ck.set_num_threads(3)
    assert ck.get_num_threads() == 3
    ck.set_num_threads(1)
    assert ck.get_num_threads() == 1


def test_concurrent_python_threads_match_serial(make_rng, restore_threads):
    """8 Python threads call convkit at once, on different inputs and problem shapes (more
    distinct problems than the 64-entry plan cache holds, so plans are evicted while in use)."""
    ck.set_num_threads(2)
    rng = make_rng("inputs")
    jobs = []
    for t in range(8):
        per_thread = []
        for j in range(12):
            h, w_ = 6 + t, 5 + j                     # 96 distinct shapes in all
            x = rng.standard_normal((2, 3, h, w_)).astype(np.float32 if j % 2 else np.float64)
            w = rng.standard_normal((4, 3, 3, 2)).astype(x.dtype)
            b = rng.standard_normal(4).astype(x.dtype)
            kw = dict(stride=1 + j % 2, padding=j % 3, padding_mode=("zeros", "reflect")[t % 2])
            gy = rng.standard_normal(ck.conv2d(x, w, **kw).shape).astype(x.dtype)
            per_thread.append((x, w, b, kw, gy))
        jobs.append(per_thread)

    def compute(job):
        x, w, b, kw, gy = job
        return [ck.conv2d(x, w, b, **kw), *ck.conv2d_backward(gy, x, w, **kw)]

    serial = [[compute(job) for job in per_thread] for per_thread in jobs]

    rounds = 4
    results = [[None] * len(per_thread) for per_thread in jobs]
    errors = []
    barrier = threading.Barrier(len(jobs))

    def worker(t):
        try:
            barrier.wait()
            for _ in range(rounds):
                for j, job in enumerate(jobs[t]):
                    r = compute(job)
                    prev = results[t][j]
                    if prev is not None and any(_bits(a) != _bits(b) for a, b in zip(prev, r)):
                        errors.append(f"thread {t} job {j}: differs between rounds")
                    results[t][j] = r
        except BaseException as e:  # noqa: BLE001
            errors.append(f"thread {t}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(len(jobs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert not any(th.is_alive() for th in threads), "threads did not finish (deadlock?)"
    assert not errors, "\n".join(errors[:10])
    for t, per_thread in enumerate(serial):
        for j, expected in enumerate(per_thread):
            for k, (a, b) in enumerate(zip(expected, results[t][j])):
                assert _bits(a) == _bits(b), f"thread {t} job {j} output {k} differs from serial"


def test_concurrent_calls_release_the_gil(restore_threads):
    """While one thread is inside a long convkit call, another Python thread keeps running."""
    ck.set_num_threads(1)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 16, 5, 5)).astype(np.float32)
    batch = 2
    while True:  # grow the problem until one call lasts long enough to observe
        x = rng.standard_normal((batch, 16, 96, 96)).astype(np.float32)
        ticks = []
        done = threading.Event()

        def ticker():
            while not done.is_set():
                ticks.append(1)
                done.wait(0.002)

        th = threading.Thread(target=ticker)
        t0 = time.perf_counter()
        th.start()
        try:
            ck.conv2d(x, w, padding=2)
        finally:
            done.set()
            th.join()
        elapsed = time.perf_counter() - t0
        if elapsed >= 0.15 or batch >= 256:
            break
        batch *= 4
    # With the GIL held for the whole call the ticker would get ~1 tick (it gets the GIL back
    # only after Python's 5 ms switch interval, then not until the call returns).
    assert len(ticks) >= 10, f"{len(ticks)} ticks during a {elapsed:.2f} s call"


# ---- NaN and Inf -------------------------------------------------------------------------

def _poison(rng, shape, dtype, every=40):
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    k = max(1, flat.size // every)
    idx = rng.choice(flat.size, size=3 * k, replace=False)
    flat[idx[:k]] = np.nan
    flat[idx[k:2 * k]] = np.inf
    flat[idx[2 * k:]] = -np.inf
    return x.astype(dtype)


PROBLEMS = [
    # (nd, x shape, w shape, kwargs) — zero padding only (there padded zeros never meet Inf)
    (2, (2, 3, 11, 9), (4, 3, 3, 3), dict(padding=1)),
    (2, (2, 4, 12, 10), (4, 2, 2, 3), dict(stride=2, padding=((0, 2), (1, 1)), groups=2)),
    (2, (3, 5, 9, 9), (5, 1, 3, 3), dict(groups=5, dilation=2, padding="same")),
    (1, (2, 3, 64), (2, 3, 5), dict(stride=3, padding=2)),
    (3, (1, 2, 6, 7, 5), (3, 2, 2, 3, 2), dict(padding=(1, 0, 1))),
    # shapes whose weight gradient auto gives outer_bwd_weights (padded 3×3; 1×1 batch)
    # (poisoned sparsely: 288 and 32 terms per sum)
    (2, (1, 32, 28, 28), (16, 32, 3, 3), dict(padding=1, poison_every=4000)),
    (2, (2, 32, 7, 9), (8, 32, 1, 1), dict(poison_every=300)),
]


def _same_pads(n, k, s, d):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _torch_conv(nd, xt, wt, kw):
    """torch in float64 with convkit's (zero) padding: explicit pairs via F.pad."""
    stride = kw.get("stride", 1)
    dil = kw.get("dilation", 1)
    stride = [stride] * nd if isinstance(stride, int) else list(stride)
    dil = [dil] * nd if isinstance(dil, int) else list(dil)
    p = kw.get("padding", 0)
    if p == "same":
        pairs = [_same_pads(xt.shape[2 + i], wt.shape[2 + i], stride[i], dil[i]) for i in range(nd)]
    elif isinstance(p, int):
        pairs = [(p, p)] * nd
    else:
        pairs = [e if isinstance(e, tuple) else (e, e) for e in p]
    flat = []
    for before, after in reversed(pairs):
        flat += [before, after]
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    return conv(F.pad(xt, flat), wt, stride=stride, dilation=dil, groups=kw.get("groups", 1))


def _t(a, grad=False):
    return torch.tensor(np.array(a, np.float64), requires_grad=grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("problem", PROBLEMS, ids=[f"{p[0]}d-{p[1]}" for p in PROBLEMS])
def test_nan_and_inf_propagate_like_a_plain_sum(problem, threads, dtype, rng, restore_threads):
    ck.set_num_threads(threads)
    nd, xs, ws, kw = problem
    kw = dict(kw)
    x = _poison(rng, xs, dtype, kw.pop("poison_every", 40))
    w = rng.standard_normal(ws).astype(dtype)
    conv = {1: ck.conv1d, 2: ck.conv2d, 3: ck.conv3d}[nd]
    y = conv(x, w, **kw)
    ref = _torch_conv(nd, _t(x), _t(w), kw).numpy()
    assert np.isnan(ref).any() and np.isinf(ref).any(), "test data must produce both"
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref), err_msg="NaN positions differ")
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(ref), err_msg="+Inf positions differ")
    np.testing.assert_array_equal(np.isneginf(y), np.isneginf(ref), err_msg="-Inf positions differ")
    finite = np.isfinite(ref)
    assert finite.any()
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(y[finite], ref[finite], rtol=tol, atol=tol * 10)

    # grad_weight = Σ grad_output · x: the same rule, now with NaN/Inf in x.
    back = {1: ck.conv1d_backward, 2: ck.conv2d_backward, 3: ck.conv3d_backward}[nd]
    gy = rng.standard_normal(y.shape).astype(dtype)
    _, gw, gb = back(gy, x, w, **kw)
    wt = _t(w, grad=True)
    _torch_conv(nd, _t(x), wt, kw).backward(_t(gy))
    gw_ref = wt.grad.numpy()
    np.testing.assert_array_equal(np.isnan(gw), np.isnan(gw_ref), err_msg="grad_weight NaNs")
    np.testing.assert_array_equal(np.isinf(gw), np.isinf(gw_ref), err_msg="grad_weight Infs")
    assert np.all(np.isfinite(gb)), "grad_bias does not involve x"


def test_inf_minus_inf_in_one_window_is_nan():
    x = np.zeros((1, 1, 6))
    x[0, 0, 1], x[0, 0, 2] = np.inf, -np.inf
    y = ck.conv1d(x, np.ones((1, 1, 2)))[0, 0]
    assert y[0] == np.inf and np.isnan(y[1]) and y[2] == -np.inf and y[3] == 0
    # 0 · Inf is NaN: a zero weight does not hide an Inf of x
    w = np.array([[[0.0, 1.0]]])
    y = ck.conv1d(x, w)[0, 0]
    assert y[0] == np.inf and np.isnan(y[1]) and np.isnan(y[2]) and y[3] == 0
    ref = F.conv1d(_t(x), _t(w)).numpy()[0, 0]
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(ref))


def test_nan_in_weight_spreads_to_its_output_channel():
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 6))
    w = np.random.default_rng(4).standard_normal((4, 3, 3, 3))
    w[2, 1, 0, 0] = np.nan
    y = ck.conv2d(x, w, padding=1)
    # where the NaN tap reads real input (not padding) the output is NaN; other channels are
    # untouched (whether NaN · padded zero counts is not specified, so borders are not checked)
    assert np.isnan(y[:, 2, 1:, 1:]).all()
    assert np.isfinite(np.delete(y, 2, axis=1)).all()
