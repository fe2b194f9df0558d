"""convkit.signal — scipy.signal's convolution family, exact and fast.

Drop-in replacements for ``scipy.signal.convolve``, ``correlate``, ``convolve2d``,
``correlate2d``, ``fftconvolve``, ``oaconvolve`` and ``choose_conv_method``: the same
signatures, output shapes, result dtypes and values (scipy 1.10 semantics), plus ``out=``
to write into an existing array and ``explain`` to see what runs and why.

Differences from scipy, all on the side of correctness:

* integer results are exact: ``method="auto"`` sends integer data through an FFT only when a
  bound proves that rounding recovers the exact value, and never sends NaN/Inf through one;
* bool inputs work in every dimension (scipy supports them only in 1-D);
* empty inputs raise a clear ``ValueError`` in ``convolve``/``correlate``/``convolve2d``
  (scipy raises an obscure broadcasting error or returns a zero-filled array);
* float16 and long double are not supported (``TypeError``);
* in ``convolve``/``correlate`` zero padding is no term at all (as in ``np.convolve``): an Inf in
  the kernel gives Inf, not ``0 * Inf = NaN``, at the border (scipy's N-d direct path multiplies
  its explicit zero padding). ``convolve2d``/``correlate2d`` multiply their ``fillvalue`` as scipy
  does.

'same' centring: the output has ``in1``'s shape and is the slice of the 'full' output that
starts at ``(K - 1) // 2`` along an axis with kernel length K, except ``correlate2d``, which
starts at ``K // 2``::

    K = 4, full output f0 f1 f2 f3 f4 f5 ...
    convolve / correlate / convolve2d / fftconvolve 'same':  f1 f2 f3 ...
    correlate2d 'same':                                      f2 f3 f4 ...

This file only normalises arguments; every check and computation is in the C++ library.
"""
from __future__ import annotations

import operator
import timeit

import numpy as np

from . import _convkit

__all__ = ["convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve", "oaconvolve",
           "choose_conv_method", "explain"]


def _array(a, name):
    a = np.asarray(a)
    if a.dtype.kind not in "biufc":
        raise TypeError(f"{name}: dtype {a.dtype} is not supported; expected bool, an integer "
                        "type, float32, float64, complex64 or complex128")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if any(s % a.itemsize for s in a.strides):
        a = np.ascontiguousarray(a)
    return a


def _name(v, what, accepted):
    if not isinstance(v, str):
        raise ValueError(f"{what}: got {v!r}, expected one of {accepted}")
    return v


_MODES = "'full', 'same' or 'valid'"


def _out(out):
    if out is not None and not isinstance(out, np.ndarray):
        raise TypeError(f"out: got {type(out).__name__}, expected a numpy.ndarray")
    return out


def _call(fn, in1, in2, mode="full", method="auto", boundary="fill", fillvalue=0j, axes=(),
          out=None):
    return _convkit.signal_call(fn, in1, in2, _name(mode, "mode", _MODES),
                                _name(method, "method", "'auto', 'direct' or 'fft'"),
                                _name(boundary, "boundary", "'fill', 'wrap' or 'symm'"),
                                complex(fillvalue), list(axes), _out(out))


def convolve(in1, in2, mode="full", method="auto", *, out=None):
    """Convolve two N-dimensional arrays (scipy.signal.convolve)."""
    in1, in2 = _array(in1, "in1"), _array(in2, "in2")
    if in1.ndim == in2.ndim == 0:
        return in1 * in2
    return _call("convolve", in1, in2, mode, method, out=out)


def correlate(in1, in2, mode="full", method="auto", *, out=None):
    """Cross-correlate two N-dimensional arrays (scipy.signal.correlate); conjugates in2."""
    in1, in2 = _array(in1, "in1"), _array(in2, "in2")
    if in1.ndim == in2.ndim == 0:
        return in1 * in2.conj()
    return _call("correlate", in1, in2, mode, method, out=out)


