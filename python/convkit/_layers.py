"""Layer objects in the notebook's idiom: forward keeps a cache, backward returns grad_x.

Initialisation follows PyTorch's defaults: weight and bias uniform in ±1/sqrt(fan_in), with
fan_in = in_channels/groups · prod(kernel_size).
"""
from __future__ import annotations

import math

import numpy as np


class _ConvNd:
    _nd = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=np.float32, seed=None,
                 layout=None, direct_summation_only=False):
        from . import _int, _ints  # late import: the package imports this module
        nd = self._nd
        in_channels = _int(in_channels, "in_channels")
        out_channels = _int(out_channels, "out_channels")
        groups = _int(groups, "groups")
        if in_channels < 1 or out_channels < 1 or groups < 1:
            raise ValueError(f"in_channels, out_channels, groups: got {in_channels}, "
                             f"{out_channels}, {groups}; expected values >= 1")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups: got {groups}, which must divide in_channels "
                             f"({in_channels}) and out_channels ({out_channels})")
        k = _ints(kernel_size, "kernel_size")
        if len(k) == 1:
            k = k * nd
        if len(k) != nd or any(v < 1 for v in k):
            raise ValueError(f"kernel_size: got {kernel_size!r}, expected {nd} sizes >= 1")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype: got {dtype}, expected float32 or float64")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, tuple(k)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.padding_mode = padding_mode
        self.layout = layout
        self.direct_summation_only = direct_summation_only
        rng = np.random.default_rng(seed)
        fan_in = in_channels // groups * math.prod(k)
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = rng.uniform(-bound, bound, (out_channels, in_channels // groups, *k)).astype(dtype)
        self.bias = rng.uniform(-bound, bound, out_channels).astype(dtype) if bias else None
        self.grad_weight = None
        self.grad_bias = None
        self._cache = None

    def _kwargs(self):
        from . import _DEFAULT_LAYOUT
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode,
                    layout=self.layout or _DEFAULT_LAYOUT[self._nd])

    def forward(self, x):
        """The layer's output for x; keeps (x, weight) for backward."""
        from . import _conv
        kw = self._kwargs()
        y = _conv(self._nd, x, self.weight, self.bias, kw["stride"], kw["padding"],
                  kw["dilation"], kw["groups"], kw["padding_mode"], kw["layout"], "auto", None,
                  None, self.direct_summation_only)
        self._cache = (x, self.weight)
        return y

    __call__ = forward

    def backward(self, grad_output):
        """grad_x for grad_output; sets .grad_weight and .grad_bias (None without bias)."""
        from . import _backward
        if self._cache is None:
            raise RuntimeError("backward called before forward")
        x, w = self._cache
        kw = self._kwargs()
        compute = ("x", "weight", "bias") if self.bias is not None else ("x", "weight")
        gx, gw, gb = _backward(self._nd, grad_output, x, w, kw["stride"], kw["padding"],
                               kw["dilation"], kw["groups"], kw["padding_mode"], kw["layout"],
                               compute, "auto", self.direct_summation_only)
        self.grad_weight, self.grad_bias = gw, gb
        return gx

    def __repr__(self):
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, groups={self.groups}, bias={self.bias is not None}, "
                f"padding_mode={self.padding_mode!r}, dtype={self.weight.dtype})")


class Conv1d(_ConvNd):
    """1-D convolution layer: forward(x) with x (N, C, W); backward(grad_output) → grad_x."""
    _nd = 1


class Conv2d(_ConvNd):
    """2-D convolution layer: forward(x) with x (N, C, H, W); backward(grad_output) → grad_x."""
    _nd = 2


class Conv3d(_ConvNd):
    """3-D convolution layer: forward(x) with x (N, C, D, H, W); backward(grad_output) → grad_x."""
    _nd = 3
