"""scipy.signal 1.10 as the oracle for convkit.signal: convolve, correlate, convolve2d,
correlate2d, fftconvolve, oaconvolve, choose_conv_method, explain and out=.

What is compared, per case:
* the result's type (ndarray), dtype and shape equal scipy's for the same inputs;
* integer and bool results equal scipy's exactly. The integer oracle is scipy with
  method='direct' (scipy's FFT path can round integer results wrongly), which wraps modulo 2^n
  for narrow result types, as convkit promises to;
* floating results are compared normwise with a float64/complex128 reference (scipy run on the
  inputs widened to float64/complex128): max |got - ref| <= rtol * max(bound), where `bound` is
  the same operation on |in1|, |in2| (and |fillvalue|), i.e. the largest sum of |terms| of any
  output element, which bounds the rounding error of any summation order and of an FFT.
  rtol = 1e-5 for float32/complex64 results, 1e-12 for float64/complex128.

Random cases are drawn in loops from generators seeded by the test id (conftest.py's make_rng;
CONVKIT_TEST_SEED draws others); each failure message carries what is needed to reproduce it.
The per-operation case counts are printed in pytest's terminal summary.
"""
from __future__ import annotations

import numpy as np
import pytest

import convkit
from convkit import signal as cks

ss = pytest.importorskip("scipy.signal")

# The oracle's own warnings (scipy converting a negative or complex fill value, NaN casts).
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:scipy.signal._signaltools"),
    pytest.mark.filterwarnings("ignore::numpy.ComplexWarning:scipy.signal._signaltools"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning:scipy.signal._signaltools"),
]

INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
FLOAT_DTYPES = [np.float32, np.float64]
COMPLEX_DTYPES = [np.complex64, np.complex128]
NUM_DTYPES = INT_DTYPES + FLOAT_DTYPES + COMPLEX_DTYPES
# Mixed pairs named in the brief plus a few more promotions (numpy's result_type).
MIXED_PAIRS = [
    (np.uint8, np.int8), (np.int8, np.uint8), (np.int32, np.float32), (np.float32, np.int32),
    (np.float32, np.complex64), (np.complex64, np.float32), (np.uint16, np.int16),
    (np.uint32, np.int32), (np.uint64, np.int64), (np.int8, np.float32), (np.int16, np.float32),
    (np.uint8, np.float64), (np.float32, np.float64), (np.complex64, np.float64),
    (np.int64, np.complex64), (np.bool_, np.int16), (np.bool_, np.float32), (np.uint8, np.uint16),
    (np.int8, np.int64), (np.uint32, np.uint64), (np.float64, np.complex64),
]
MODES = ("full", "same", "valid")
METHODS = ("direct", "fft", "auto")
BOUNDARIES = ("fill", "wrap", "symm", "circular", "symmetric")


# ---- helpers ----------------------------------------------------------------------------------

def count(case_counts, op, n=1):
    case_counts[op] = case_counts.get(op, 0) + n


def rand(rng, shape, dtype, scale="small"):
    """Random values of `dtype`. Integers: |v| <= 100 ('small') or the type's full range."""
    dt = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        if scale == "full":
            lo, hi = int(info.min), int(info.max)
        else:
            lo, hi = max(int(info.min), -100), min(int(info.max), 100)
        return rng.integers(lo, hi, size=shape, endpoint=True, dtype=dt)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)


def relayout(rng, a, kind=None):
    """The same values in a different memory layout (kind 0: C-contiguous; 1: every 2nd element
    of a bigger array; 2: transposed storage; 3: negative strides; 4: step -3 and transposed)."""
    if kind is None:
        kind = int(rng.integers(0, 5))
    if a.ndim == 0 or kind == 0:
        return np.ascontiguousarray(a), "C"
    if kind == 1:
        big = np.zeros(tuple(2 * s for s in a.shape), a.dtype)
        v = big[tuple(slice(None, None, 2) for _ in a.shape)]
        v[...] = a
        return v, "step2"
    if kind == 2:
        perm = rng.permutation(a.ndim)
        v = np.ascontiguousarray(a.transpose(perm)).transpose(np.argsort(perm))
        return v, f"transposed{tuple(perm)}"
    if kind == 3:
        axes = [d for d in range(a.ndim) if rng.random() < 0.6] or [0]
        sl = tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(a.ndim))
        return np.ascontiguousarray(a[sl])[sl], f"reversed{axes}"
    big = np.zeros(tuple(3 * s for s in a.shape), a.dtype)
    v = big[tuple(slice(None, None, -3) for _ in a.shape)].T
    v[...] = a.T
    return v.T, "step-3,T"


def hi(a):
    """`a` widened to float64 or complex128 (the reference precision)."""
    a = np.asarray(a)
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def habs(a):
    return np.abs(hi(a))


def rtol_for(dtype):
    return 1e-5 if np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.complex64)) else 1e-12


def assert_matches(got, expected, ref=None, bound=None, ctx=""):
    """`got` (convkit) against `expected` (scipy on the same inputs): type, dtype and shape equal;
    bool/integer values equal; floating values within rtol * max(bound) of `ref` (default:
    `expected` widened), bound default |ref|."""
    assert isinstance(got, np.ndarray), f"{ctx}: got {type(got).__name__}, expected ndarray"
    assert got.dtype == expected.dtype, f"{ctx}: dtype {got.dtype}, scipy gives {expected.dtype}"
    assert got.shape == expected.shape, f"{ctx}: shape {got.shape}, scipy gives {expected.shape}"
    if expected.dtype.kind in "biu":
        if not np.array_equal(got, expected):
            bad = np.argwhere(got != expected)
            i = tuple(bad[0])
            raise AssertionError(f"{ctx}: {len(bad)} of {got.size} elements differ, first at {i}: "
                                 f"got {got[i]!r}, expected {expected[i]!r}")
        return
    ref = hi(expected) if ref is None else ref
    bound = np.abs(ref) if bound is None else bound
    assert ref.shape == got.shape, f"{ctx}: reference shape {ref.shape} vs {got.shape}"
    if got.size == 0:
        return
    err = np.abs(hi(got) - ref)
    tol = rtol_for(expected.dtype) * float(np.max(bound))
    worst = float(np.max(err))
    if not worst <= tol:   # also catches NaN
        i = np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))), err.shape)
        raise AssertionError(f"{ctx}: max error {worst:.3g} > tol {tol:.3g} (rtol "
                             f"{rtol_for(expected.dtype)} x bound); worst at {i}: got {got[i]!r}, "
                             f"reference {ref[i]!r}")


def desc(a):
    return f"{a.dtype}{a.shape}"


def is_int_result(a, b):
    return np.result_type(a, b).kind in "biu"


def nd_shapes(rng, ndim, mode, max_n, max_k, big_kernel_p=0.15):
    """Random in1/in2 shapes for convolve-like functions; valid mode gets either in1 >= in2 or
    in2 >= in1 (scipy swaps) in every dimension."""
    def dim(m):
        return int(rng.integers(1, m + 1)) if rng.random() > 0.15 else 1
    s1 = [dim(max_n) for _ in range(ndim)]
    if mode == "valid":
        if rng.random() < 0.3:   # in2 larger (or equal) in every dim → swapped
            s2 = [n + int(rng.integers(0, 4)) for n in s1]
        else:
            s2 = [int(rng.integers(1, n + 1)) if rng.random() > 0.2 else n for n in s1]
        return s1, s2
    s2 = []
    for n in s1:
        if rng.random() < big_kernel_p:
            s2.append(n + int(rng.integers(1, 5)))     # kernel larger than the input
        else:
            s2.append(dim(max_k))
    return s1, s2


SCIPY_ND = {"convolve": ss.convolve, "correlate": ss.correlate}
CK_ND = {"convolve": cks.convolve, "correlate": cks.correlate}


def reference_nd(fn, a, b, mode):
    """(expected, ref, bound) for convolve/correlate: expected = scipy direct on the inputs."""
    f = SCIPY_ND[fn]
    expected = f(a, b, mode, method="direct")
    if expected.dtype.kind in "biu":
        return expected, None, None
    ref = f(hi(a), hi(b), mode, method="direct")
    bound = f(habs(a), habs(b), mode, method="direct")
    return expected, ref, bound


# ---- 1. convolve / correlate ------------------------------------------------------------------

N_ND = {1: 2000, 2: 2000, 3: 1000, 4: 200}
MAX_N = {1: 40, 2: 11, 3: 6, 4: 4}
MAX_K = {1: 12, 2: 6, 3: 4, 4: 3}


def pick_dtypes(rng, method):
    r = rng.random()
    if r < 0.55:
        d = NUM_DTYPES[int(rng.integers(len(NUM_DTYPES)))]
        d1 = d2 = d
    else:
        d1, d2 = MIXED_PAIRS[int(rng.integers(len(MIXED_PAIRS)))]
    # Full-range integers only where an exact result is possible through any method:
    # direct/auto always; an explicit FFT only for narrow types (the product bound stays small).
    full_ok = method != "fft" or (np.dtype(d1).itemsize <= 2 and np.dtype(d2).itemsize <= 2)
    scale = "full" if full_ok and rng.random() < 0.3 else "small"
    return d1, d2, scale


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_convolve_correlate_random(ndim, make_rng, case_counts):
    rng = make_rng()
    for case in range(N_ND[ndim]):
        fn = ("convolve", "correlate")[case % 2]
        mode = MODES[int(rng.integers(3))]
        method = METHODS[int(rng.integers(len(METHODS)))]
        d1, d2, scale = pick_dtypes(rng, method)
        s1, s2 = nd_shapes(rng, ndim, mode, MAX_N[ndim], MAX_K[ndim])
        a0 = rand(rng, s1, d1, scale)
        b0 = rand(rng, s2, d2, scale)
        a, la = relayout(rng, a0)
        b, lb = relayout(rng, b0)
        ctx = (f"case {case}: {fn}({desc(a0)} [{la}], {desc(b0)} [{lb}], mode={mode!r}, "
               f"method={method!r}, scale={scale})")
        expected, ref, bound = reference_nd(fn, a0, b0, mode)
        a_before, b_before = a.copy(), b.copy()
        got = CK_ND[fn](a, b, mode, method)
        assert np.array_equal(a, a_before) and np.array_equal(b, b_before), f"{ctx}: input modified"
        assert_matches(got, expected, ref, bound, ctx)
        count(case_counts, f"{fn} {ndim}-d")


