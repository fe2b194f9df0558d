"""Bad input: every mistake raises ValueError/TypeError (MemoryError when memory runs out) naming the argument, never crashes."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import convkit as ck

R = np.random.default_rng(5)
X1 = R.standard_normal((2, 3, 9))
W1 = R.standard_normal((4, 3, 3))
X2 = R.standard_normal((2, 3, 9, 8))
W2 = R.standard_normal((4, 3, 3, 3))
B = R.standard_normal(4)
GY2 = R.standard_normal((2, 4, 7, 6))
X3 = R.standard_normal((2, 3, 5, 6, 4))
W3 = R.standard_normal((4, 3, 3, 3, 3))
WT2 = R.standard_normal((3, 2, 3, 3))      # transposed: (C_in, C_out/groups, kH, kW)


def conv2d(**kw):
    return lambda: ck.conv2d(**{"x": X2, "weight": W2, **kw})


def conv1d(**kw):
    return lambda: ck.conv1d(**{"x": X1, "weight": W1, **kw})


def conv3d(**kw):
    return lambda: ck.conv3d(**{"x": X3, "weight": W3, **kw})


def backward2d(**kw):
    return lambda: ck.conv2d_backward(**{"grad_output": GY2, "x": X2, "weight": W2, **kw})


def transpose2d(**kw):
    return lambda: ck.conv_transpose2d(**{"x": X2, "weight": WT2, **kw})


V = ValueError
T = TypeError
VT = (ValueError, TypeError)

# (id, call, exception type(s), regex that the message must contain: the argument's name)
CASES = [
    # channels, groups, bias
    ("channels mismatch", conv2d(weight=R.standard_normal((4, 2, 3, 3))), V, r"weight|in_channels"),
    ("channels mismatch 1d", conv1d(weight=R.standard_normal((4, 5, 3))), V, r"weight|in_channels"),
    ("channels mismatch 3d", conv3d(weight=R.standard_normal((4, 1, 3, 3, 3))), V,
     r"weight|in_channels"),
    ("channels mismatch NHWC", conv2d(x=X2.transpose(0, 2, 3, 1)[..., :2], layout="NHWC"), V,
     r"weight|in_channels"),
    ("groups not dividing in_channels", conv2d(weight=R.standard_normal((4, 1, 3, 3)), groups=2),
     V, r"groups"),
    ("groups not dividing out_channels",
     lambda: ck.conv2d(R.standard_normal((1, 4, 5, 5)), R.standard_normal((3, 2, 3, 3)), groups=2),
     V, r"groups"),
    ("groups zero", conv2d(groups=0), V, r"groups"),
    ("groups negative", conv2d(groups=-3), V, r"groups"),
    ("groups float", conv2d(groups=1.0), T, r"groups"),
    ("groups transposed not dividing", transpose2d(groups=2), V, r"groups"),
    ("groups transposed zero", transpose2d(groups=0), V, r"groups"),
    ("bias wrong length", conv2d(bias=np.ones(3)), V, r"bias"),
    ("bias too long", conv2d(bias=np.ones(5)), V, r"bias"),
    ("bias 2-d", conv2d(bias=np.ones((4, 1))), V, r"bias"),
    ("bias scalar", conv2d(bias=np.float64(1.0)), V, r"bias"),
    ("bias transposed wrong length", transpose2d(bias=np.ones(3)), V, r"bias"),
    ("bias complex", conv2d(bias=B.astype(complex)), T, r"bias"),
    # stride, dilation
    ("stride zero", conv2d(stride=0), V, r"stride"),
    ("stride negative", conv2d(stride=-1), V, r"stride"),
    ("stride zero in one dim", conv2d(stride=(1, 0)), V, r"stride"),
    ("stride too many values", conv2d(stride=(1, 2, 3)), V, r"stride"),
    ("stride 3 values for 1d", conv1d(stride=(1, 1)), V, r"stride"),
    ("stride float", conv2d(stride=1.5), T, r"stride"),
    ("stride bool", conv2d(stride=True), T, r"stride"),
    ("stride string", conv2d(stride="2"), T, r"stride"),
    ("stride zero 3d", conv3d(stride=(1, 1, 0)), V, r"stride"),
    ("stride zero transposed", transpose2d(stride=0), V, r"stride"),
    ("stride zero backward", backward2d(stride=0), V, r"stride"),
    ("dilation zero", conv2d(dilation=0), V, r"dilation"),
    ("dilation negative", conv2d(dilation=(1, -2)), V, r"dilation"),
    ("dilation zero 1d", conv1d(dilation=0), V, r"dilation"),
    ("dilation zero transposed", transpose2d(dilation=0), V, r"dilation"),
    ("dilation zero backward", backward2d(dilation=0), V, r"dilation"),
    ("dilation float", conv2d(dilation=2.0), T, r"dilation"),
    # padding
    ("padding negative", conv2d(padding=-1), V, r"padding"),
    ("padding negative in one dim", conv2d(padding=(0, -1)), V, r"padding"),
    ("padding negative pair", conv2d(padding=((0, 0), (-1, 2))), V, r"padding"),
    ("padding negative transposed", transpose2d(padding=-1), V, r"padding"),
    ("padding negative backward", backward2d(padding=-1), V, r"padding"),
    ("padding negative 3d", conv3d(padding=(0, 0, -2)), V, r"padding"),
    ("padding too many values", conv2d(padding=(1, 1, 1)), V, r"padding"),
    ("padding triple in a pair", conv2d(padding=((1, 2, 3), (0, 0))), V, r"padding"),
    ("padding float", conv2d(padding=1.5), T, r"padding"),
    ("padding None", conv2d(padding=None), VT, r"padding"),
    ("padding unknown string", conv2d(padding="full"), V, r"padding"),
    ("padding 'SAME' (case)", conv2d(padding="SAME"), V, r"padding"),
    ("padding 'same' transposed", transpose2d(padding="same"), V, r"padding"),
    ("padding unknown string backward", backward2d(padding="causal"), V, r"padding"),
    # kernel larger than the padded input
    ("kernel larger than input", conv2d(weight=R.standard_normal((4, 3, 10, 3))), V,
     r"kernel"),
    ("kernel larger than padded input", conv2d(weight=R.standard_normal((4, 3, 12, 3)), padding=1),
     V, r"kernel"),
    ("dilated kernel larger than input", conv2d(dilation=5), V, r"kernel|dilat"),
    ("kernel larger than input 1d", conv1d(weight=R.standard_normal((4, 3, 10))), V, r"kernel"),
    ("kernel larger than input valid", conv2d(weight=R.standard_normal((4, 3, 3, 9)),
                                              padding="valid"), V, r"kernel"),
    ("kernel larger backward", backward2d(weight=R.standard_normal((4, 3, 10, 3))), V, r"kernel"),
    ("kernel of size 0", conv2d(weight=R.standard_normal((4, 3, 0, 3))), V, r"kernel"),
    ("input of size 0", conv2d(x=X2[:, :, :0], padding=2), V, r"input|x"),
    ("transposed output empty", transpose2d(padding=6), V, r"padding|output|empty"),
    # ndim
    ("x 3-d for conv2d", conv2d(x=X2[0]), V, r"\bx\b"),
    ("x 5-d for conv2d", conv2d(x=X2[None]), V, r"\bx\b"),
    ("x 1-d for conv1d", conv1d(x=X1[0, 0]), V, r"\bx\b"),
    ("x scalar", conv2d(x=np.float64(3)), V, r"\bx\b"),
    ("weight 3-d for conv2d", conv2d(weight=W2[0]), V, r"weight"),
    ("weight 5-d for conv2d", conv2d(weight=W2[None]), V, r"weight"),
    ("weight 4-d for conv3d", conv3d(weight=W3[..., 0]), V, r"weight"),
    ("x ndim transposed", transpose2d(x=X2[0]), V, r"\bx\b"),
    ("weight ndim transposed", transpose2d(weight=WT2[0]), V, r"weight"),
    ("grad_output ndim", backward2d(grad_output=GY2[0]), V, r"grad_output"),
    ("grad_output shape", backward2d(grad_output=GY2[:, :, :6]), V, r"grad_output"),
    ("grad_output channels", backward2d(grad_output=np.ones((2, 3, 7, 6))), V, r"grad_output"),
    ("grad_output batch", backward2d(grad_output=GY2[:1]), V, r"grad_output"),
    # names
    ("padding_mode unknown", conv2d(padding_mode="mirror"), V, r"padding_mode"),
    ("padding_mode wrong case", conv2d(padding_mode="Zeros"), V, r"padding_mode"),
    ("padding_mode numpy name", conv2d(padding_mode="wrap"), V, r"padding_mode"),
    ("padding_mode unknown backward", backward2d(padding_mode="edge"), V, r"padding_mode"),
    ("layout unknown", conv2d(layout="CHWN"), V, r"layout"),
    ("layout of 1-d for 2-d", conv2d(layout="NCW"), V, r"layout"),
    ("layout of 3-d for 2-d", conv2d(layout="NDHWC"), V, r"layout"),
    ("layout lower case", conv2d(layout="nchw"), V, r"layout"),
    ("layout of 2-d for 1-d", conv1d(layout="NHWC"), V, r"layout"),
    ("layout unknown transposed", transpose2d(layout="NWC"), V, r"layout"),
    ("layout unknown backward", backward2d(layout="HWCN"), V, r"layout"),
    ("algorithm unknown", conv2d(algorithm="fft"), V, r"algorithm"),
    ("algorithm unknown transposed", transpose2d(algorithm="winograd-ish"), V, r"algorithm"),
    ("algorithm unknown backward", backward2d(algorithm="nope"), V, r"algorithm"),
    ("compute unknown", backward2d(compute=("x", "input")), V, r"compute"),
    # dtypes
    ("x complex", conv2d(x=X2.astype(np.complex128)), T, r"\bx\b"),
    ("weight complex64", conv2d(weight=W2.astype(np.complex64)), T, r"weight"),
    ("x object", conv2d(x=X2.astype(object)), T, r"\bx\b"),
    ("x str", conv2d(x=X2.astype(str)), T, r"\bx\b"),
    ("weight bytes", conv2d(weight=W2.astype("S4")), T, r"weight"),
    ("x datetime", conv2d(x=X2.astype("datetime64[s]")), T, r"\bx\b"),
    ("x structured", conv2d(x=np.zeros(X2.shape, dtype=[("a", "f8")])), T, r"\bx\b"),
    ("grad_output complex", backward2d(grad_output=GY2.astype(complex)), T, r"grad_output"),
    ("x complex transposed", transpose2d(x=X2.astype(complex)), T, r"\bx\b"),
    ("x list of str", lambda: ck.conv1d([[["a", "b", "c"]]], [[[1.0]]]), T, r"\bx\b"),
    # output_padding
    ("output_padding == stride", transpose2d(stride=2, output_padding=2), V, r"output_padding"),
    ("output_padding > stride", transpose2d(stride=2, output_padding=(0, 3)), V,
     r"output_padding"),
    ("output_padding with stride 1", transpose2d(output_padding=1), V, r"output_padding"),
    ("output_padding == dilation > stride", transpose2d(stride=1, dilation=3, output_padding=3),
     V, r"output_padding"),
    ("output_padding negative", transpose2d(stride=2, output_padding=-1), V, r"output_padding"),
    ("output_padding too many values", transpose2d(stride=2, output_padding=(1, 1, 1)), V,
     r"output_padding"),
    ("output_padding float", transpose2d(stride=2, output_padding=0.5), T, r"output_padding"),
    # arguments of the wrong kind altogether
    ("x None", conv2d(x=None), VT, r"\bx\b"),
    ("weight None", conv2d(weight=None), VT, r"weight"),
    ("padding_mode None", conv2d(padding_mode=None), VT, r"padding_mode"),
    ("algorithm None", conv2d(algorithm=None), VT, r"algorithm"),
    ("layout int", conv2d(layout=4), VT, r"layout"),
    ("stride beyond int64", conv2d(stride=2**64), VT, r"stride"),
    ("padding beyond int64", conv2d(padding=-2**70), VT, r"padding"),
    # conv_output_size / get_output_dim
    ("conv_output_size empty output", lambda: ck.conv_output_size(2, 3), V, r"kernel|empty"),
    ("conv_output_size empty with dilation", lambda: ck.conv_output_size(5, 3, dilation=3), V,
     r"kernel|empty"),
    ("conv_output_size empty despite padding",
     lambda: ck.conv_output_size(2, 6, padding=(1, 2)), V, r"kernel|empty"),
    ("conv_output_size input 0", lambda: ck.conv_output_size(0, 1), V, r"input"),
    ("conv_output_size kernel 0", lambda: ck.conv_output_size(5, 0), V, r"kernel"),
    ("conv_output_size stride 0", lambda: ck.conv_output_size(5, 1, stride=0), V, r"stride"),
    ("conv_output_size dilation 0", lambda: ck.conv_output_size(5, 2, dilation=0), V,
     r"dilation"),
    ("conv_output_size padding -1", lambda: ck.conv_output_size(5, 1, padding=-1), V,
     r"padding"),
    ("conv_output_size padding triple", lambda: ck.conv_output_size(5, 1, padding=(1, 2, 3)), V,
     r"padding"),
    ("conv_output_size float", lambda: ck.conv_output_size(5.0, 3), T, r"input_size"),
    ("get_output_dim empty", lambda: ck.get_output_dim(2, 5, 0, 1), V, r"kernel|empty"),
    ("get_output_dim stride 0", lambda: ck.get_output_dim(4, 4, 1, 0), V, r"stride"),
    # threads and explain
    ("set_num_threads 0", lambda: ck.set_num_threads(0), V, r"thread"),
    ("set_num_threads negative", lambda: ck.set_num_threads(-2), V, r"thread"),
    ("set_num_threads float", lambda: ck.set_num_threads(2.0), T, r"\bn\b|thread"),
    ("explain direction", lambda: ck.explain(X2, W2, direction="sideways"), V, r"direction"),
    ("explain ndim", lambda: ck.explain(X2[0, 0], W2), V, r"\bx\b"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_naming_argument(call, exc, pattern):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert msg.strip(), "empty error message"
    # The message names the argument (and stays readable: no dump of the arrays given).
    assert re.search(pattern, msg), f"message does not name the argument ({pattern}): {msg[:300]}"
    assert len(msg) < 600, f"message of {len(msg)} characters: {msg[:300]}..."


def test_same_call_is_fine_when_corrected():
    """Guards the table: its baseline arrays are valid, so each case fails for its own reason."""
    assert ck.conv1d(X1, W1).shape == (2, 4, 7)
    assert ck.conv2d(X2, W2, B).shape == (2, 4, 7, 6)
    assert ck.conv3d(X3, W3).shape == (2, 4, 3, 4, 2)
    assert [g.shape for g in ck.conv2d_backward(GY2, X2, W2)] == [X2.shape, W2.shape, (4,)]
    assert ck.conv_transpose2d(X2, WT2, stride=2, output_padding=1).shape == (2, 2, 20, 18)
    assert ck.conv_transpose2d(X2, WT2, stride=1, dilation=3, output_padding=2).shape == (2, 2, 17, 16)
    assert ck.conv2d(X2, W2, padding=((0, 0), (1, 2))).shape == (2, 4, 7, 9)
    assert ck.conv_output_size(2, 6, padding=(2, 2)) == 1


def test_empty_batch_is_handled_cleanly():
    """A batch of 0 (torch returns an empty result) gives an empty result of the right shape,
    or else a ValueError that names the batch / x — not an error about some internal array."""
    x = np.ones((0, 3, 5, 5))
    w = np.ones((2, 3, 3, 3))
    calls = {
        "conv2d": (lambda: ck.conv2d(x, w), (0, 2, 3, 3)),
        "conv2d_backward": (lambda: ck.conv2d_backward(np.ones((0, 2, 3, 3)), x, w)[0], x.shape),
        "conv_transpose2d": (lambda: ck.conv_transpose2d(x, np.ones((3, 2, 3, 3))), (0, 2, 7, 7)),
    }
    problems = []
    for name, (call, shape) in calls.items():
        try:
            y = call()
        except ValueError as e:
            if not any(word in str(e) for word in ("batch", "x:", "x ")):
                problems.append(f"{name}: ValueError not naming the batch or x: {e}")
        else:
            if y.shape != shape:
                problems.append(f"{name}: shape {y.shape}, expected {shape}")
    assert not problems, "\n".join(problems)


def test_layer_constructor_errors():
    with pytest.raises(ValueError, match="groups"):
        ck.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size"):
        ck.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="kernel_size"):
        ck.Conv1d(3, 4, 0)
    with pytest.raises(ValueError, match="in_channels"):
        ck.Conv2d(0, 4, 3)
    with pytest.raises(TypeError, match="dtype"):
        ck.Conv2d(3, 4, 3, dtype=np.int32)
    with pytest.raises(TypeError, match="in_channels"):
        ck.Conv2d(3.0, 4, 3)
    layer = ck.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding_mode"):
        layer.forward(np.ones((1, 3, 5, 5), np.float32))


# ---- sizes that overflow or exhaust memory: run in a child process --------------------------
# A crash (segfault, abort) or a hang must fail the test, not take pytest down; the child gets
# a 4 GiB address-space limit so that a real allocation attempt fails fast with MemoryError.

_CHILD = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    import numpy as np
    import convkit as ck
    bt = np.broadcast_to
    code = sys.argv[1]
    try:
        r = eval(code)
    except BaseException as e:
        print(json.dumps({"exc": type(e).__name__, "msg": str(e)[:500]}))
    else:
        shape = getattr(r, "shape", None) or [getattr(a, "shape", None) for a in r]
        print(json.dumps({"exc": None, "result": repr(shape)}))
""")

