"""Shared pytest setup for convkit's Python tests: import path, seeded RNGs, a float64 torch oracle."""
from __future__ import annotations

import os
import sys
import zlib

import numpy as np
import pytest

# Scripts point CONVKIT_PYTHONPATH at the build tree's python/ directory (the one holding the
# assembled convkit package); several entries may be given, separated by os.pathsep.
_extra = os.environ.get("CONVKIT_PYTHONPATH")
if _extra:
    for _p in reversed([p for p in _extra.split(os.pathsep) if p]):
        _p = os.path.abspath(_p)
        if _p not in sys.path:
            sys.path.insert(0, _p)

try:
    import torch
except ImportError:  # the torch-based files skip themselves via pytest.importorskip
    torch = None
else:
    # One thread: the oracle must not compete with convkit for the machine's 2 cores, and its
    # results must not depend on scheduling. Float64 everywhere torch is used as an oracle.
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)

_BASE_SEED = int(os.environ.get("CONVKIT_TEST_SEED", "20240611"))

# Per-operation counts of random cases compared against the oracle, printed at the end.
CASE_COUNTS: dict[str, int] = {}


def seed_for(name: str) -> int:
    """A stable seed derived from a name (the test's node id), independent of test order."""
    return (_BASE_SEED * 1_000_003 + zlib.crc32(name.encode())) % (2**32)


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A numpy Generator seeded from the test's node id (reproducible, order-independent)."""
    return np.random.default_rng(seed_for(request.node.nodeid))


@pytest.fixture
def make_rng(request):
    """Factory: make_rng(tag) → a Generator seeded from the test's node id and `tag`."""
    def make(tag: str = "") -> np.random.Generator:
        return np.random.default_rng(seed_for(f"{request.node.nodeid}::{tag}"))
    return make


@pytest.fixture
def case_counts() -> dict[str, int]:
    """The shared dict in which tests record how many random cases each operation compared."""
    return CASE_COUNTS


@pytest.fixture
def restore_threads():
    """Restores convkit's thread count after the test, whatever it set."""
    import convkit
    n = convkit.get_num_threads()
    yield n
    convkit.set_num_threads(n)


def pytest_terminal_summary(terminalreporter):
    if CASE_COUNTS:
        terminalreporter.write_sep("-", "random cases compared with the oracle, per operation")
        for op in sorted(CASE_COUNTS):
            terminalreporter.write_line(f"{op:48s} {CASE_COUNTS[op]:6d}")
