# Type stub for convkit's public Python API.
from typing import Literal, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import signal as signal

_Array = npt.ArrayLike
_IntOrSeq = Union[int, Sequence[int]]
_Padding = Union[int, Sequence[int], Sequence[Tuple[int, int]], Literal["same", "valid"]]
_PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
_Grad = Literal["x", "weight", "bias"]

__version__: str

def conv1d(x: _Array, weight: _Array, bias: Optional[_Array] = ..., stride: _IntOrSeq = ...,
           padding: _Padding = ..., dilation: _IntOrSeq = ..., groups: int = ...,
           padding_mode: _PaddingMode = ..., layout: Literal["NCW", "NWC"] = ...,
           algorithm: str = ..., out: Optional[np.ndarray] = ...,
           activation: Optional[Literal["relu"]] = ...) -> np.ndarray: ...
def conv2d(x: _Array, weight: _Array, bias: Optional[_Array] = ..., stride: _IntOrSeq = ...,
           padding: _Padding = ..., dilation: _IntOrSeq = ..., groups: int = ...,
           padding_mode: _PaddingMode = ..., layout: Literal["NCHW", "NHWC"] = ...,
           algorithm: str = ..., out: Optional[np.ndarray] = ...,
           activation: Optional[Literal["relu"]] = ...) -> np.ndarray: ...
def conv3d(x: _Array, weight: _Array, bias: Optional[_Array] = ..., stride: _IntOrSeq = ...,
           padding: _Padding = ..., dilation: _IntOrSeq = ..., groups: int = ...,
           padding_mode: _PaddingMode = ..., layout: Literal["NCDHW", "NDHWC"] = ...,
           algorithm: str = ..., out: Optional[np.ndarray] = ...,
           activation: Optional[Literal["relu"]] = ...) -> np.ndarray: ...

_Grads = Tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]

def conv1d_backward(grad_output: _Array, x: _Array, weight: _Array, stride: _IntOrSeq = ...,
                    padding: _Padding = ..., dilation: _IntOrSeq = ..., groups: int = ...,
                    padding_mode: _PaddingMode = ..., layout: Literal["NCW", "NWC"] = ...,
                    compute: Union[_Grad, Sequence[_Grad]] = ..., algorithm: str = ...) -> _Grads: ...
def conv2d_backward(grad_output: _Array, x: _Array, weight: _Array, stride: _IntOrSeq = ...,
                    padding: _Padding = ..., dilation: _IntOrSeq = ..., groups: int = ...,
                    padding_mode: _PaddingMode = ..., layout: Literal["NCHW", "NHWC"] = ...,
                    compute: Union[_Grad, Sequence[_Grad]] = ..., algorithm: str = ...) -> _Grads: ...
def conv3d_backward(grad_output: _Array, x: _Array, weight: _Array, stride: _IntOrSeq = ...,
                    padding: _Padding = ..., dilation: _IntOrSeq = ..., groups: int = ...,
                    padding_mode: _PaddingMode = ..., layout: Literal["NCDHW", "NDHWC"] = ...,
                    compute: Union[_Grad, Sequence[_Grad]] = ..., algorithm: str = ...) -> _Grads: ...

def conv_transpose1d(x: _Array, weight: _Array, bias: Optional[_Array] = ..., stride: _IntOrSeq = ...,
                     padding: Union[int, Sequence[int], Sequence[Tuple[int, int]]] = ...,
                     output_padding: _IntOrSeq = ..., groups: int = ..., dilation: _IntOrSeq = ...,
                     layout: Literal["NCW", "NWC"] = ..., algorithm: str = ...,
                     out: Optional[np.ndarray] = ...) -> np.ndarray: ...
def conv_transpose2d(x: _Array, weight: _Array, bias: Optional[_Array] = ..., stride: _IntOrSeq = ...,
                     padding: Union[int, Sequence[int], Sequence[Tuple[int, int]]] = ...,
                     output_padding: _IntOrSeq = ..., groups: int = ..., dilation: _IntOrSeq = ...,
                     layout: Literal["NCHW", "NHWC"] = ..., algorithm: str = ...,
                     out: Optional[np.ndarray] = ...) -> np.ndarray: ...
def conv_transpose3d(x: _Array, weight: _Array, bias: Optional[_Array] = ..., stride: _IntOrSeq = ...,
                     padding: Union[int, Sequence[int], Sequence[Tuple[int, int]]] = ...,
                     output_padding: _IntOrSeq = ..., groups: int = ..., dilation: _IntOrSeq = ...,
                     layout: Literal["NCDHW", "NDHWC"] = ..., algorithm: str = ...,
                     out: Optional[np.ndarray] = ...) -> np.ndarray: ...

def conv_output_size(input_size: int, kernel_size: int, stride: int = ...,
                     padding: Union[int, Tuple[int, int]] = ..., dilation: int = ...) -> int: ...
def get_output_dim(input_dim: int, kernel_dim: int, padding: int, stride: int) -> int: ...
def explain(x: _Array, weight: _Array, stride: _IntOrSeq = ..., padding: _Padding = ...,
            dilation: _IntOrSeq = ..., groups: int = ..., padding_mode: _PaddingMode = ...,
            layout: Optional[str] = ...,
            direction: Literal["forward", "backward_data", "backward_weights", "backward_bias"] = ...,
            algorithm: str = ...) -> str: ...
class PackedConv:
    algorithm: str
    nbytes: int
    input_shape: Tuple[int, ...]
    output_shape: Tuple[int, ...]
    dtype: np.dtype
    def __call__(self, x: _Array, bias: Optional[_Array] = ..., out: Optional[np.ndarray] = ...,
                 activation: Optional[Literal["relu"]] = ...) -> np.ndarray: ...
    def explain(self) -> str: ...

def pack_weights(weight: _Array, input_shape: Sequence[int], stride: _IntOrSeq = ...,
                 padding: _Padding = ..., dilation: _IntOrSeq = ..., groups: int = ...,
                 padding_mode: _PaddingMode = ..., layout: Optional[str] = ...,
                 algorithm: str = ..., direct_summation_only: bool = ...) -> PackedConv: ...
def algorithms() -> list[str]: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...

class _ConvNd:
    weight: np.ndarray
    bias: Optional[np.ndarray]
    grad_weight: Optional[np.ndarray]
    grad_bias: Optional[np.ndarray]
    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntOrSeq,
                 stride: _IntOrSeq = ..., padding: _Padding = ..., dilation: _IntOrSeq = ...,
                 groups: int = ..., bias: bool = ..., padding_mode: _PaddingMode = ...,
                 dtype: npt.DTypeLike = ..., seed: Optional[int] = ...,
                 layout: Optional[str] = ...) -> None: ...
    def forward(self, x: _Array) -> np.ndarray: ...
    def __call__(self, x: _Array) -> np.ndarray: ...
    def backward(self, grad_output: _Array) -> np.ndarray: ...

class Conv1d(_ConvNd): ...
class Conv2d(_ConvNd): ...
class Conv3d(_ConvNd): ...
def set_workspace_limit(nbytes: Optional[int]) -> None: ...
def get_workspace_limit() -> Optional[int]: ...
def set_flush_denormal(on: bool) -> bool: ...
def get_flush_denormal() -> bool: ...