def _fill(fillvalue):
    f = np.asarray(fillvalue)
    if f.size != 1:
        raise ValueError(f"fillvalue: got an array of {f.size} elements, expected a scalar or an "
                         "array with one element")
    if f.dtype.kind not in "biufc":
        raise TypeError(f"fillvalue: dtype {f.dtype} is not numeric")
    return complex(f.reshape(()).item())


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, *, out=None):
    """Convolve two 2-D arrays with a boundary rule (scipy.signal.convolve2d)."""
    in1, in2 = _array(in1, "in1"), _array(in2, "in2")
    return _call("convolve2d", in1, in2, mode, "direct", boundary, _fill(fillvalue), out=out)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, *, out=None):
    """Cross-correlate two 2-D arrays with a boundary rule (scipy.signal.correlate2d)."""
    in1, in2 = _array(in1, "in1"), _array(in2, "in2")
    return _call("correlate2d", in1, in2, mode, "direct", boundary, _fill(fillvalue), out=out)


def _axes(axes, ndim):
    if axes is None:
        return []
    if np.ndim(axes) == 0:
        axes = [axes]
    try:
        axes = [operator.index(a) for a in axes]
    except TypeError:
        raise TypeError(f"axes: got {axes!r}, expected an int or a sequence of ints") from None
    if not axes:
        raise ValueError("axes: when provided, axes cannot be empty")
    return axes


def _fft(fn, in1, in2, mode, axes, out):
    in1, in2 = _array(in1, "in1"), _array(in2, "in2")
    if in1.ndim == in2.ndim == 0:
        return in1 * in2
    if in1.ndim != in2.ndim:
        raise ValueError(f"in1 and in2 should have the same dimensionality: in1 has shape "
                         f"{in1.shape}, in2 has shape {in2.shape}")
    if in1.size == 0 or in2.size == 0:
        return np.array([])
    axes = _axes(axes, in1.ndim)
    mode = _name(mode, "mode", _MODES)
    _convkit.signal_output(fn, list(in1.shape), list(in2.shape), mode, axes)  # validates
    norm = [a % in1.ndim for a in axes] if axes else range(in1.ndim)
    if all(in1.shape[a] == 1 or in2.shape[a] == 1 for a in norm):
        # No axis needs a transform: scipy returns the broadcast product in NumPy's result
        # dtype (uint8 stays uint8 and wraps), centred to in1's shape for 'same'.
        ret = in1 * in2
        if mode == "same":
            start = [(r - s) // 2 for r, s in zip(ret.shape, in1.shape)]
            ret = ret[tuple(slice(b, b + s) for b, s in zip(start, in1.shape))]
        if out is not None:
            np.copyto(_out(out), ret, casting="no")
            return out
        return ret.copy()
    return _call(fn, in1, in2, mode, "fft", axes=axes, out=out)


def fftconvolve(in1, in2, mode="full", axes=None, *, out=None):
    """Convolve N-d arrays by FFT over `axes` (scipy.signal.fftconvolve)."""
    return _fft("fftconvolve", in1, in2, mode, axes, out)


def oaconvolve(in1, in2, mode="full", axes=None, *, out=None):
    """Convolve N-d arrays by overlap-add FFT over `axes` (scipy.signal.oaconvolve)."""
    return _fft("oaconvolve", in1, in2, mode, axes, out)


def choose_conv_method(in1, in2, mode="full", measure=False):
    """'direct' or 'fft': what convolve(in1, in2, mode, method='auto') uses.

    With measure=True, times both and returns (fastest, {"direct": s, "fft": s}) as scipy does.
    """
    in1, in2 = _array(in1, "in1"), _array(in2, "in2")
    if measure:
        times = {}
        for m in ("fft", "direct"):
            t = timeit.Timer(lambda: convolve(in1, in2, mode=mode, method=m))
            n, total = t.autorange()
            times[m] = min(t.repeat(3, n)) / n
        return ("fft" if times["fft"] < times["direct"] else "direct"), times
    if in1.ndim == in2.ndim == 0:
        return "direct"
    return _convkit.signal_choose(in1, in2, _name(mode, "mode", _MODES))


def explain(function, in1, in2, mode="full", method="auto", boundary="fill"):
    """A sentence saying which engine, kernel or FFT tiling a call runs, and why."""
    in1, in2 = _array(in1, "in1"), _array(in2, "in2")
    return _convkit.signal_explain(_name(function, "function", "a function name"), in1, in2,
                                   _name(mode, "mode", _MODES), method, boundary)
