"""The workspace cap from Python: auto falls back to algorithms that fit, forced ones raise
MemoryError naming both sizes, and results do not change."""
import numpy as np
import pytest

import convkit
from convkit import signal


@pytest.fixture
def limit():
    saved = convkit.get_workspace_limit()
    yield convkit.set_workspace_limit
    convkit.set_workspace_limit(saved)


def test_conv_auto_respects_the_limit_and_forced_raises(limit):
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (1, 8, 20, 20)).astype(np.float32)
    w = rng.integers(-3, 4, (8, 8, 3, 3)).astype(np.float32)
    # Direct summation only: the results must then be exact, whichever algorithm runs.
    exact = dict(padding=1, direct_summation_only=True)
    want = convkit.conv2d(x, w, **exact)
    assert "'reference'" not in convkit.explain(x, w, **exact).split("chose ")[1][:12]
    limit(0)
    assert convkit.get_workspace_limit() == 0
    assert "chose 'reference'" in convkit.explain(x, w, **exact)
    np.testing.assert_array_equal(convkit.conv2d(x, w, **exact), want)
    with pytest.raises(MemoryError, match="the limit is 0 bytes"):
        convkit.conv2d(x, w, padding=1, algorithm="direct")
    limit(None)
    assert convkit.get_workspace_limit() is None
    with pytest.raises(ValueError):
        convkit.set_workspace_limit(-5)
    with pytest.raises(TypeError):
        convkit.set_workspace_limit(1.5)


def test_signal_fft_over_the_limit(limit):
    img = np.ones((300, 300), np.float32)
    k = (np.arange(41 * 41) * 7919 % 13 - 6).astype(np.float32).reshape(41, 41)
    limit(0)
    with pytest.raises(MemoryError, match="needs"):
        signal.fftconvolve(img, k, "same")
    limit(None)
    np.testing.assert_allclose(signal.fftconvolve(img, k, "same")[150, 150], k.sum(), rtol=1e-5)


def test_flush_denormal_switch():
    x = np.full((1, 4, 8, 8), 1e-39, np.float32)
    w = np.full((4, 4, 3, 3), 0.5, np.float32)
    assert convkit.get_flush_denormal() is False
    assert np.count_nonzero(convkit.conv2d(x, w, padding=1, algorithm="direct")) > 0
    try:
        assert convkit.set_flush_denormal(True) is True
        assert convkit.get_flush_denormal() is True
        assert np.count_nonzero(convkit.conv2d(x, w, padding=1, algorithm="direct")) == 0
    finally:
        convkit.set_flush_denormal(False)
    assert np.count_nonzero(convkit.conv2d(x, w, padding=1, algorithm="direct")) > 0
    with pytest.raises(TypeError):
        convkit.set_flush_denormal("yes")


def test_results_too_large_for_memory_raise_memory_error():
    from numpy.lib.stride_tricks import as_strided
    # Virtual inputs (one element, zero strides) whose results would need terabytes.
    big = as_strided(np.zeros(1), shape=(2**20, 2**20), strides=(0, 0))
    with pytest.raises(MemoryError, match="cannot allocate"):
        signal.convolve(np.ones((3, 3)), big, "full", method="direct")
    x = as_strided(np.zeros(1, np.float32), shape=(1, 1, 2**20, 2**20), strides=(0, 0, 0, 0))
    with pytest.raises(MemoryError):
        convkit.conv2d(x, np.ones((1, 1, 1, 1), np.float32))