def test_kernel_larger_than_input(make_rng, case_counts):
    """in2 larger than in1 in some/every dimension: 'full' and 'same' (shape of in1), and 'valid'
    with in2 larger in every dimension (scipy swaps; correlate's result is then reversed and
    conjugated)."""
    rng = make_rng()
    for case in range(300):
        ndim = int(rng.integers(1, 4))
        fn = ("convolve", "correlate")[case % 2]
        mode = MODES[case % 3]
        method = METHODS[(case // 3) % len(METHODS)]
        d = [np.int16, np.float64, np.complex128, np.float32, np.uint8][case % 5]
        s1 = [int(rng.integers(1, 6)) for _ in range(ndim)]
        s2 = [n + int(rng.integers(0 if mode == "valid" else 1, 5)) for n in s1]
        a, b = rand(rng, s1, d), rand(rng, s2, d)
        ctx = f"case {case}: {fn}({desc(a)}, {desc(b)}, {mode!r}, method={method!r})"
        expected, ref, bound = reference_nd(fn, a, b, mode)
        assert_matches(CK_ND[fn](a, b, mode, method), expected, ref, bound, ctx)
        count(case_counts, "convolve/correlate, kernel > input")


def test_even_and_odd_kernels_same_mode(make_rng):
    """'same' centring for even and odd kernel lengths, every axis, against scipy and against
    the documented slice of the full output starting at (K - 1) // 2."""
    rng = make_rng()
    for n in (1, 2, 5, 8):
        for k in (1, 2, 3, 4, 5, 6, 9, 10):
            for fn in ("convolve", "correlate"):
                a = rng.standard_normal((n, n + 1))
                b = rng.standard_normal((k, k + 1))
                for method in METHODS:
                    got = CK_ND[fn](a, b, "same", method)
                    ctx = f"{fn}({desc(a)}, {desc(b)}, 'same', {method!r})"
                    expected, ref, bound = reference_nd(fn, a, b, "same")
                    assert_matches(got, expected, ref, bound, ctx)
                    full = SCIPY_ND[fn](a, b, "full", method="direct")
                    s0, s1 = (k - 1) // 2, k // 2
                    np.testing.assert_allclose(got, full[s0:s0 + n, s1:s1 + n + 1], rtol=1e-12,
                                               atol=1e-12, err_msg=ctx)


def test_mixed_dtype_pairs(make_rng, case_counts):
    rng = make_rng()
    named = {(np.uint8, np.int8): np.int16, (np.int32, np.float32): np.float64,
             (np.float32, np.complex64): np.complex64}
    for (d1, d2), want in named.items():
        a, b = rand(rng, (7,), d1), rand(rng, (3,), d2)
        for fn in CK_ND:
            for method in METHODS:
                assert CK_ND[fn](a, b, method=method).dtype == want, (fn, d1, d2, method)
    for d1, d2 in MIXED_PAIRS:
        for ndim in (1, 2):
            for fn in CK_ND:
                for mode in MODES:
                    for method in METHODS:
                        s1 = (9, 4, 3)[:ndim]
                        s2 = (4, 3, 2)[:ndim]
                        a, b = rand(rng, s1, d1, "full"), rand(rng, s2, d2, "full")
                        if method == "fft" and is_int_result(a, b):
                            a, b = rand(rng, s1, d1), rand(rng, s2, d2)
                        ctx = f"{fn}({desc(a)}, {desc(b)}, {mode!r}, {method!r})"
                        expected, ref, bound = reference_nd(fn, a, b, mode)
                        assert_matches(CK_ND[fn](a, b, mode, method), expected, ref, bound, ctx)
                        count(case_counts, "convolve/correlate, mixed dtypes")


def test_medium_sizes(make_rng, case_counts):
    """Sizes past the micro-kernel tiles and FFT blocks (edges of tiles, several tiles, both
    threads), every method, floating, complex and integer data."""
    rng = make_rng()
    for case in range(60):
        ndim = (1, 2, 2, 3)[case % 4]
        fn = ("convolve", "correlate")[case % 2]
        mode = MODES[(case // 2) % 3]
        method = METHODS[(case // 6) % 3]
        d1, d2 = [(np.float32, np.float32), (np.float64, np.float64), (np.complex64, np.float32),
                  (np.complex128, np.complex128), (np.int32, np.int32), (np.uint8, np.int16),
                  (np.float32, np.int64), (np.int16, np.int16)][case % 8]
        if ndim == 1:
            s1 = [int(rng.integers(200, 3000))]
            s2 = [int(rng.integers(2, 150))]
        elif ndim == 2:
            s1 = [int(rng.integers(20, 90)), int(rng.integers(20, 140))]
            s2 = [int(rng.integers(1, 13)), int(rng.integers(1, 13))]
        else:
            s1 = [int(rng.integers(6, 20)) for _ in range(3)]
            s2 = [int(rng.integers(1, 6)) for _ in range(3)]
        if mode != "valid" and case % 5 == 0:
            s1, s2 = s2, s1   # kernel larger than the input
        a0, b0 = rand(rng, s1, d1), rand(rng, s2, d2)
        if mode == "valid" and case % 5 == 0:
            a0, b0 = b0, a0   # valid with in2 larger: swapped
        a, la = relayout(rng, a0)
        ctx = f"case {case}: {fn}({desc(a0)} [{la}], {desc(b0)}, {mode!r}, {method!r})"
        expected, ref, bound = reference_nd(fn, a0, b0, mode)
        assert_matches(CK_ND[fn](a, b0, mode, method), expected, ref, bound, ctx)
        count(case_counts, "convolve/correlate medium sizes")
    for case in range(40):
        fn = ("convolve2d", "correlate2d")[case % 2]
        mode = MODES[(case // 2) % 3]
        boundary = ("fill", "wrap", "symm")[(case // 6) % 3]
        d1, d2 = [(np.float32, np.float32), (np.float64, np.float64), (np.complex128, np.float64),
                  (np.int32, np.int32), (np.uint8, np.uint8)][case % 5]
        a0 = rand(rng, (int(rng.integers(20, 80)), int(rng.integers(20, 150))), d1)
        b0 = rand(rng, (int(rng.integers(1, 12)), int(rng.integers(1, 12))), d2)
        fill = (0, 3)[case % 2]
        ctx = f"case {case}: {fn}({desc(a0)}, {desc(b0)}, {mode!r}, {boundary!r}, {fill})"
        expected, ref, bound = reference_2d(fn, a0, b0, mode, boundary, fill)
        assert_matches(CK_2D[fn](relayout(rng, a0)[0], b0, mode, boundary, fill), expected, ref,
                       bound, ctx)
        count(case_counts, "convolve2d/correlate2d medium sizes")
    for case in range(30):
        fn = ("fftconvolve", "oaconvolve")[case % 2]
        mode = MODES[(case // 2) % 3]
        d = (np.float32, np.float64, np.complex64, np.complex128, np.int16)[case % 5]
        if case % 3 == 0:
            s1, s2, axes = (int(rng.integers(300, 700)), int(rng.integers(200, 500))), \
                (int(rng.integers(5, 60)), int(rng.integers(5, 60))), None
        elif case % 3 == 1:
            s1, s2, axes = (int(rng.integers(2000, 9000)),), (int(rng.integers(50, 700)),), None
        else:   # batched 1-d along the last axis
            s1, s2, axes = (4, int(rng.integers(500, 3000))), (1, int(rng.integers(20, 300))), -1
        a, b = rand(rng, s1, d), rand(rng, s2, d)
        ctx = f"case {case}: {fn}({desc(a)}, {desc(b)}, {mode!r}, axes={axes})"
        expected, ref, bound = reference_fft(fn, a, b, mode, axes)
        assert_matches(CK_FFT[fn](a, b, mode, axes), expected, ref, bound, ctx)
        count(case_counts, "fftconvolve/oaconvolve medium sizes")


def test_integer_wraparound_matches_scipy(make_rng):
    """Narrow integer results wrap modulo 2^n exactly as scipy's direct method, for every method
    (an FFT with rounding must wrap too, not saturate)."""
    rng = make_rng()
    for d in INT_DTYPES:
        for ndim in (1, 2):
            a = rand(rng, (30, 7)[:ndim] if ndim == 2 else (60,), d, "full")
            b = rand(rng, (5, 3) if ndim == 2 else (9,), d, "full")
            for fn in CK_ND:
                for mode in MODES:
                    methods = METHODS if np.dtype(d).itemsize <= 2 else ("direct", "auto")
                    for method in methods:
                        expected, _, _ = reference_nd(fn, a, b, mode)
                        assert_matches(CK_ND[fn](a, b, mode, method), expected,
                                       ctx=f"{fn}({desc(a)}, {desc(b)}, {mode!r}, {method!r})")


def test_bool_inputs(make_rng, case_counts):
    """bool: 1-d equals scipy (np.convolve's logical semantics); N-d (scipy: 1-d only) equals
    (the integer convolution of the same 0/1 data) != 0."""
    rng = make_rng()
    for case in range(300):
        ndim = 1 + case % 3
        fn = ("convolve", "correlate")[case % 2]
        mode = MODES[int(rng.integers(3))]
        method = METHODS[int(rng.integers(len(METHODS)))]
        s1, s2 = nd_shapes(rng, ndim, mode, (30, 8, 5)[ndim - 1], (8, 4, 3)[ndim - 1])
        a, b = rand(rng, s1, np.bool_), rand(rng, s2, np.bool_)
        if rng.random() < 0.2:
            a[...] = False
        ctx = f"case {case}: {fn}({desc(a)}, {desc(b)}, {mode!r}, {method!r})"
        got = CK_ND[fn](a, b, mode, method)
        # int64 rather than uint8 for the 0/1 counts: a uint8 count of 256 would wrap to 0.
        counts = SCIPY_ND[fn](a.astype(np.int64), b.astype(np.int64), mode, method="direct")
        if ndim == 1:
            # scipy 1.10 supports bool only through np.convolve/np.correlate (1-d, and for
            # 'same' only with len(in1) >= len(in2)); elsewhere it raises "Unsupported type".
            try:
                expected = SCIPY_ND[fn](a, b, mode, method="direct")
            except ValueError:
                expected = None
            if expected is not None:
                assert_matches(got, expected, ctx=ctx + " vs scipy")
        assert_matches(got, counts != 0, ctx=ctx + " vs counts != 0")
        count(case_counts, "convolve/correlate bool")


def test_zero_dim_inputs():
    for fn in CK_ND:
        for a, b in [(np.float32(2.5), np.float64(3)), (np.int8(3), np.int8(100)),
                     (np.complex64(1 + 2j), np.complex64(3 - 1j))]:
            got = CK_ND[fn](np.asarray(a), np.asarray(b))
            expected = SCIPY_ND[fn](np.asarray(a), np.asarray(b))
            assert np.asarray(got).dtype == np.asarray(expected).dtype
            assert got == expected


def test_broadcast_zero_stride_inputs(make_rng):
    """Read-only inputs with zero strides (np.broadcast_to)."""
    rng = make_rng()
    a = np.broadcast_to(rng.standard_normal((1, 9)), (7, 9))
    b = np.broadcast_to(rng.integers(-3, 4, (4, 1)), (4, 3))
    for fn in CK_ND:
        for mode in MODES:
            for method in METHODS:
                expected, ref, bound = reference_nd(fn, np.array(a), np.array(b), mode)
                assert_matches(CK_ND[fn](a, b, mode, method), expected, ref, bound,
                               f"{fn} broadcast inputs {mode} {method}")
    for fn2 in ("convolve2d", "correlate2d"):
        expected = getattr(ss, fn2)(np.array(a), np.array(b), "same", "symm")
        assert_matches(getattr(cks, fn2)(a, b, "same", "symm"), expected, ctx=fn2)


# ---- 2. convolve2d / correlate2d --------------------------------------------------------------

SCIPY_2D = {"convolve2d": ss.convolve2d, "correlate2d": ss.correlate2d}
CK_2D = {"convolve2d": cks.convolve2d, "correlate2d": cks.correlate2d}


def reference_2d(fn, a, b, mode, boundary, fill):
    f = SCIPY_2D[fn]
    expected = f(a, b, mode, boundary, fill)
    if expected.dtype.kind in "biu":
        return expected, None, None
    # scipy converts the fill value to the result dtype; do the same for the reference.
    fill_r = np.asarray(fill).astype(expected.dtype)[()]
    ref = f(hi(a), hi(b), mode, boundary, hi(fill_r)[()])
    bound = f(habs(a), habs(b), mode, boundary, float(np.abs(hi(fill_r))))
    return expected, ref, bound


def pick_fill(rng, d1, d2):
    rt = np.result_type(d1, d2)
    if rng.random() < 0.4:
        return 0
    if rt.kind in "iu":
        return [3, -1, 2.7, -2.5, 1, -7, 120, np.int8(5), np.float64(4.0)][int(rng.integers(9))]
    if rt.kind == "c":
        return [1.5 - 2j, -3.25, 2, 0.5j][int(rng.integers(4))]
    return [1.5, -3.25, 2, np.float32(0.1)][int(rng.integers(4))]


def test_convolve2d_correlate2d_random(make_rng, case_counts):
    rng = make_rng()
    for case in range(4000):
        fn = ("convolve2d", "correlate2d")[case % 2]
        mode = MODES[int(rng.integers(3))]
        boundary = BOUNDARIES[int(rng.integers(len(BOUNDARIES)))]
        d1, d2, scale = pick_dtypes(rng, "direct")
        if np.dtype(d1) == np.bool_ and np.dtype(d2) == np.bool_:
            d1 = np.uint8
        s1, s2 = nd_shapes(rng, 2, mode, 9, 6, big_kernel_p=0.25)
        a0, b0 = rand(rng, s1, d1, scale), rand(rng, s2, d2, scale)
        fill = pick_fill(rng, d1, d2)
        a, la = relayout(rng, a0)
        b, lb = relayout(rng, b0)
        ctx = (f"case {case}: {fn}({desc(a0)} [{la}], {desc(b0)} [{lb}], {mode!r}, {boundary!r}, "
               f"fillvalue={fill!r}, scale={scale})")
        expected, ref, bound = reference_2d(fn, a0, b0, mode, boundary, fill)
        got = CK_2D[fn](a, b, mode, boundary, fill)
        assert_matches(got, expected, ref, bound, ctx)
        count(case_counts, fn)


def test_2d_kernel_larger_than_image_every_boundary(make_rng, case_counts):
    rng = make_rng()
    for fn in CK_2D:
        for boundary in BOUNDARIES:
            for mode in MODES:
                for d in (np.int32, np.float64, np.complex128):
                    for _ in range(8):
                        s1 = [int(rng.integers(1, 5)) for _ in range(2)]
                        s2 = [n + int(rng.integers(0 if mode == "valid" else 1, 8)) for n in s1]
                        a, b = rand(rng, s1, d), rand(rng, s2, d)
                        fill = 0 if rng.random() < 0.5 else 2
                        ctx = f"{fn}({desc(a)}, {desc(b)}, {mode!r}, {boundary!r}, {fill})"
                        expected, ref, bound = reference_2d(fn, a, b, mode, boundary, fill)
                        assert_matches(CK_2D[fn](a, b, mode, boundary, fill), expected, ref,
                                       bound, ctx)
                        count(case_counts, "convolve2d/correlate2d, kernel > image")


def test_2d_same_centring_even_kernels(make_rng):
    """correlate2d's 'same' output starts at K // 2 of the full output, correlate's and
    convolve2d's at (K - 1) // 2: they differ by one for even K."""
    rng = make_rng()
    for kh in range(1, 7):
        for kw in range(1, 7):
            a = rng.integers(-9, 10, (6, 7))
            k = rng.integers(-9, 10, (kh, kw))
            for boundary in ("fill", "wrap", "symm"):
                for fn in CK_2D:
                    expected = SCIPY_2D[fn](a, k, "same", boundary)
                    got = CK_2D[fn](a, k, "same", boundary)
                    assert_matches(got, expected, ctx=f"{fn} same {boundary} K=({kh},{kw})")
                full = ss.correlate2d(a, k, "full", boundary)
                got = cks.correlate2d(a, k, "same", boundary)
                assert np.array_equal(got, full[kh // 2:kh // 2 + 6, kw // 2:kw // 2 + 7])
            full = ss.correlate(a, k, "full", method="direct")
            assert np.array_equal(cks.correlate(a, k, "same"),
                                  full[(kh - 1) // 2:(kh - 1) // 2 + 6,
                                       (kw - 1) // 2:(kw - 1) // 2 + 7])
            assert np.array_equal(cks.correlate2d(a, k, "same"),
                                  full[kh // 2:kh // 2 + 6, kw // 2:kw // 2 + 7])


def test_2d_complex(make_rng, case_counts):
    """Complex data and fill values, incl. a complex fillvalue with a real image and a complex
    kernel, and valid-mode swaps with in1 smaller (scipy's correlate2d does not conjugate back
    after swapping, unlike correlate)."""
    rng = make_rng()
    for case in range(200):
        fn = ("convolve2d", "correlate2d")[case % 2]
        mode = MODES[(case // 2) % 3]
        boundary = BOUNDARIES[(case // 6) % 5]
        da, db = [(np.float64, np.complex128), (np.complex64, np.complex64),
                  (np.complex128, np.float32), (np.float32, np.complex64)][case % 4]
        s1, s2 = nd_shapes(rng, 2, mode, 7, 5, big_kernel_p=0.3)
        if mode == "valid" and case % 3 == 0:
            s1, s2 = s2, s1
            s1 = [min(x, y) for x, y in zip(s1, s2)]   # in1 smaller (or equal) in every dim
        a, b = rand(rng, s1, da), rand(rng, s2, db)
        fill = [0, 1 + 2j, -0.5j, 3][case % 4]
        ctx = f"case {case}: {fn}({desc(a)}, {desc(b)}, {mode!r}, {boundary!r}, {fill})"
        expected, ref, bound = reference_2d(fn, a, b, mode, boundary, fill)
        assert_matches(CK_2D[fn](a, b, mode, boundary, fill), expected, ref, bound, ctx)
        count(case_counts, "convolve2d/correlate2d complex")
    # The valid swap, explicitly: in1 smaller than in2 in both dims, complex.
    a = rand(rng, (2, 3), np.complex128)
    b = rand(rng, (4, 5), np.complex128)
    for fn in CK_2D:
        expected, ref, bound = reference_2d(fn, a, b, "valid", "fill", 0)
        assert_matches(CK_2D[fn](a, b, "valid"), expected, ref, bound, f"{fn} valid swap")
    # scipy 1.10: correlate2d(a, b, 'valid') with a smaller is correlate2d(b, a)[::-1, ::-1]
    # without conjugation (unlike correlate, which gives conj(correlate(b, a)[::-1, ::-1])).
    np.testing.assert_allclose(cks.correlate2d(a, b, "valid"),
                               ss.correlate2d(b, a, "valid")[::-1, ::-1], rtol=1e-12)
    np.testing.assert_allclose(cks.correlate(a, b, "valid"),
                               np.conj(ss.correlate(b, a, "valid")[::-1, ::-1]), rtol=1e-12)


def test_2d_integer_fill_values(make_rng):
    """Integer results with negative, fractional and out-of-range fill values: scipy converts
    the fill value to the result dtype (truncating, wrapping) — uint8 results wrap modulo 256."""
    rng = make_rng()
    for d in INT_DTYPES:
        for fill in (0, 3, -1, 2.7, -2.5, 7.0, 100):
            for scale in ("full", "small"):
                for mode in ("full", "same"):
                    a = rand(rng, (5, 6), d, scale)
                    k = rand(rng, (3, 4), d, "small")
                    for fn in CK_2D:
                        expected = SCIPY_2D[fn](a, k, mode, "fill", fill)
                        assert_matches(CK_2D[fn](a, k, mode, "fill", fill), expected,
                                       ctx=f"{fn}({desc(a)}, {desc(k)}, {mode}, fill={fill}, "
                                           f"{scale} values)")
    # mixed integer pairs: the fill value is converted to the result dtype (uint16 here) before
    # it is multiplied, so -5 is 65531 — exactness needs a bound on that value, not on -5
    for d1, d2 in [(np.uint8, np.uint16), (np.uint8, np.uint32), (np.int8, np.uint16),
                   (np.uint16, np.uint32), (np.uint8, np.int16), (np.uint32, np.uint64)]:
        for fill in (-5, -1, 7, -2.5):
            for mode in MODES:
                a = rand(rng, (6, 7), d1)
                k = rand(rng, (3, 5), d2)
                for fn in CK_2D:
                    expected = SCIPY_2D[fn](a, k, mode, "fill", fill)
                    assert_matches(CK_2D[fn](a, k, mode, "fill", fill), expected,
                                   ctx=f"{fn}({desc(a)}, {desc(k)}, {mode}, fill={fill})")
    # the smallest cases: a negative fill with unsigned results (wrapping modulo 2^n)
    a, k = np.array([[3]], np.uint8), np.array([[1001, 999, 1003]], np.uint16)
    assert_matches(cks.convolve2d(a, k, "same", "fill", -5), np.array([[58513]], np.uint16),
                   ctx="convolve2d([[3]] uint8, [[1001, 999, 1003]] uint16, 'same', fill -5)")
    a, k = np.array([[5]], np.uint32), np.array([[1, 1]], np.uint32)
    assert_matches(cks.convolve2d(a, k, fillvalue=-1), np.array([[4, 4]], np.uint32),
                   ctx="convolve2d([[5]] uint32, [[1, 1]] uint32, fillvalue=-1)")
    for d in (np.uint8, np.uint16, np.uint32, np.uint64, np.int32):
        a, k = np.ones((3, 1), d), np.ones((5, 1), d)
        for fn in CK_2D:
            expected = SCIPY_2D[fn](a, k, "full", "fill", -1)
            assert_matches(CK_2D[fn](a, k, "full", "fill", -1), expected,
                           ctx=f"{fn}(ones(3, 1), ones(5, 1), fillvalue=-1) {d.__name__}")
    # uint8 overflow: 200 * 2 * 9 wraps modulo 2^8 in scipy.
    a = np.full((4, 4), 200, np.uint8)
    k = np.full((3, 3), 2, np.uint8)
    for fn in CK_2D:
        for boundary in ("fill", "wrap", "symm"):
            expected = SCIPY_2D[fn](a, k, "same", boundary, 7)
            got = CK_2D[fn](a, k, "same", boundary, 7)
            assert_matches(got, expected, ctx=f"{fn} uint8 overflow {boundary}")
    assert cks.convolve2d(a, k, "valid")[0, 0] == (200 * 2 * 9) % 256


# ---- 3. fftconvolve / oaconvolve --------------------------------------------------------------

SCIPY_FFT = {"fftconvolve": ss.fftconvolve, "oaconvolve": ss.oaconvolve}
CK_FFT = {"fftconvolve": cks.fftconvolve, "oaconvolve": cks.oaconvolve}


def fft_shapes(rng, ndim, mode):
    """(s1, s2, axes) with non-axis dims equal or broadcast (one of them 1)."""
    r = rng.random()
    if r < 0.25:
        axes = None
        ax = list(range(ndim))
    elif r < 0.5:
        a0 = int(rng.integers(ndim))
        axes = a0 - ndim if rng.random() < 0.5 else a0
        ax = [a0]
    else:
        n = int(rng.integers(1, ndim + 1))
        ax = sorted(rng.choice(ndim, n, replace=False).tolist())
        axes = [a - ndim if rng.random() < 0.3 else a for a in rng.permutation(ax).tolist()]
    s1, s2 = [], []
    swap = mode == "valid" and rng.random() < 0.3
    for d in range(ndim):
        if d in ax:
            n = int(rng.integers(1, 10)) if rng.random() > 0.15 else 1
            if mode == "valid":
                k = int(rng.integers(1, n + 1))
            else:
                k = int(rng.integers(1, 8)) if rng.random() > 0.15 else n + int(rng.integers(1, 4))
            if swap:
                n, k = k, n
        else:
            n = int(rng.integers(1, 5))
            k = n
            u = rng.random()
            if u < 0.3:
                n = 1           # in1 broadcast along a batch axis
            elif u < 0.6:
                k = 1           # in2 broadcast
        s1.append(n)
        s2.append(k)
    return s1, s2, axes


def no_fft_axes(s1, s2, axes):
    """True when scipy finds no axis to transform: every requested axis has length 1 in in1 or
    in2. scipy 1.10 then returns in1 * in2 (broadcast, then the mode's slice) in numpy's
    result dtype — integer or bool, wrapping — instead of a floating result."""
    nd = len(s1)
    ax = range(nd) if axes is None else ([axes] if np.ndim(axes) == 0 else list(axes))
    return all(s1[a % nd] == 1 or s2[a % nd] == 1 for a in ax)


def reference_fft(fn, a, b, mode, axes):
    f = SCIPY_FFT[fn]
    expected = f(a, b, mode, axes)
    ref = ss.fftconvolve(hi(a), hi(b), mode, axes)
    bound = ss.fftconvolve(habs(a), habs(b), mode, axes)
    return expected, ref, bound


def test_fftconvolve_oaconvolve_random(make_rng, case_counts):
    rng = make_rng()
    for case in range(3000):
        fn = ("fftconvolve", "oaconvolve")[case % 2]
        ndim = [1, 1, 2, 2, 2, 3, 3, 4][int(rng.integers(8))]
        mode = MODES[int(rng.integers(3))]
        d1, d2, scale = pick_dtypes(rng, "fft")
        s1, s2, axes = fft_shapes(rng, ndim, mode)
        if no_fft_axes(s1, s2, axes) and not (d1 == d2 and np.dtype(d1).kind in "fc"):
            d1 = d2 = (np.float64, np.complex64)[case % 2]   # see test_fft_no_fft_axes_dtype
        a0, b0 = rand(rng, s1, d1), rand(rng, s2, d2)
        a, la = relayout(rng, a0)
        b, lb = relayout(rng, b0)
        ctx = (f"case {case}: {fn}({desc(a0)} [{la}], {desc(b0)} [{lb}], {mode!r}, "
               f"axes={axes!r})")
        try:
            expected, ref, bound = reference_fft(fn, a0, b0, mode, axes)
        except ValueError:   # e.g. valid mode without one input dominating on the axes
            with pytest.raises(ValueError):
                CK_FFT[fn](a, b, mode, axes)
            count(case_counts, f"{fn} (error)")
            continue
        got = CK_FFT[fn](a, b, mode, axes)
        assert_matches(got, expected, ref, bound, ctx)
        count(case_counts, fn)


def test_fft_batch_broadcast_same_mode(make_rng):
    """'same' with in1 broadcast along a batch axis: scipy centres that axis too (the output
    keeps in1's extent 1 and takes the middle of in2's batch)."""
    rng = make_rng()
    cases = [((1, 10), (5, 3), 1), ((1, 10), (4, 3), -1), ((6, 1, 8), (1, 3, 4), [2]),
             ((1, 9), (5, 4), [1]), ((3, 1, 7), (3, 4, 2), 2), ((2, 12), (1, 5), 1),
             ((1, 1, 9), (4, 5, 3), [-1]), ((1, 10), (5, 3), [0, 1])]
    for fn in CK_FFT:
        for s1, s2, axes in cases:
            for mode in MODES:
                for d in (np.float64, np.float32, np.complex128, np.int16):
                    a, b = rand(rng, s1, d), rand(rng, s2, d)
                    ctx = f"{fn}({desc(a)}, {desc(b)}, {mode!r}, axes={axes})"
                    try:
                        expected, ref, bound = reference_fft(fn, a, b, mode, axes)
                    except ValueError:
                        with pytest.raises(ValueError):
                            CK_FFT[fn](a, b, mode, axes)
                        continue
                    assert_matches(CK_FFT[fn](a, b, mode, axes), expected, ref, bound, ctx)


def test_fft_no_fft_axes_dtype(make_rng):
    """When no axis needs a transform (each requested axis has length 1 in one input) scipy
    1.10's fftconvolve/oaconvolve return in1 * in2 in numpy's result dtype: integer inputs keep
    their integer dtype (uint8 products wrap modulo 256), bool stays bool, bool or int8 with
    float32 give float32 — where every other shape gives float64. convkit must give scipy's
    dtype and values here too."""
    rng = make_rng()
    cases = [((1, 4), (1, 1), [0]), ((1, 4), (3, 1), [0]), ((1, 4), (3, 1), None),
             ((3, 4), (1, 1), None), ((1,), (1,), None), ((2, 1), (2, 5), 1)]
    for fn in CK_FFT:
        for s1, s2, axes in cases:
            assert no_fft_axes(s1, s2, axes)
            for mode in MODES:
                for d1, d2 in [(np.float32, np.float32), (np.complex64, np.complex64),
                               (np.float32, np.complex128), (np.uint8, np.uint8),
                               (np.int16, np.int16), (np.int64, np.int64), (np.bool_, np.bool_),
                               (np.bool_, np.float32), (np.int8, np.float32),
                               (np.int16, np.complex64)]:
                    a, b = rand(rng, s1, d1, "full"), rand(rng, s2, d2, "full")
                    ctx = f"{fn}({desc(a)}, {desc(b)}, {mode!r}, axes={axes})"
                    expected = SCIPY_FFT[fn](a, b, mode, axes)
                    assert_matches(CK_FFT[fn](a, b, mode, axes), expected, ctx=ctx)


def test_fft_dtypes(make_rng):
    """Integer inputs give float64, float32 stays float32, complex stays complex (scipy)."""
    rng = make_rng()
    for d1 in [np.bool_] + NUM_DTYPES:
        for d2 in (d1, np.float32, np.int8, np.complex64):
            a, b = rand(rng, (13, 4), d1), rand(rng, (5, 3), d2)
            for fn in CK_FFT:
                for mode in MODES:
                    expected, ref, bound = reference_fft(fn, a, b, mode, None)
                    assert_matches(CK_FFT[fn](a, b, mode), expected, ref, bound,
                                   f"{fn}({desc(a)}, {desc(b)}, {mode!r})")


def test_fft_large_prime_lengths(make_rng, case_counts):
    rng = make_rng()
    for (n, k) in [(4099, 1009), (1009, 4099), (4099, 1), (1, 1009), (1009, 1009), (4099, 7)]:
        for d in (np.float64, np.float32, np.complex128):
            a, b = rand(rng, (n,), d), rand(rng, (k,), d)
            for mode in MODES:
                expected = ss.fftconvolve(a, b, mode)
                ref = ss.fftconvolve(hi(a), hi(b), mode)
                bound = ss.fftconvolve(habs(a), habs(b), mode)
                for fn in CK_FFT:
                    assert_matches(CK_FFT[fn](a, b, mode), expected, ref, bound,
                                   f"{fn}({desc(a)}, {desc(b)}, {mode})")
                for method in ("fft", "auto"):
                    assert_matches(cks.convolve(a, b, mode, method), expected, ref, bound,
                                   f"convolve({desc(a)}, {desc(b)}, {mode}, {method})")
                count(case_counts, "large prime lengths")
    # 2-d with a prime extent and a batch axis
    a = rand(rng, (1009, 3), np.float64)
    b = rand(rng, (211, 1), np.float64)
    for fn in CK_FFT:
        for mode in MODES:
            for axes in (None, 0, [0, 1]):
                expected, ref, bound = reference_fft(fn, a, b, mode, axes)
                assert_matches(CK_FFT[fn](a, b, mode, axes), expected, ref, bound,
                               f"{fn} 2-d prime {mode} {axes}")
    # integer data through the FFT functions
    a = rand(rng, (4099,), np.int32, "small")
    b = rand(rng, (1009,), np.int32, "small")
    expected, ref, bound = reference_fft("fftconvolve", a, b, "full", None)
    assert_matches(cks.fftconvolve(a, b), expected, ref, bound, "fftconvolve int32 prime")
    exact = ss.convolve(a.astype(np.int64), b.astype(np.int64), method="direct")
    assert np.array_equal(cks.convolve(a, b, method="fft"), exact.astype(np.int32))


def test_fft_empty_inputs():
    """scipy's fftconvolve/oaconvolve return an empty array for an empty input."""
    for fn in CK_FFT:
        for a, b in [(np.zeros(0), np.ones(3)), (np.ones(3), np.zeros(0)),
                     (np.zeros((0, 3)), np.ones((2, 2)))]:
            expected = SCIPY_FFT[fn](a, b)
            got = CK_FFT[fn](a, b)
            assert got.shape == expected.shape and got.dtype == expected.dtype, (fn, a.shape)


# ---- 4. the notebook case ---------------------------------------------------------------------

def test_notebook_sobel_case():
    k = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    # Reading in the issue: rows of 10, then rows of 0.
    A = np.vstack([np.full((3, 6), 10), np.zeros((3, 6))]).astype(int)
    c = cks.correlate2d(A, k, "valid")
    v = cks.convolve2d(A, k, "valid")
    assert c.dtype == A.dtype and v.dtype == A.dtype
    assert c.dtype.kind == "i"
    np.testing.assert_array_equal(c, np.array([[0] * 4, [40] * 4, [40] * 4, [0] * 4]))
    np.testing.assert_array_equal(v, np.array([[0] * 4, [-40] * 4, [-40] * 4, [0] * 4]))
    assert_matches(c, ss.correlate2d(A, k, "valid"), ctx="notebook correlate2d")
    assert_matches(v, ss.convolve2d(A, k, "valid"), ctx="notebook convolve2d")
    for method in METHODS:
        assert_matches(cks.correlate(A, k, "valid", method), ss.correlate(A, k, "valid", "direct"),
                       ctx=f"notebook correlate {method}")
        assert_matches(cks.convolve(A, k, "valid", method), ss.convolve(A, k, "valid", "direct"),
                       ctx=f"notebook convolve {method}")
    # The other reading: every row is [10, 10, 10, 0, 0, 0] — no vertical edge, all zeros.
    B = np.array([[10, 10, 10, 0, 0, 0]] * 6)
    for fn in CK_2D:
        got = CK_2D[fn](B, k, "valid")
        np.testing.assert_array_equal(got, np.zeros((4, 4), int))
        assert_matches(got, SCIPY_2D[fn](B, k, "valid"), ctx=f"notebook B {fn}")
        for mode in MODES:
            for boundary in ("fill", "wrap", "symm"):
                for X in (A, B):
                    assert_matches(CK_2D[fn](X, k, mode, boundary),
                                   SCIPY_2D[fn](X, k, mode, boundary),
                                   ctx=f"notebook {fn} {mode} {boundary}")


# ---- 5. exact large integers ------------------------------------------------------------------

def shift_add(x, k, correlate=False):
    """Full N-d convolution by shifting and adding in x's integer dtype: exact modulo 2^n."""
    out = np.zeros(tuple(a + b - 1 for a, b in zip(x.shape, k.shape)), x.dtype)
    kk = k[tuple(slice(None, None, -1) for _ in k.shape)] if correlate else k
    for idx in np.ndindex(*kk.shape):
        sl = tuple(slice(i, i + n) for i, n in zip(idx, x.shape))
        out[sl] += x * kk[idx]
    return out


def test_large_integers_exact(make_rng):
    rng = make_rng()
    # 1-d: values around 2^40 with a 100-long kernel of values up to 2^12; the result (~2^59)
    # fits int64 but a float64 FFT would round it wrongly.
    x = rng.integers(2**40 - 2**36, 2**40 + 2**36, 20000, dtype=np.int64)
    x[::2] *= -1
    k = rng.integers(-2**12, 2**12, 100, dtype=np.int64)
    exact = np.convolve(x.astype(object), k.astype(object))
    assert max(abs(int(v)) for v in exact) < 2**63
    assert cks.choose_conv_method(x, k) == "direct"
    got = cks.convolve(x, k, method="auto")
    assert got.dtype == np.int64
    assert np.array_equal(got.astype(object), exact)
    for mode in MODES:
        assert_matches(cks.convolve(x, k, mode), ss.convolve(x, k, mode, method="direct"),
                       ctx=f"large int64 convolve {mode}")
        assert_matches(cks.correlate(x, k, mode), ss.correlate(x, k, mode, method="direct"),
                       ctx=f"large int64 correlate {mode}")
    # scipy's own FFT path rounds this wrongly (the reason for the rule):
    assert not np.array_equal(ss.convolve(x, k, method="fft"), got)
    # 2-d, with results wrapping modulo 2^64 (numpy semantics).
    X = rng.integers(-2**40, 2**40, (150, 160), dtype=np.int64)
    K = rng.integers(-2**30, 2**30, (10, 9), dtype=np.int64)
    assert cks.choose_conv_method(X, K) == "direct"
    assert np.array_equal(cks.convolve(X, K), shift_add(X, K))
    assert np.array_equal(cks.correlate(X, K), shift_add(X, K, correlate=True))
    U = rng.integers(0, 2**64 - 1, (120, 130), dtype=np.uint64, endpoint=True)
    V = rng.integers(0, 2**64 - 1, (9, 11), dtype=np.uint64, endpoint=True)
    assert np.array_equal(cks.convolve(U, V), shift_add(U, V))


def test_small_integers_large_problem_exact(make_rng):
    """Small integer values on a large problem: auto may use an FFT, but the result is exact."""
    rng = make_rng()
    x = rng.integers(-50, 51, (300, 300)).astype(np.int32)
    k = rng.integers(-50, 51, (25, 25)).astype(np.int32)
    exact = shift_add(x.astype(np.int64), k.astype(np.int64)).astype(np.int32)
    exact_by_mode = {"full": exact, "same": exact[12:312, 12:312], "valid": exact[24:300, 24:300]}
    for mode in MODES:
        for fn in ("convolve", "correlate"):
            kk = k if fn == "convolve" else k[::-1, ::-1]
            got = CK_ND[fn](x, kk, mode, method="auto")
            assert got.dtype == np.int32
            assert np.array_equal(got, exact_by_mode[mode]), (fn, mode,
                                                              cks.choose_conv_method(x, kk, mode))
    # 1-d uint8 data: results exceed 255 and wrap modulo 256 whatever the method.
    a = rng.integers(0, 256, 50000, dtype=np.uint8)
    b = rng.integers(0, 256, 600, dtype=np.uint8)
    exact = np.convolve(a.astype(np.int64), b.astype(np.int64))
    for method in METHODS:
        got = cks.convolve(a, b, method=method)
        assert got.dtype == np.uint8
        assert np.array_equal(got, (exact % 256).astype(np.uint8)), method
    # int16 data, int64 accumulation not needed, but int16 results wrap too
    c = rng.integers(-1000, 1000, 20000, dtype=np.int16)
    d = rng.integers(-1000, 1000, 500, dtype=np.int16)
    exact = np.convolve(c.astype(np.int64), d.astype(np.int64))
    for method in METHODS:
        got = cks.correlate(c, d[::-1], method=method)
        assert np.array_equal(got, exact.astype(np.int16)), method


# ---- 6. NaN / Inf -----------------------------------------------------------------------------

def test_nan_inf_auto_matches_direct(make_rng):
    rng = make_rng()
    x = rng.standard_normal((512, 512))
    k = rng.standard_normal((31, 31))
    assert cks.choose_conv_method(x, k) == "fft", "case too small to exercise the NaN rule"
    x[100, 200] = np.nan
    x[300, 50] = np.inf
    x[305, 60] = -np.inf
    assert cks.choose_conv_method(x, k) == "direct"
    for mode in ("same",):
        expected = ss.convolve(x, k, mode, method="direct")
        got = cks.convolve(x, k, mode, method="auto")
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        assert np.array_equal(np.isposinf(got), np.isposinf(expected))
        assert np.array_equal(np.isneginf(got), np.isneginf(expected))
        fin = np.isfinite(expected)
        assert fin.sum() > 0.9 * fin.size
        bound = ss.convolve(np.nan_to_num(np.abs(x), posinf=0), np.abs(k), mode, method="fft")
        err = np.abs(got[fin] - expected[fin]).max()
        assert err <= 1e-12 * bound.max()
    # small: NaN only where direct summation gives NaN, every method that promises it
    a = rng.standard_normal((40, 40))
    a[5, 7] = np.nan
    b = rng.standard_normal((5, 5))
    for fn in CK_ND:
        got = CK_ND[fn](a, b, "full", "auto")
        expected = SCIPY_ND[fn](a, b, "full", method="direct")
        assert np.array_equal(np.isnan(got), np.isnan(expected)), fn


def test_nan_inf_1d_kernel_and_2d(make_rng):
    """NaN/Inf in the kernel of a 1-d problem big enough for an FFT, and NaN/Inf (and a NaN
    fill value) in convolve2d/correlate2d: NaN and Inf exactly where scipy's direct sum has
    them, finite values to 1e-12."""
    rng = make_rng()
    x = rng.standard_normal(100000)
    k = rng.standard_normal(1000)
    assert cks.choose_conv_method(x, k) == "fft", "case too small to exercise the NaN rule"
    k_inf = k.copy()
    k_inf[500] = np.inf
    assert cks.choose_conv_method(x, k_inf) == "direct"
    x[7000] = np.nan
    x[40000] = np.inf
    x[60000] = -np.inf
    assert cks.choose_conv_method(x, k) == "direct"
    for fn in CK_ND:
        for mode in ("full", "valid"):
            expected = SCIPY_ND[fn](x, k, mode, method="direct")
            got = CK_ND[fn](x, k, mode)
            for test in (np.isnan, np.isposinf, np.isneginf):
                assert np.array_equal(test(got), test(expected)), (fn, mode, test.__name__)
            fin = np.isfinite(expected)
            assert np.array_equal(got[fin], got[fin])  # no NaN
            assert np.abs(got[fin] - expected[fin]).max() <= 1e-12 * 1000 * 5 * 5
    for case in range(120):
        fn = ("convolve2d", "correlate2d")[case % 2]
        mode = MODES[(case // 2) % 3]
        boundary = ("fill", "wrap", "symm")[(case // 6) % 3]
        # real data only: with complex Inf the result depends on how the complex products are
        # expanded (inf - inf), which neither scipy nor convkit specify
        d = (np.float64, np.float32)[case % 2]
        a = rand(rng, (int(rng.integers(3, 12)), int(rng.integers(3, 12))), d)
        b = rand(rng, tuple(int(rng.integers(1, min(5, n) + 1)) for n in a.shape), d)
        a.flat[int(rng.integers(a.size))] = (np.nan, np.inf, -np.inf)[case % 3]
        if case % 4 == 0:
            b.flat[int(rng.integers(b.size))] = np.inf
        fill = np.nan if case % 5 == 0 else 1.5
        expected = SCIPY_2D[fn](a, b, mode, boundary, fill)
        got = CK_2D[fn](a, b, mode, boundary, fill)
        ctx = f"case {case}: {fn}({desc(a)}, {desc(b)}, {mode}, {boundary}, {fill})"
        assert got.dtype == expected.dtype and got.shape == expected.shape, ctx
        g, e = got, expected
        for test in (np.isnan, np.isposinf, np.isneginf):
            assert np.array_equal(test(g), test(e)), f"{ctx}: {test.__name__} differs"
        fin = np.isfinite(e)
        if fin.any():
            scale = max(1.0, float(np.abs(e[fin]).max()))
            assert np.abs(g[fin] - e[fin]).max() <= rtol_for(d) * 50 * scale, ctx


def test_inf_in_kernel_1d_matches_np_convolve():
    """scipy 1.10's direct 1-d convolve/correlate is np.convolve/np.correlate, which sums only
    the products of actual elements: an Inf in the kernel gives Inf (or NaN) only where it meets
    a real sample, never 0 * Inf = NaN from the zero padding. (N-d scipy pads with zeros, so
    there 0 * Inf = NaN does appear; that is checked against scipy too.)"""
    x = np.array([1.0, 2.0, 3.0])
    k = np.array([1.0, np.inf])
    for method in ("direct", "auto"):
        got = cks.convolve(x, k, "full", method)
        np.testing.assert_array_equal(got, [1.0, np.inf, np.inf, np.inf], err_msg=method)
        np.testing.assert_array_equal(got, ss.convolve(x, k, "full", "direct"))
        got = cks.correlate(x, k[::-1], "full", method)
        np.testing.assert_array_equal(got, ss.correlate(x, k[::-1], "full", "direct"))
        for mode in ("same", "valid"):
            for fn in CK_ND:
                np.testing.assert_array_equal(CK_ND[fn](x, k, mode, method),
                                              SCIPY_ND[fn](x, k, mode, "direct"),
                                              err_msg=f"{fn} {mode} {method}")
    # N-d with in2 larger ('full'): scipy swaps the inputs, so again no 0 * Inf from padding.
    a2, k2 = np.array([[1.0, 2.0]]), np.array([[1.0, np.inf, 3.0]])
    np.testing.assert_array_equal(ss.convolve(a2, k2, "full", "direct"),
                                  [[1.0, np.inf, np.inf, 6.0]])
    np.testing.assert_array_equal(cks.convolve(a2, k2, "full", "direct"),
                                  ss.convolve(a2, k2, "full", "direct"))
    # N-d, kernel smaller: scipy's _correlateND multiplies its explicit zero padding, so 0 * Inf
    # gives NaN at the border. convkit deliberately treats zero padding as "no term" in
    # convolve/correlate (like np.convolve and scipy's own swapped path), so those outputs are
    # Inf; everywhere else the results agree. (convolve2d/correlate2d, whose fill value is part
    # of the definition, do multiply it: see the next test.)
    X = np.ones((4, 4))
    K = np.ones((2, 2))
    K[0, 0] = np.inf
    for fn in CK_ND:
        for mode in MODES:
            got = CK_ND[fn](X, K, mode, "direct")
            want = SCIPY_ND[fn](X, K, mode, "direct")
            assert not np.isnan(got).any(), (fn, mode)
            agree = ~np.isnan(want)
            np.testing.assert_array_equal(got[agree], want[agree], err_msg=f"{fn} {mode}")
            # where scipy's NaN came only from padding, convkit's sum never meets the Inf tap
            assert np.all(np.isfinite(got[~agree])), (fn, mode)


def test_auto_finds_every_nan_and_inf_in_any_layout(make_rng):
    """auto's NaN/Inf guard scans the inputs line by line (vectorised, in parallel): one
    non-finite value anywhere (any dtype, real or imaginary part, strided or transposed views,
    line ends and scan-block edges) must steer it to direct; none must leave it on fft."""
    rng = make_rng()
    k1 = rng.standard_normal(1000)
    base1 = rng.standard_normal(60000)
    assert cks.choose_conv_method(base1, k1) == "fft", "case too small to exercise the NaN rule"
    k2 = rng.standard_normal((31, 31))
    base2 = rng.standard_normal((300, 2100))
    assert cks.choose_conv_method(base2[:, ::7], k2) == "fft"
    for dtype in (np.float32, np.float64, np.complex64, np.complex128):
        x = base1.astype(dtype)
        k = k1.astype(dtype)
        for i in (0, 1, 1023, 1024, 1025, 30000, 59999):
            for bad in (np.nan, np.inf, -np.inf):
                for part in ((1,) if not np.iscomplexobj(x) else (1, 1j)):
                    y = x.copy()
                    y[i] = bad * part if part == 1 else y[i].real + 1j * bad
                    assert cks.choose_conv_method(y, k) == "direct", (dtype, i, bad, part)
                    assert cks.choose_conv_method(k, y[::-1]) == "direct", (dtype, i, bad, part)
        # 2-d views: strided columns, transposed, both with the bad value at a line end
        x2 = base2.astype(dtype)
        for view in (lambda a: a[:, ::7], lambda a: a.T[::7], lambda a: a[1:-1, 3:]):
            assert cks.choose_conv_method(view(x2), k2.astype(dtype)) == "fft", dtype
            shape = view(x2).shape
            for (r, c) in ((0, 0), (shape[0] - 1, shape[1] - 1), (shape[0] // 2, shape[1] - 1)):
                y2 = x2.copy()
                view(y2)[r, c] = np.nan
                assert cks.choose_conv_method(view(y2), k2.astype(dtype)) == "direct", (dtype, r, c)


def test_inf_in_kernel_2d_not_treated_as_separable():
    """A kernel holding an Inf is not rank-1: convkit's separable (two 1-D passes) shortcut must
    not be taken for it (it turns every output into NaN where scipy has +-Inf)."""
    k = np.arange(16.0).reshape(4, 4) % 7 - 3
    k[2, 3] = np.inf
    a = np.ones((4, 4))
    for fn in CK_2D:
        for mode in MODES:
            for boundary in ("fill", "wrap", "symm"):
                expected = SCIPY_2D[fn](a, k, mode, boundary)
                got = CK_2D[fn](a, k, mode, boundary)
                for test in (np.isnan, np.isposinf, np.isneginf):
                    assert np.array_equal(test(got), test(expected)), \
                        f"{fn}(ones(4, 4), k, {mode}, {boundary}): {test.__name__} differs"
    # convolve/correlate: zero padding is no term (see test_inf_in_kernel_1d_matches_np_convolve),
    # so no NaN at all; Inf exactly where scipy has Inf.
    for fn in CK_ND:
        expected = SCIPY_ND[fn](a, k, "same", "direct")
        got = CK_ND[fn](a, k, "same", "direct")
        assert not np.isnan(got).any(), fn
        for test in (np.isposinf, np.isneginf):
            assert np.array_equal(test(got), test(expected)), f"{fn}: {test.__name__} differs"


def test_array_like_and_byte_order(make_rng):
    """Lists, tuples and scalars are accepted as scipy accepts them; non-native byte order."""
    rng = make_rng()
    assert_matches(cks.convolve([1, 2, 3], [1, 1]), ss.convolve([1, 2, 3], [1, 1]), ctx="lists")
    assert_matches(cks.correlate((1.5, 2, 3j), [1, 2], "same"),
                   ss.correlate((1.5, 2, 3j), [1, 2], "same", "direct"), ctx="tuples")
    assert_matches(cks.convolve2d([[1, 2], [3, 4]], [[1, -1]], "same", "wrap"),
                   ss.convolve2d([[1, 2], [3, 4]], [[1, -1]], "same", "wrap"), ctx="nested")
    assert_matches(cks.fftconvolve([1.0, 2, 3], [0.5, 1]), ss.fftconvolve([1.0, 2, 3], [0.5, 1]),
                   ctx="fft lists")
    for dt in (">f8", ">i4", ">c16", ">u2", ">f4"):
        a = rand(rng, (9, 8), np.dtype(dt).newbyteorder("=")).astype(dt)
        b = rand(rng, (3, 2), np.dtype(dt).newbyteorder("=")).astype(dt)
        an, bn = a.astype(a.dtype.newbyteorder("=")), b.astype(b.dtype.newbyteorder("="))
        for fn in CK_ND:
            got = CK_ND[fn](a, b, "same")
            expected, ref, bound = reference_nd(fn, an, bn, "same")
            assert_matches(got.astype(got.dtype.newbyteorder("=")), expected, ref, bound,
                           f"{fn} {dt}")
        for fn in CK_2D:
            got = CK_2D[fn](a, b, "full", "symm")
            expected, ref, bound = reference_2d(fn, an, bn, "full", "symm", 0)
            assert_matches(got.astype(got.dtype.newbyteorder("=")), expected, ref, bound,
                           f"{fn} {dt}")


# ---- 7. errors --------------------------------------------------------------------------------

def raises_like_scipy(exc, ck_call, sp_call=None, match=None):
    with pytest.raises(exc, match=match):
        ck_call()
    if sp_call is not None:
        with pytest.raises(exc):
            sp_call()


def test_errors_bad_strings():
    a, b = np.ones((4, 4)), np.ones((2, 2))
    for fn in ("convolve", "correlate"):
        for mode in ("ful", "FULL", "", 1, None):
            raises_like_scipy(ValueError, lambda: getattr(cks, fn)(a, b, mode),
                              lambda: getattr(ss, fn)(a, b, mode), match="mode")
        raises_like_scipy(ValueError, lambda: getattr(cks, fn)(a, b, "full", "fastest"),
                          lambda: getattr(ss, fn)(a, b, "full", "fastest"), match="method")
    for fn in ("convolve2d", "correlate2d"):
        for mode in ("ful", 1):
            raises_like_scipy(ValueError, lambda: getattr(cks, fn)(a, b, mode),
                              lambda: getattr(ss, fn)(a, b, mode), match="mode")
        for bnd in ("reflect", "circ", ""):
            raises_like_scipy(ValueError, lambda: getattr(cks, fn)(a, b, "full", bnd),
                              lambda: getattr(ss, fn)(a, b, "full", bnd), match="boundary")
    for fn in ("fftconvolve", "oaconvolve"):
        for mode in ("ful", 1):
            raises_like_scipy(ValueError, lambda: getattr(cks, fn)(a, b, mode),
                              lambda: getattr(ss, fn)(a, b, mode), match="mode")
    with pytest.raises(ValueError, match="mode"):
        cks.choose_conv_method(a, b, "ful")


def test_errors_dimensions_and_valid():
    raises_like_scipy(ValueError, lambda: cks.convolve2d(np.ones(5), np.ones(2)),
                      lambda: ss.convolve2d(np.ones(5), np.ones(2)))
    raises_like_scipy(ValueError, lambda: cks.correlate2d(np.ones((2, 2, 2)), np.ones((2, 2, 2))),
                      lambda: ss.correlate2d(np.ones((2, 2, 2)), np.ones((2, 2, 2))))
    raises_like_scipy(ValueError, lambda: cks.convolve2d(np.ones((3, 3)), np.ones(2)),
                      lambda: ss.convolve2d(np.ones((3, 3)), np.ones(2)))
    for fn in ("convolve", "correlate", "fftconvolve", "oaconvolve"):
        raises_like_scipy(ValueError, lambda: getattr(cks, fn)(np.ones((3, 3)), np.ones(2)),
                          lambda: getattr(ss, fn)(np.ones((3, 3)), np.ones(2)))
    # valid with neither input at least as large as the other in every dimension
    for fn in ("convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve", "oaconvolve"):
        raises_like_scipy(ValueError,
                          lambda: getattr(cks, fn)(np.ones((5, 2)), np.ones((2, 5)), "valid"),
                          lambda: getattr(ss, fn)(np.ones((5, 2)), np.ones((2, 5)), "valid"))
    for method in METHODS:
        with pytest.raises(ValueError):
            cks.convolve(np.ones((5, 2, 3)), np.ones((2, 5, 3)), "valid", method)


def test_errors_dtypes():
    good = np.ones((3, 3))
    bad = [np.ones((3, 3), np.float16), np.ones((3, 3), np.longdouble),
           np.array([[1, 2], [3, 4]], dtype=object), np.array([["a", "b"]]),
           np.array([[b"a"]]), np.ones((2, 2), "datetime64[s]"), np.ones((2, 2), np.clongdouble)]
    for x in bad:
        for fn in ("convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve",
                   "oaconvolve"):
            f = getattr(cks, fn)
            with pytest.raises(TypeError):
                f(x, good)
            with pytest.raises(TypeError):
                f(good, x)
        with pytest.raises(TypeError):
            cks.choose_conv_method(x, good)


def test_errors_fillvalue():
    a, k = np.ones((4, 4)), np.ones((2, 2))
    for fn in CK_2D:
        raises_like_scipy(ValueError, lambda: CK_2D[fn](a, k, fillvalue=[1, 2]),
                          lambda: SCIPY_2D[fn](a, k, fillvalue=[1, 2]))
        raises_like_scipy(ValueError, lambda: CK_2D[fn](a, k, fillvalue=np.ones((2, 2))),
                          lambda: SCIPY_2D[fn](a, k, fillvalue=np.ones((2, 2))))
        for d in (np.float64, np.float32, np.int32, np.uint8):
            ad, kd = a.astype(d), k.astype(d)
            raises_like_scipy(ValueError, lambda: CK_2D[fn](ad, kd, fillvalue=1 + 2j),
                              lambda: SCIPY_2D[fn](ad, kd, fillvalue=1 + 2j))
        # a fillvalue given as a one-element array is a scalar (scipy 1.10 accepts that only for
        # float64/complex128 results; convkit for every dtype)
        expected = SCIPY_2D[fn](a, k, fillvalue=np.array([2.5]))
        assert_matches(CK_2D[fn](a, k, fillvalue=np.array([2.5])), expected, ctx=fn)
        for d in (np.int16, np.float32, np.uint8):
            for fv in (np.array([4]), np.array([[4.0]]), np.array(4)):
                expected = SCIPY_2D[fn](a.astype(d), k.astype(d), "same", "fill", 4)
                assert_matches(CK_2D[fn](a.astype(d), k.astype(d), "same", "fill", fv), expected,
                               ctx=f"{fn} {d.__name__} fillvalue={fv!r}")


def test_errors_empty_inputs():
    for fn in ("convolve", "correlate"):
        for method in METHODS:
            for a, b in [(np.zeros(0), np.ones(3)), (np.ones(3), np.zeros(0)),
                         (np.zeros((0, 2)), np.ones((2, 2))), (np.ones((2, 2)), np.zeros((2, 0)))]:
                with pytest.raises(ValueError):
                    getattr(cks, fn)(a, b, "full", method)
    for fn in CK_2D:
        with pytest.raises(ValueError):
            CK_2D[fn](np.zeros((0, 3)), np.ones((2, 2)))
        with pytest.raises(ValueError):
            CK_2D[fn](np.ones((3, 3)), np.zeros((2, 0)))


def test_errors_axes():
    a, b = np.ones((4, 5, 6)), np.ones((2, 5, 3))
    for fn in CK_FFT:
        f, g = CK_FFT[fn], SCIPY_FFT[fn]
        for axes in (3, -4, [0, 3], [5]):
            raises_like_scipy(ValueError, lambda: f(a, b, axes=axes), lambda: g(a, b, axes=axes))
        for axes in ([0, 0], [2, -1], [0, 2, 2]):
            raises_like_scipy(ValueError, lambda: f(a, b, axes=axes), lambda: g(a, b, axes=axes))
        raises_like_scipy(ValueError, lambda: f(a, b, axes=[]), lambda: g(a, b, axes=[]))
        # axis 2 (6 vs 3) excluded from the axes: incompatible non-axis shapes
        raises_like_scipy(ValueError, lambda: f(a, b, axes=[0]), lambda: g(a, b, axes=[0]))
        raises_like_scipy(ValueError, lambda: f(np.ones((3, 4)), np.ones((2, 5)), axes=0),
                          lambda: g(np.ones((3, 4)), np.ones((2, 5)), axes=0))
        # non-integer axes: scipy raises ValueError; a TypeError is as clear
        with pytest.raises((TypeError, ValueError)):
            f(a, b, axes=1.5)
        with pytest.raises((TypeError, ValueError)):
            f(a, b, axes=["x"])


def test_errors_out():
    a, b = np.ones((6, 7)), np.ones((3, 3))
    calls = {
        "convolve": lambda out: cks.convolve(a, b, out=out),
        "correlate": lambda out: cks.correlate(a, b, "full", "fft", out=out),
        "convolve2d": lambda out: cks.convolve2d(a, b, out=out),
        "correlate2d": lambda out: cks.correlate2d(a, b, boundary="wrap", out=out),
        "fftconvolve": lambda out: cks.fftconvolve(a, b, out=out),
        "oaconvolve": lambda out: cks.oaconvolve(a, b, out=out),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError):
            call(np.empty((8, 8)))                           # wrong shape
        with pytest.raises(ValueError):
            call(np.empty((8 * 9,)))                         # wrong ndim
        with pytest.raises(TypeError):
            call(np.empty((8, 9), np.float32))               # wrong dtype
        with pytest.raises(TypeError):
            call(np.empty((8, 9), np.complex128))            # wrong dtype
        ro = np.empty((8, 9))
        ro.flags.writeable = False
        with pytest.raises(ValueError):
            call(ro)                                         # read-only
        with pytest.raises(TypeError):
            call([[0.0] * 9] * 8)                            # not an ndarray
    # out overlapping an input
    x = np.arange(40.0)
    k = np.ones(3)
    with pytest.raises(ValueError, match="overlap"):
        cks.convolve(x[:20], k, "same", out=x[10:30])
    with pytest.raises(ValueError, match="overlap"):
        cks.convolve(x[:20], k, "same", out=x[:20])
    with pytest.raises(ValueError, match="overlap"):
        cks.correlate(k, x[:20], "same", out=x[2:5])
    big = np.zeros((10, 10))
    with pytest.raises(ValueError, match="overlap"):
        cks.convolve2d(big[:5, :5], np.ones((2, 2)), "same", out=big[::2, ::2])
    with pytest.raises(ValueError, match="overlap"):
        cks.fftconvolve(big[:, :4], np.ones((1, 3)), "same", out=big[:, 3:7])
    # disjoint parts of one buffer are fine
    got = cks.convolve(x[:20], k, "same", out=x[20:40])
    assert got is not None and np.array_equal(x[20:40], np.convolve(np.arange(20.0), k, "same"))


# ---- 8. out=, threads, explain ----------------------------------------------------------------

def test_out_written_and_returned(make_rng):
    rng = make_rng()
    a = rng.standard_normal((12, 10)).astype(np.float32)
    b = rng.standard_normal((4, 3)).astype(np.float32)
    cases = [
        ("convolve", lambda **kw: cks.convolve(a, b, "same", "direct", **kw),
         lambda: ss.convolve(a, b, "same", "direct")),
        ("correlate", lambda **kw: cks.correlate(a, b, "full", "fft", **kw),
         lambda: ss.correlate(a, b, "full", "direct")),
        ("convolve2d", lambda **kw: cks.convolve2d(a, b, "valid", **kw),
         lambda: ss.convolve2d(a, b, "valid")),
        ("correlate2d", lambda **kw: cks.correlate2d(a, b, "same", "symm", **kw),
         lambda: ss.correlate2d(a, b, "same", "symm")),
        ("fftconvolve", lambda **kw: cks.fftconvolve(a, b, "full", **kw),
         lambda: ss.fftconvolve(a, b, "full")),
        ("oaconvolve", lambda **kw: cks.oaconvolve(a, b[:, :1], "same", axes=0, **kw),
         lambda: ss.oaconvolve(a, b[:, :1], "same", axes=0)),
    ]
    for name, ck_call, sp_call in cases:
        expected = ck_call()
        ref = sp_call()
        assert_matches(expected, ref, hi(ref), ctx=name)
        # contiguous out
        out = np.full(expected.shape, np.nan, expected.dtype)
        got = ck_call(out=out)
        assert got is out, name
        assert np.array_equal(out, expected), name
        # strided out inside a bigger buffer: only the view's elements are written
        big = np.full((2 * expected.shape[0] + 1, 3 * expected.shape[1]), -7, expected.dtype)
        view = big[1::2, ::-3]
        got = ck_call(out=view)
        assert np.shares_memory(got, big)
        assert np.array_equal(view, expected), name
        mask = np.ones(big.shape, bool)
        mask[1::2, ::-3] = False
        assert np.all(big[mask] == -7), name
    # integer out for integer data, and a 1-element result
    x = np.arange(10, dtype=np.int16)
    out = np.empty(12, np.int16)
    assert cks.convolve(x, np.array([1, -1, 2], np.int16), out=out) is out
    assert np.array_equal(out, ss.convolve(x, np.array([1, -1, 2], np.int16), method="direct"))


def test_thread_count_determinism(make_rng, restore_threads):
    rng = make_rng()
    x32 = rng.standard_normal((300, 280)).astype(np.float32)
    k32 = rng.standard_normal((17, 15)).astype(np.float32)
    x64 = x32.astype(np.float64)
    k64 = k32.astype(np.float64)
    xc = (x64 + 1j * x64[::-1]).astype(np.complex128)
    calls = [
        lambda: cks.convolve(x32, k32, "same", "direct"),
        lambda: cks.convolve(x32, k32, "same", "fft"),
        lambda: cks.correlate(x64, k64, "full", "direct"),
        lambda: cks.correlate(x64, k64, "full", "fft"),
        lambda: cks.convolve(xc, k64, "valid", "fft"),
        lambda: cks.convolve2d(x64, k64, "same", "symm"),
        lambda: cks.correlate2d(x32, k32, "full", "wrap"),
        lambda: cks.fftconvolve(x64, k64, "same"),
        lambda: cks.oaconvolve(x32, k32, "full"),
        lambda: cks.fftconvolve(x64[:, :1], k64[:5], "full", axes=0),
    ]
    for i, call in enumerate(calls):
        convkit.set_num_threads(1)
        r1 = call()
        convkit.set_num_threads(2)
        r2 = call()
        r2b = call()
        assert r1.dtype == r2.dtype and r1.shape == r2.shape
        assert r1.tobytes() == r2.tobytes(), f"call {i}: 1 vs 2 threads differ"
        assert r2.tobytes() == r2b.tobytes(), f"call {i}: not reproducible with 2 threads"


def test_explain_names_method(make_rng):
    rng = make_rng()
    small = rng.standard_normal(50), rng.standard_normal(3)
    large = rng.standard_normal((512, 512)), rng.standard_normal((31, 31))
    for method in ("direct", "fft"):
        for fn in ("convolve", "correlate"):
            s = cks.explain(fn, *small, "full", method)
            assert isinstance(s, str) and method in s.lower(), s
    s = cks.explain("convolve", *small)
    assert isinstance(s, str) and cks.choose_conv_method(*small) in s.lower()
    s = cks.explain("convolve", *large, "same")
    assert cks.choose_conv_method(*large, "same") in s.lower(), s
    for fn in ("convolve2d", "correlate2d"):
        s = cks.explain(fn, large[0], small[1].reshape(1, 3), "same", "auto", "symm")
        assert isinstance(s, str) and s
    for fn in ("fftconvolve", "oaconvolve"):
        s = cks.explain(fn, *large, "full", "fft")
        assert isinstance(s, str) and "fft" in s.lower()
    assert cks.choose_conv_method(*small) in ("direct", "fft")
    best, times = cks.choose_conv_method(*small, measure=True)
    assert best in ("direct", "fft") and set(times) == {"direct", "fft"}


def test_explain_matches_what_the_call_runs(make_rng):
    # convolve2d/correlate2d take no method and choose automatically: explain says what they
    # run (an FFT for a large kernel) and refuses a method they would ignore.
    rng = make_rng()
    image, kernel = rng.standard_normal((400, 400)), rng.standard_normal((41, 41))
    for fn in ("convolve2d", "correlate2d"):
        assert "method fft" in cks.explain(fn, image, kernel, "same"), fn
        assert "method direct" in cks.explain(fn, image, kernel[:3, :3], "same"), fn
        for method in ("direct", "fft"):
            with pytest.raises(ValueError, match="method.*" + fn + ".*'auto'"):
                cks.explain(fn, image, kernel, "same", method)
    for fn in ("fftconvolve", "oaconvolve"):
        with pytest.raises(ValueError, match="method.*always uses the FFT"):
            cks.explain(fn, image, kernel, "same", "direct")


# ---- 9. hypothesis ----------------------------------------------------------------------------

try:
    from hypothesis import HealthCheck, given, settings, strategies as st
except ImportError:   # only this test needs hypothesis (Debian: python3-hypothesis)
    given = None

_HYP_FUNCS = ["convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve", "oaconvolve"]
_HYP_DTYPES = [np.bool_] + NUM_DTYPES


def _hypothesis_vs_scipy(data):
    fn = data.draw(st.sampled_from(_HYP_FUNCS), "fn")
    ndim = 2 if fn.endswith("2d") else data.draw(st.integers(1, 3), "ndim")
    mode = data.draw(st.sampled_from(MODES), "mode")
    d1 = data.draw(st.sampled_from(_HYP_DTYPES), "d1")
    d2 = data.draw(st.sampled_from(_HYP_DTYPES), "d2")
    if fn.endswith("2d") and d1 is np.bool_ and d2 is np.bool_:
        d2 = np.uint8
    s1 = data.draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim), "s1")
    if mode == "valid":
        s2 = [data.draw(st.integers(1, n), "k") for n in s1]
        if data.draw(st.booleans(), "swap"):
            s1, s2 = s2, s1
    else:
        s2 = data.draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim), "s2")
    seed = data.draw(st.integers(0, 2**32 - 1), "seed")
    rng = np.random.default_rng(seed)
    a, b = rand(rng, s1, d1), rand(rng, s2, d2)
    ctx = f"{fn}({desc(a)}, {desc(b)}, {mode!r}) seed {seed}"
    if fn in CK_ND:
        method = data.draw(st.sampled_from(METHODS), "method")
        got = CK_ND[fn](a, b, mode, method)
        if a.dtype == b.dtype == np.bool_:
            counts = SCIPY_ND[fn](a.astype(np.int64), b.astype(np.int64), mode, method="direct")
            assert_matches(got, counts != 0, ctx=ctx)
        else:
            expected, ref, bound = reference_nd(fn, a, b, mode)
            assert_matches(got, expected, ref, bound, ctx + f" {method}")
    elif fn in CK_2D:
        boundary = data.draw(st.sampled_from(BOUNDARIES), "boundary")
        fill = data.draw(st.sampled_from([0, 1, -2, 0.5]), "fill")
        expected, ref, bound = reference_2d(fn, a, b, mode, boundary, fill)
        assert_matches(CK_2D[fn](a, b, mode, boundary, fill), expected, ref, bound,
                       ctx + f" {boundary} {fill}")
    else:
        if no_fft_axes(s1, s2, None) and not (d1 == d2 and np.dtype(d1).kind in "fc"):
            return   # scipy's in1 * in2 dtype here: test_fft_no_fft_axes_dtype
        expected, ref, bound = reference_fft(fn, a, b, mode, None)
        assert_matches(CK_FFT[fn](a, b, mode), expected, ref, bound, ctx)


if given is not None:
    test_hypothesis_vs_scipy = settings(
        max_examples=200, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow])(given(data=st.data())(_hypothesis_vs_scipy))
else:
    def test_hypothesis_vs_scipy():
        pytest.skip("hypothesis is not installed")
