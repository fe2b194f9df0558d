"""convkit — fast, exact convolution for NumPy arrays.

CNN convolutions with PyTorch's semantics (cross-correlation; weights (K, C/groups, *kernel)):
forward, backward and transposed, for 1, 2 and 3 spatial dimensions, channels-first or
channels-last, float32 and float64. Results are bitwise identical for any thread count.

This file only normalises arguments (ints vs tuples, dtype promotion) and documents the API;
every check and every computation happens in the compiled library.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from . import _convkit
from . import signal  # scipy.signal-compatible filtering: convkit.signal.convolve2d, ...
from ._layers import Conv1d, Conv2d, Conv3d

__all__ = [
    "conv1d", "conv2d", "conv3d",
    "conv1d_backward", "conv2d_backward", "conv3d_backward",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "conv_output_size", "get_output_dim", "explain", "algorithms", "algorithm_is_approximate",
    "pack_weights", "PackedConv",
    "set_num_threads", "get_num_threads", "set_workspace_limit", "get_workspace_limit",
    "set_flush_denormal", "get_flush_denormal",
    "Conv1d", "Conv2d", "Conv3d", "signal",
]
__version__ = "0.1.0"

_DEFAULT_LAYOUT = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def _int(v, name):
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name}: got {v!r}, expected an int")
    try:
        i = operator.index(v)
    except TypeError:
        raise TypeError(f"{name}: got {v!r} of type {type(v).__name__}, expected an int") from None
    if not _INT64_MIN <= i <= _INT64_MAX:
        raise ValueError(f"{name}: got {i}, which does not fit in a 64-bit integer")
    return i


def _str(v, name):
    if not isinstance(v, str):
        raise TypeError(f"{name}: got {v!r} of type {type(v).__name__}, expected a string")
    return v


def _bool(v, name):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name}: got {v!r} of type {type(v).__name__}, expected True or False")
    return bool(v)


def _ints(v, name):
    """An int or a sequence of ints → list of ints (the library broadcasts one value)."""
    if isinstance(v, (str, bytes)):
        raise TypeError(f"{name}: got {v!r}, expected an int or a tuple of ints")
    if isinstance(v, (Sequence, np.ndarray)):
        if len(v) == 0:
            raise ValueError(f"{name}: got an empty sequence, expected an int or one int per "
                             "spatial dimension")
        return [_int(e, name) for e in v]
    return [_int(v, name)]


def _padding(padding):
    """→ (kind, pairs): kind 'same', 'valid' or 'explicit' with (before, after) pairs."""
    if isinstance(padding, str):
        if padding in ("same", "valid"):
            return padding, []
        raise ValueError(f"padding: got {padding!r}, expected 'same', 'valid', an int, a tuple "
                         "of ints or a tuple of (before, after) pairs")
    if isinstance(padding, (Sequence, np.ndarray)) and len(padding) == 0:
        raise ValueError("padding: got an empty sequence, expected an int, one int per spatial "
                         "dimension, or one (before, after) pair per spatial dimension")
    if isinstance(padding, (Sequence, np.ndarray)) and len(padding) > 0 and all(
            isinstance(e, (Sequence, np.ndarray)) and not isinstance(e, str) for e in padding):
        pairs = []
        for e in padding:
            if len(e) != 2:
                raise ValueError(f"padding: got {tuple(e)!r}, expected a (before, after) pair")
            pairs.append((_int(e[0], "padding"), _int(e[1], "padding")))
        return "explicit", pairs
    return "explicit", [(p, p) for p in _ints(padding, "padding")]


def _check_numeric(a, name):
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: got dtype {a.dtype}, expected a real numeric dtype "
                        "(float32 and float64 are used as they are, others become float64)")


def _prepare(named, optional=("bias",)):
    """Arrays as float32 when all are float32, else float64; strides usable by the library."""
    for k, v in named.items():
        if v is None and k not in optional:
            raise TypeError(f"{k}: got None, expected an array")
    arrays = {k: (None if v is None else np.asarray(v)) for k, v in named.items()}
    for k, a in arrays.items():
        if a is not None:
            _check_numeric(a, k)
    present = [a for a in arrays.values() if a is not None]
    dtype = np.float32 if all(a.dtype == np.float32 for a in present) else np.float64
    out = {}
    for k, a in arrays.items():
        if a is None:
            out[k] = None
            continue
        a = a.astype(dtype, copy=False)
        if any(s % a.itemsize for s in a.strides):
            a = np.ascontiguousarray(a)
        out[k] = a
    return out


def _layout(layout, nd):
    return _DEFAULT_LAYOUT[nd] if layout is None else _str(layout, "layout")


def _out(out):
    if out is not None and not isinstance(out, np.ndarray):
        raise TypeError(f"out: got {type(out).__name__}, expected a numpy.ndarray")
    return out


def _activation(activation):
    if activation is None:
        return "none"
    if activation not in ("relu", "none"):
        raise ValueError(f"activation: got {activation!r}, expected None or 'relu'")
    return activation


def _conv(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode, layout,
          algorithm, out, activation=None, direct_summation_only=False):
    a = _prepare({"x": x, "weight": weight, "bias": bias})
    kind, pairs = _padding(padding)
    return _convkit.conv_forward(nd, a["x"], a["weight"], a["bias"], _ints(stride, "stride"),
                                 kind, pairs, _ints(dilation, "dilation"), _int(groups, "groups"),
                                 _str(padding_mode, "padding_mode"), _layout(layout, nd),
                                 _str(algorithm, "algorithm"), _out(out), _activation(activation),
                                 _bool(direct_summation_only, "direct_summation_only"))


_CONV_DOC = """{nd}-D convolution (cross-correlation, as in PyTorch's conv{nd}d).

    x: ({x_shape}) array, or channels-last ({x_last}) with layout="{last}".
    weight: (out_channels, in_channels/groups, {k}) array.
    bias: optional (out_channels,) array.
    stride, dilation: int or one int per spatial dimension (>= 1).
    padding: int, one int per dimension, one (before, after) pair per dimension, "same"
        (TensorFlow's rule, also for stride > 1: output = ceil(input / stride), the odd pad at
        the end) or "valid" (no padding).
    groups: number of channel groups (in_channels and out_channels divisible by it).
    padding_mode: "zeros", "reflect", "replicate" or "circular" (numpy.pad's 'constant',
        'reflect', 'edge', 'wrap'; pads larger than the input repeat periodically).
    layout: "{first}" (default) or "{last}".
    algorithm: "auto" or the name of an algorithm (see convkit.algorithms()).
    out: optional array of the result's shape and dtype to write into.
    activation: None or "relu": max(y, 0) applied as each output is written (fused, no
        second pass; NaN stays NaN as in torch.relu).
    direct_summation_only: when True, "auto" never picks an approximate algorithm (Winograd,
        see algorithm_is_approximate): every output is summed directly, and integer-valued
        float data gives exact results.

    float32 inputs give float32; any other numeric input (or a mix) is computed in float64.
    Returns the result as a new array (or `out`). Raises ValueError / TypeError on bad input.
    """


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
           layout="NCW", algorithm="auto", out=None, activation=None, direct_summation_only=False):
    return _conv(1, x, weight, bias, stride, padding, dilation, groups, padding_mode, layout,
                 algorithm, out, activation, direct_summation_only)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
           layout="NCHW", algorithm="auto", out=None, activation=None, direct_summation_only=False):
    return _conv(2, x, weight, bias, stride, padding, dilation, groups, padding_mode, layout,
                 algorithm, out, activation, direct_summation_only)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
           layout="NCDHW", algorithm="auto", out=None, activation=None, direct_summation_only=False):
    return _conv(3, x, weight, bias, stride, padding, dilation, groups, padding_mode, layout,
                 algorithm, out, activation, direct_summation_only)


conv1d.__doc__ = _CONV_DOC.format(nd=1, x_shape="N, C, W", x_last="N, W, C", first="NCW",
                                  last="NWC", k="kW")
conv2d.__doc__ = _CONV_DOC.format(nd=2, x_shape="N, C, H, W", x_last="N, H, W, C", first="NCHW",
                                  last="NHWC", k="kH, kW")
conv3d.__doc__ = _CONV_DOC.format(nd=3, x_shape="N, C, D, H, W", x_last="N, D, H, W, C",
                                  first="NCDHW", last="NDHWC", k="kD, kH, kW")

_GRADS = ("x", "weight", "bias")


def _backward(nd, grad_output, x, weight, stride, padding, dilation, groups, padding_mode,
              layout, compute, algorithm, direct_summation_only=False):
    if isinstance(compute, str):
        compute = (compute,)
    compute = tuple(compute)
    for c in compute:
        if c not in _GRADS:
            raise ValueError(f"compute: got {c!r}, expected a subset of {_GRADS}")
    a = _prepare({"grad_output": grad_output, "x": x, "weight": weight})
    kind, pairs = _padding(padding)
    return _convkit.conv_backward(nd, a["grad_output"], a["x"], a["weight"],
                                  _ints(stride, "stride"), kind, pairs,
                                  _ints(dilation, "dilation"), _int(groups, "groups"),
                                  _str(padding_mode, "padding_mode"), _layout(layout, nd),
                                  "x" in compute, "weight" in compute, "bias" in compute,
                                  _str(algorithm, "algorithm"),
                                  _bool(direct_summation_only, "direct_summation_only"))


_BACKWARD_DOC = """Gradients of conv{nd}d: (grad_x, grad_weight, grad_bias).

    grad_output: gradient of the loss with respect to conv{nd}d's result.
    x, weight and the convolution parameters: as given to conv{nd}d (the notebook's cache).
    compute: which gradients to compute, a subset of ("x", "weight", "bias"); the others are
        returned as None.
    algorithm: "auto" or the name of an algorithm (see convkit.algorithms()).
    direct_summation_only: when True, "auto" never picks an approximate algorithm (Winograd
        serves grad_x of 3x3 stride-1 float32 layers otherwise; see algorithm_is_approximate).
    """


def conv1d_backward(grad_output, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    padding_mode="zeros", layout="NCW", compute=_GRADS, algorithm="auto",
                    direct_summation_only=False):
    return _backward(1, grad_output, x, weight, stride, padding, dilation, groups, padding_mode,
                     layout, compute, algorithm, direct_summation_only)


def conv2d_backward(grad_output, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    padding_mode="zeros", layout="NCHW", compute=_GRADS, algorithm="auto",
                    direct_summation_only=False):
    return _backward(2, grad_output, x, weight, stride, padding, dilation, groups, padding_mode,
                     layout, compute, algorithm, direct_summation_only)


def conv3d_backward(grad_output, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    padding_mode="zeros", layout="NCDHW", compute=_GRADS, algorithm="auto",
                    direct_summation_only=False):
    return _backward(3, grad_output, x, weight, stride, padding, dilation, groups, padding_mode,
                     layout, compute, algorithm, direct_summation_only)


for _nd, _f in ((1, conv1d_backward), (2, conv2d_backward), (3, conv3d_backward)):
    _f.__doc__ = _BACKWARD_DOC.format(nd=_nd)


def _transpose(nd, x, weight, bias, stride, padding, output_padding, groups, dilation, layout,
               algorithm, out, direct_summation_only=False):
    a = _prepare({"x": x, "weight": weight, "bias": bias})
    kind, pairs = _padding(padding)
    if kind != "explicit":
        raise ValueError(f"padding: got {padding!r}; transposed convolution takes explicit "
                         "padding (an int, a tuple, or (before, after) pairs)")
    return _convkit.conv_transpose(nd, a["x"], a["weight"], a["bias"], _ints(stride, "stride"),
                                   pairs, _ints(output_padding, "output_padding"),
                                   _int(groups, "groups"), _ints(dilation, "dilation"),
                                   _layout(layout, nd), _str(algorithm, "algorithm"), _out(out),
                                   _bool(direct_summation_only, "direct_summation_only"))


_TRANSPOSE_DOC = """{nd}-D transposed convolution (PyTorch's conv_transpose{nd}d).

    x: (N, C_in, *spatial) array (or channels-last with the matching layout).
    weight: (C_in, C_out/groups, *kernel) array. bias: optional (C_out,) array.
    padding: the padding of the matching forward convolution (int, per dimension, or pairs).
    output_padding: extra size at the end of each dimension, 0 <= output_padding <
        max(stride, dilation); it picks among the output sizes that the forward convolution
        maps to the same input size.
    The result size is (in − 1)·stride − pad_before − pad_after + dilation·(k − 1) +
    output_padding + 1 per dimension.
    direct_summation_only: when True, "auto" never picks an approximate algorithm (Winograd
        serves 3x3 stride-1 float32 layers otherwise; see algorithm_is_approximate).
    """


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, layout="NCW", algorithm="auto", out=None,
                     direct_summation_only=False):
    return _transpose(1, x, weight, bias, stride, padding, output_padding, groups, dilation,
                      layout, algorithm, out, direct_summation_only)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, layout="NCHW", algorithm="auto", out=None,
                     direct_summation_only=False):
    return _transpose(2, x, weight, bias, stride, padding, output_padding, groups, dilation,
                      layout, algorithm, out, direct_summation_only)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, layout="NCDHW", algorithm="auto", out=None,
                     direct_summation_only=False):
    return _transpose(3, x, weight, bias, stride, padding, output_padding, groups, dilation,
                      layout, algorithm, out, direct_summation_only)


for _nd, _f in ((1, conv_transpose1d), (2, conv_transpose2d), (3, conv_transpose3d)):
    _f.__doc__ = _TRANSPOSE_DOC.format(nd=_nd)


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a convolution along one dimension.

    floor((input + pad_before + pad_after − dilation·(kernel − 1) − 1) / stride) + 1, where
    padding is an int (both sides) or a (before, after) pair. Raises ValueError when an
    argument is out of range or the output would be empty.
    """
    if isinstance(padding, (Sequence, np.ndarray)) and not isinstance(padding, str):
        if len(padding) != 2:
            raise ValueError(f"padding: got {padding!r}, expected an int or a (before, after) pair")
        before, after = _int(padding[0], "padding"), _int(padding[1], "padding")
    else:
        before = after = _int(padding, "padding")
    return _convkit.conv_output_size(_int(input_size, "input_size"),
                                     _int(kernel_size, "kernel_size"), _int(stride, "stride"),
                                     before, after, _int(dilation, "dilation"))


def get_output_dim(input_dim, kernel_dim, padding, stride):
    """The notebook's helper: (input + 2·padding − kernel) // stride + 1."""
    return conv_output_size(input_dim, kernel_dim, stride=stride, padding=padding)


def explain(x, weight, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
            layout=None, direction="forward", algorithm="auto", direct_summation_only=False):
    """Which algorithm convkit runs for this convolution and why (a one-line string).

    direction: "forward", "backward_data", "backward_weights" or "backward_bias".
    """
    a = _prepare({"x": x, "weight": weight})
    nd = a["x"].ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"x: got {a['x'].ndim} dimensions, expected 3, 4 or 5")
    kind, pairs = _padding(padding)
    return _convkit.explain(nd, _str(direction, "direction"), a["x"], a["weight"],
                            _ints(stride, "stride"), kind, pairs, _ints(dilation, "dilation"),
                            _int(groups, "groups"), _str(padding_mode, "padding_mode"),
                            _layout(layout, nd), _str(algorithm, "algorithm"),
                            _bool(direct_summation_only, "direct_summation_only"))


class PackedConv:
    """A forward convolution whose weights were prepared once (see pack_weights).

    Calling it, packed(x, bias=None, out=None, activation=None), gives exactly what
    conv{1,2,3}d(x, weight, bias, ...) gives with the packed weight and the same arguments
    (bitwise), for x of `input_shape` and `dtype`. It holds a snapshot of the weight: later
    changes to the weight array do not reach it. Immutable; usable from several threads.
    Attributes: algorithm, nbytes (memory held), input_shape, output_shape, dtype; explain().
    """

    __slots__ = ("_impl",)

    def __init__(self, impl):
        self._impl = impl

    def __call__(self, x, bias=None, out=None, activation=None):
        dtype = np.dtype(self._impl.dtype)
        a = np.asarray(x)
        _check_numeric(a, "x")
        if a.dtype.kind != "f":
            a = a.astype(dtype)
        if any(s % a.itemsize for s in a.strides):
            a = np.ascontiguousarray(a)
        if bias is not None:
            bias = np.asarray(bias)
            _check_numeric(bias, "bias")
            bias = np.ascontiguousarray(bias, dtype=dtype)
        return self._impl.forward(a, bias, _out(out), _activation(activation))

    @property
    def algorithm(self):
        return self._impl.algorithm

    @property
    def nbytes(self):
        return self._impl.nbytes

    @property
    def input_shape(self):
        return tuple(self._impl.input_shape)

    @property
    def output_shape(self):
        return tuple(self._impl.output_shape)

    @property
    def dtype(self):
        return np.dtype(self._impl.dtype)

    def explain(self):
        """Which algorithm runs and why (as convkit.explain)."""
        return self._impl.explain()

    def __repr__(self):
        return (f"PackedConv(input_shape={self.input_shape}, output_shape={self.output_shape}, "
                f"dtype={self.dtype}, algorithm={self.algorithm!r}, nbytes={self.nbytes})")


def pack_weights(weight, input_shape, stride=1, padding=0, dilation=1, groups=1,
                 padding_mode="zeros", layout=None, algorithm="auto",
                 direct_summation_only=False):
    """Prepares `weight` once for many forward convolutions of inputs shaped `input_shape`.

    The arguments are conv{1,2,3}d's (the number of spatial dimensions is weight.ndim - 2);
    input_shape is the full shape of x in `layout` (batch included). Returns a PackedConv:
    packed(x, bias=None, out=None, activation=None) is the forward convolution. The plan's
    algorithm keeps what it precomputes from the weights (Winograd: the transformed filters,
    which otherwise cost about a third of a small layer's time on every call). float32
    weights stay float32 (x must then be float32 too); other numeric weights become float64.
    """
    w = _prepare({"weight": weight}, optional=())["weight"]
    nd = w.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"weight: got {w.ndim} dimensions, expected 3, 4 or 5 "
                         "(out_channels, in_channels/groups, *kernel)")
    shape = _ints(input_shape, "input_shape")
    kind, pairs = _padding(padding)
    return PackedConv(_convkit.pack_weights(
        nd, w, shape, _ints(stride, "stride"), kind, pairs, _ints(dilation, "dilation"),
        _int(groups, "groups"), _str(padding_mode, "padding_mode"), _layout(layout, nd),
        _str(algorithm, "algorithm"), _bool(direct_summation_only, "direct_summation_only")))


def algorithms():
    """Names of convkit's convolution algorithms, in the order "auto" tries them."""
    return list(_convkit.algorithm_names())


def algorithm_is_approximate(name):
    """Whether the named algorithm may differ from direct summation by more than its rounding.

    Only "winograd" is (Winograd F(4x4, 3x3) for float32 3x3 stride-1 convolutions). Every
    output y (before the bias) satisfies |y - exact| <= 2**-24 * 2304 * (C + 32) * max|x| *
    max|w_k| (C input channels per group, w_k the output channel's filter); on random data the
    error is about 2**-24 * 25 * max|x| * sum|w_k|. Its grad_weight (F(3x3, 4x4)) satisfies
    |dw - exact| <= 2**-24 * 2845 * (T + 32) * max|x| * max|grad_output|, T = N * (ceil(OH/4)
    + 2*dh) * (ceil(OW/4) + 2*dw). "auto" may choose it unless direct_summation_only=True.
    NaN/Inf inputs give exactly the direct algorithms' results.
    """
    return bool(_convkit.algorithm_is_approximate(_str(name, "name")))


def set_num_threads(n: int) -> None:
    """Sets how many threads convkit uses (default: CONVKIT_NUM_THREADS, else all cores)."""
    _convkit.set_num_threads(_int(n, "n"))


def get_num_threads() -> int:
    """The number of threads convkit uses."""
    return _convkit.get_num_threads()


def set_workspace_limit(nbytes: int | None) -> None:
    """Caps the extra memory one convolution or filter may use (bytes, all threads; None: no cap).

    Automatic choices skip algorithms that need more; an explicitly requested algorithm or
    method that needs more raises MemoryError naming both sizes. The initial value comes from
    the environment variable CONVKIT_WORKSPACE_LIMIT. Applies to calls made afterwards.
    """
    _convkit.set_workspace_limit(-1 if nbytes is None else _int(nbytes, "nbytes"))


def get_workspace_limit() -> int | None:
    """The workspace cap in bytes, or None when there is none."""
    v = _convkit.get_workspace_limit()
    return None if v < 0 else v


def set_flush_denormal(on: bool) -> bool:
    """Opt-in: convkit's threads flush denormal numbers to zero (x86 FTZ/DAZ), like
    torch.set_flush_denormal. Denormal inputs then cost no more than normal ones; values below
    the smallest normal number (1.2e-38 for float32) become 0. Returns True (supported)."""
    if not isinstance(on, (bool, np.bool_)):
        raise TypeError(f"on: got {on!r}, expected a bool")
    return _convkit.set_flush_denormal(bool(on))


def get_flush_denormal() -> bool:
    """Whether set_flush_denormal(True) is in effect."""
    return _convkit.get_flush_denormal()

