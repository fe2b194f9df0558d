"""The notebook, with convkit: output size, conv layer forward and backward, a 2-D filter.

Run with ./scripts/demo (it builds convkit first).
"""
import time

import numpy as np
import scipy.signal

import convkit

np.set_printoptions(precision=8, suppress=True)


def rel_error(x, y):
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


print("== 1. Output size: (input + 2*padding - kernel) / stride + 1 ==")
print("get_output_dim(4, 4, padding=1, stride=2) =", convkit.get_output_dim(4, 4, 1, 2))
print("conv_output_size(224, 7, stride=2, padding=3) =", convkit.conv_output_size(224, 7, 2, 3))

print("\n== 2. Conv layer forward (x: 2x3x4x4, w: 3x3x4x4, stride 2, pad 1) ==")
x = np.linspace(-0.1, 0.5, num=96).reshape(2, 3, 4, 4)
w = np.linspace(-0.2, 0.3, num=144).reshape(3, 3, 4, 4)
b = np.linspace(-0.1, 0.2, num=3)
out = convkit.conv2d(x, w, b, stride=2, padding=1)
correct_out = np.array([[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                         [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                         [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
                        [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                         [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                         [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]])
print(out)
print("difference from the notebook's numbers (relative):", rel_error(out, correct_out))
print(convkit.explain(x, w, stride=2, padding=1))

print("\n== 3. Conv layer backward, checked against numerical gradients ==")
rng = np.random.default_rng(231)
x = rng.standard_normal((4, 3, 5, 5))
w = rng.standard_normal((2, 3, 3, 3))
b = rng.standard_normal(2)
dout = rng.standard_normal((4, 2, 5, 5))
dx, dw, db = convkit.conv2d_backward(dout, x, w, stride=1, padding=1)


def numeric_grad(f, a, df, h=1e-5):
    grad = np.zeros_like(a)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = a[i]
        a[i] = old + h
        pos = f()
        a[i] = old - h
        neg = f()
        a[i] = old
        grad[i] = np.sum((pos - neg) * df) / (2 * h)
    return grad


fwd = lambda: convkit.conv2d(x, w, b, stride=1, padding=1)
print("dx error:", rel_error(dx, numeric_grad(fwd, x, dout)))
print("dw error:", rel_error(dw, numeric_grad(fwd, w, dout)))
print("db error:", rel_error(db, numeric_grad(fwd, b, dout)))

print("\n== 4. A 2-D filter: CNN 'convolution' is cross-correlation ==")
from convkit import signal  # scipy.signal's convolve/correlate family, exact and fast

A = np.zeros((6, 6), dtype=np.int64)
A[:3] = 10
k = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
print("image A (rows of 10 then rows of 0):\n", A)
corr = signal.correlate2d(A, k, mode="valid")
print("convkit.signal.correlate2d (cross-correlation, what a CNN computes), valid:\n", corr)
conv = signal.convolve2d(A, k, mode="valid")
print("convkit.signal.convolve2d (flips the kernel: true convolution), valid:\n", conv)
print("dtype", conv.dtype, "| same magnitude, opposite sign:", np.array_equal(corr, -conv))
print("equal to scipy.signal.correlate2d / convolve2d:",
      np.array_equal(corr, scipy.signal.correlate2d(A, k, mode="valid")),
      np.array_equal(conv, scipy.signal.convolve2d(A, k, mode="valid")))
cnn = convkit.conv2d(A[None, None], k[None, None])[0, 0]
print("the CNN layer convkit.conv2d gives the correlation:", np.array_equal(cnn, corr))
img = rng.standard_normal((2160, 3840)).astype(np.float32)
blur = np.outer(*[np.exp(-0.5 * ((np.arange(7) - 3) / 1.5) ** 2)] * 2).astype(np.float32)
blur /= blur.sum()
out = signal.convolve2d(img, blur, mode="same", boundary="symm")
t = time.perf_counter()
for _ in range(5):
    signal.convolve2d(img, blur, mode="same", boundary="symm", out=out)
t_ck = (time.perf_counter() - t) / 5
t = time.perf_counter()
ref = scipy.signal.convolve2d(img, blur, mode="same", boundary="symm")
t_sp = time.perf_counter() - t
print(f"7x7 Gaussian blur of a 4K float32 image: convkit {1e3 * t_ck:.1f} ms, "
      f"scipy {1e3 * t_sp:.0f} ms (max |difference| {np.max(np.abs(out - ref)):.1e})")
print(signal.explain("convolve2d", img, blur, "same", boundary="symm"))

print("\n== 5. A bigger layer, and threads ==")
x = rng.standard_normal((1, 16, 32, 32)).astype(np.float32)
w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
results = []
for n in (1, convkit.get_num_threads()):
    convkit.set_num_threads(n)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        y = convkit.conv2d(x, w, padding=1)
        times.append(time.perf_counter() - t)
    results.append(y)
    print(f"{n} thread(s): median {1e3 * sorted(times)[len(times) // 2]:.3f} ms "
          f"({convkit.explain(x, w, padding=1).split('chose ')[1].split(' ')[0]})")
print("bitwise identical for 1 and", convkit.get_num_threads(), "threads:",
      results[0].tobytes() == results[1].tobytes())