HUGE = [
    # the brief's example: 2**60 elements with a 3x3 kernel (float32: numpy cannot even
    # describe 2**63 bytes of float64, so the float64 case uses half of it)
    ("huge input f32", "ck.conv2d(bt(np.float32(1), (1, 1, 2**30, 2**30)), np.ones((1, 1, 3, 3), np.float32))"),
    ("huge input f64", "ck.conv2d(bt(np.float64(1), (1, 1, 2**30, 2**29)), np.ones((1, 1, 3, 3)))"),
    ("huge input 3x3 bias", "ck.conv2d(bt(np.float64(1), (1, 1, 2**30, 2**29)), np.ones((1, 1, 3, 3)), np.ones(1))"),
    ("huge input backward", "ck.conv2d_backward(bt(np.float32(1), (1, 1, 2**30 - 2, 2**30 - 2)), "
                            "bt(np.float32(1), (1, 1, 2**30, 2**30)), np.ones((1, 1, 3, 3), np.float32))"),
    ("huge input backward weights only", "ck.conv2d_backward(bt(np.float32(1), (1, 1, 2**30 - 2, 2**30 - 2)), "
     "bt(np.float32(1), (1, 1, 2**30, 2**30)), np.ones((1, 1, 3, 3), np.float32), compute='weight')"),
    ("huge input 3d", "ck.conv3d(bt(np.float32(1), (1, 1, 2**20, 2**20, 2**20)), np.ones((1, 1, 3, 3, 3), np.float32))"),
    ("huge input 1d many channels", "ck.conv1d(bt(np.float32(1), (1, 2**31, 2**29)), bt(np.float32(1), (2**20, 2**31, 1)))"),
    ("huge channels", "ck.conv2d(bt(np.float64(1), (2**20, 2**20, 2**10, 1)), bt(np.float64(1), (2**20, 2**20, 1, 1)))"),
    ("huge padding", "ck.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), padding=2**62)"),
    ("huge padding pairs", "ck.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), padding=((2**62, 2**62), (0, 0)))"),
    ("huge padding product", "ck.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), padding=2**40)"),
    ("huge padding reflect", "ck.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), padding=2**40, padding_mode='reflect')"),
    ("huge dilation", "ck.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), dilation=2**62)"),
    ("huge dilation backward", "ck.conv2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), dilation=2**62)"),
    ("huge transposed stride", "ck.conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=2**62)"),
    ("huge transposed output", "ck.conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=2**40)"),
    ("huge transposed dilation", "ck.conv_transpose1d(np.ones((1, 1, 4)), np.ones((1, 1, 3)), dilation=2**62)"),
    ("huge transposed groups", "ck.conv_transpose2d(np.ones((1, 2, 4, 4)), np.ones((2, 3, 3, 3)), groups=2**62)"),
    ("huge transposed channels", "ck.conv_transpose1d(np.ones((1, 2, 4)), bt(np.float64(1), (2, 2**62, 3)), groups=2)"),
    ("conv_output_size overflow", "ck.conv_output_size(2**62, 1, padding=2**62)"),
    ("conv_output_size dilation overflow", "ck.conv_output_size(5, 3, dilation=2**62)"),
    ("conv_output_size int64 max", "ck.conv_output_size(2**63 - 1, 2**63 - 1, stride=2**63 - 1, padding=(2**63 - 1, 0))"),
    # arithmetic fits, memory does not (32 GiB result): MemoryError, not a crash
    ("result too large for memory", "ck.conv2d(bt(np.float64(1), (1, 1, 2**16, 2**16)), np.ones((1, 1, 3, 3)))"),
    ("gradient too large for memory", "ck.conv2d_backward(bt(np.float64(1), (1, 1, 2**16 - 2, 2**16 - 2)), "
                                      "bt(np.float64(1), (1, 1, 2**16, 2**16)), np.ones((1, 1, 3, 3)), compute='x')"),
]


