"""examples/train_digits.py: a short training run learns, and matches PyTorch's convolutions.

The full example (15 epochs) reaches about 99 % test accuracy; here a few epochs' worth of
steps must lower the loss, and the same steps with PyTorch's conv layers (autograd) must give
the same loss curve to float32 rounding: the convolutions are the only difference.
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import train_digits  # noqa: E402


def test_short_training_lowers_the_loss_and_learns():
    losses, accuracy, _ = train_digits.train(epochs=2, verbose=False)
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    assert first > 2.0, first          # ten classes: about log(10) at the start
    assert last < 0.5 * first, (first, last)
    assert accuracy > 0.85, accuracy


def test_loss_curve_matches_pytorch_convolutions():
    ours, _, _ = train_digits.train(max_steps=40, verbose=False)
    theirs, _, _ = train_digits.train(max_steps=40, backend="torch", verbose=False)
    assert len(ours) == len(theirs) == 40
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=0)
    assert ours[-1] < ours[0]


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError, match="backend"):
        train_digits.DigitsNet(backend="tensorflow")
