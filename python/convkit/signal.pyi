# Type stub for convkit.signal (scipy.signal-compatible filtering).
from typing import Dict, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

_Array = npt.ArrayLike
_Mode = Literal["full", "same", "valid"]
_Method = Literal["auto", "direct", "fft"]
_Boundary = Literal["fill", "wrap", "circular", "symm", "symmetric"]
_Axes = Union[None, int, Sequence[int]]

def convolve(in1: _Array, in2: _Array, mode: _Mode = ..., method: _Method = ..., *,
             out: Optional[np.ndarray] = ...) -> np.ndarray: ...
def correlate(in1: _Array, in2: _Array, mode: _Mode = ..., method: _Method = ..., *,
              out: Optional[np.ndarray] = ...) -> np.ndarray: ...
def convolve2d(in1: _Array, in2: _Array, mode: _Mode = ..., boundary: _Boundary = ...,
               fillvalue: Union[complex, _Array] = ..., *,
               out: Optional[np.ndarray] = ...) -> np.ndarray: ...
def correlate2d(in1: _Array, in2: _Array, mode: _Mode = ..., boundary: _Boundary = ...,
                fillvalue: Union[complex, _Array] = ..., *,
                out: Optional[np.ndarray] = ...) -> np.ndarray: ...
def fftconvolve(in1: _Array, in2: _Array, mode: _Mode = ..., axes: _Axes = ..., *,
                out: Optional[np.ndarray] = ...) -> np.ndarray: ...
def oaconvolve(in1: _Array, in2: _Array, mode: _Mode = ..., axes: _Axes = ..., *,
               out: Optional[np.ndarray] = ...) -> np.ndarray: ...
@overload
def choose_conv_method(in1: _Array, in2: _Array, mode: _Mode = ...,
                       measure: Literal[False] = ...) -> str: ...
@overload
def choose_conv_method(in1: _Array, in2: _Array, mode: _Mode,
                       measure: Literal[True]) -> Tuple[str, Dict[str, float]]: ...
def explain(function: str, in1: _Array, in2: _Array, mode: _Mode = ..., method: _Method = ...,
            boundary: _Boundary = ...) -> str: ...
