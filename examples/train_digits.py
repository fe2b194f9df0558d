"""Train a small CNN on scikit-learn's 8x8 digits with convkit's conv layers.

The network: Conv2d(1, 16, 3, padding=1) -> ReLU -> 2x2 max-pool -> Conv2d(16, 32, 3,
padding=1) -> ReLU -> 2x2 max-pool -> dense 128 -> 10 -> softmax cross-entropy. Everything but
the convolutions is written here in NumPy; the convolutions' forward and backward passes
(grad_x, grad_weight, grad_bias) are convkit's `Conv2d` layer objects. SGD with momentum,
mini-batches of 32, a fixed seed: the run is reproducible.

    PYTHONPATH=build/python /usr/bin/python3 examples/train_digits.py [--epochs N] [--backend torch]

`--backend torch` runs the very same training with PyTorch's convolutions (autograd) in place
of convkit's, for comparison (tests/python/test_train_digits.py checks that the loss curves
agree to float32 rounding). The data (1797 images) ships with Debian's python3-sklearn.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import convkit


# ---- layers written in NumPy ------------------------------------------------------------------

def relu_forward(x):
    return np.maximum(x, 0), x > 0


def relu_backward(g, mask):
    return g * mask


def maxpool2_forward(x):
    """2x2 max-pool, stride 2 (H and W even); the cache marks each window's first maximum."""
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = win.argmax(axis=-1)
    return np.take_along_axis(win, arg[..., None], axis=-1)[..., 0], (arg, x.shape)


def maxpool2_backward(g, cache):
    arg, shape = cache
    n, c, h, w = shape
    win = np.zeros((n, c, h // 2, w // 2, 4), g.dtype)
    np.put_along_axis(win, arg[..., None], g[..., None], axis=-1)
    return win.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape)


def softmax_cross_entropy(logits, labels):
    """Mean loss and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = -np.log(p[np.arange(n), labels] + 1e-12).mean()
    g = p.copy()
    g[np.arange(n), labels] -= 1
    return float(loss), (g / n).astype(logits.dtype)


class TorchConv2d:
    """PyTorch's convolution behind convkit.Conv2d's interface (forward / backward / grads)."""

    def __init__(self, layer: convkit.Conv2d):
        self.weight, self.bias = layer.weight, layer.bias
        self.padding = layer.padding
        self.grad_weight = self.grad_bias = None

    def forward(self, x):
        import torch
        self._x = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)
        self._w = torch.from_numpy(self.weight).requires_grad_(True)
        self._b = torch.from_numpy(self.bias).requires_grad_(True)
        self._y = torch.nn.functional.conv2d(self._x, self._w, self._b, padding=self.padding)
        return self._y.detach().numpy()

    def backward(self, g):
        import torch
        gx, gw, gb = torch.autograd.grad(self._y, (self._x, self._w, self._b), torch.from_numpy(g))
        self.grad_weight, self.grad_bias = gw.numpy(), gb.numpy()
        return gx.numpy()


# ---- the network --------------------------------------------------------------------------------

class DigitsNet:
    def __init__(self, seed=0, backend="convkit"):
        rng = np.random.default_rng(seed)
        self.conv1 = convkit.Conv2d(1, 16, 3, padding=1, seed=seed)
        self.conv2 = convkit.Conv2d(16, 32, 3, padding=1, seed=seed + 1)
        if backend == "torch":  # same initial weights, PyTorch's convolutions
            self.conv1, self.conv2 = TorchConv2d(self.conv1), TorchConv2d(self.conv2)
        elif backend != "convkit":
            raise ValueError(f"backend: got {backend!r}, expected 'convkit' or 'torch'")
        bound = 1 / np.sqrt(128)
        self.fc_w = rng.uniform(-bound, bound, (128, 10)).astype(np.float32)
        self.fc_b = np.zeros(10, np.float32)

    def params(self):
        return [(self.conv1, "weight"), (self.conv1, "bias"), (self.conv2, "weight"),
                (self.conv2, "bias"), (self, "fc_w"), (self, "fc_b")]

    def forward(self, x):
        a1, m1 = relu_forward(self.conv1.forward(x))
        p1, c1 = maxpool2_forward(a1)
        a2, m2 = relu_forward(self.conv2.forward(p1))
        p2, c2 = maxpool2_forward(a2)
        flat = p2.reshape(len(x), -1)
        self._cache = (m1, c1, m2, c2, flat, p2.shape)
        return flat @ self.fc_w + self.fc_b

    def backward(self, g):
        m1, c1, m2, c2, flat, shape = self._cache
        self.grad_fc_w = flat.T @ g
        self.grad_fc_b = g.sum(axis=0)
        g = (g @ self.fc_w.T).reshape(shape)
        g = self.conv2.backward(relu_backward(maxpool2_backward(g, c2), m2))
        self.conv1.backward(relu_backward(maxpool2_backward(g, c1), m1))

    def grads(self):
        return [self.conv1.grad_weight, self.conv1.grad_bias, self.conv2.grad_weight,
                self.conv2.grad_bias, self.grad_fc_w, self.grad_fc_b]


def load_digits_split(seed=0, test_fraction=0.25):
    """scikit-learn's digits as (N, 1, 8, 8) float32 in [0, 1], split reproducibly."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def train(epochs=15, batch=32, lr=0.05, momentum=0.9, seed=0, backend="convkit", max_steps=None,
          verbose=True):
    """Returns (per-step losses, test accuracy, seconds)."""
    xtr, ytr, xte, yte = load_digits_split(seed)
    net = DigitsNet(seed, backend)
    velocity = [np.zeros_like(getattr(obj, name)) for obj, name in net.params()]
    rng = np.random.default_rng(seed + 100)
    losses = []
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(xtr))
        for i in range(0, len(xtr), batch):
            idx = order[i:i + batch]
            loss, g = softmax_cross_entropy(net.forward(xtr[idx]), ytr[idx])
            net.backward(g)
            for v, (obj, name), grad in zip(velocity, net.params(), net.grads()):
                v *= momentum
                v -= lr * grad
                setattr(obj, name, (getattr(obj, name) + v).astype(np.float32))
            losses.append(loss)
            if max_steps is not None and len(losses) >= max_steps:
                break
        if max_steps is not None and len(losses) >= max_steps:
            break
        if verbose:
            acc = (net.forward(xte).argmax(axis=1) == yte).mean()
            print(f"epoch {epoch + 1:2d}: mean loss {np.mean(losses[-(len(xtr) // batch):]):.4f}, "
                  f"test accuracy {100 * acc:.2f}%")
    seconds = time.perf_counter() - start
    accuracy = float((net.forward(xte).argmax(axis=1) == yte).mean())
    return losses, accuracy, seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--backend", default="convkit", choices=["convkit", "torch"])
    args = ap.parse_args()
    losses, acc, seconds = train(args.epochs, backend=args.backend)
    print(f"{args.backend}: {len(losses)} steps in {seconds:.1f} s, final test accuracy "
          f"{100 * acc:.2f}% ({'meets' if acc >= 0.97 else 'misses'} the 97% target)")


if __name__ == "__main__":
    main()