def _child_env():
    env = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(ck.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([pkg_root] + [p for p in sys.path if p])
    env["CONVKIT_NUM_THREADS"] = "2"
    return env


@pytest.mark.parametrize("code", [h[1] for h in HUGE], ids=[h[0] for h in HUGE])
def test_huge_sizes_raise_cleanly(code):
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, code], capture_output=True, text=True,
                              timeout=120, env=_child_env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"no error after 120 s (it is computing or allocating instead): {code}")
    assert proc.returncode == 0, (f"the process died (exit code {proc.returncode}): {code}\n"
                                  f"stderr: {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["exc"] in ("ValueError", "MemoryError"), (
        f"{code}\n  got {report}")
    assert report.get("msg"), f"empty message: {code}"


def test_out_overlapping_an_input_is_refused():
    # The result is written while the inputs are read: an out= on top of x (or the weights)
    # would silently give a wrong answer, so it is an error naming both.
    x = np.random.default_rng(0).standard_normal((1, 8, 6, 6)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((8, 8, 1, 1)).astype(np.float32)
    with pytest.raises(ValueError, match=r"output.*overlaps.*\bx\b"):
        ck.conv2d(x, w, out=x)
    buf = np.zeros(64 + 288, np.float32)
    w_in_buf = buf[:64].reshape(8, 8, 1, 1)
    w_in_buf[...] = w
    with pytest.raises(ValueError, match=r"output.*overlaps.*weight"):
        ck.conv2d(x, w_in_buf, out=buf[10:10 + 288].reshape(1, 8, 6, 6))
    y = ck.conv2d(x, w, out=np.empty_like(x))    # a separate array is fine
    np.testing.assert_allclose(y, np.einsum("kc,nchw->nkhw", w[:, :, 0, 0], x), rtol=1e-5, atol=1e-5)
