"""The run-time ISA dispatch from Python: the widest SIMD path the CPU has is the one chosen,
and CONVKIT_MAX_ISA caps it (checked in a child process, since the cap is read per plan)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import convkit as ck


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


FLAGS = _cpu_flags()
BEST = "avx512" if "avx512f" in FLAGS else "avx2" if {"avx2", "fma"} <= FLAGS else "generic"
ORDER = ["generic", "avx2", "avx512"]


def _explain_in_child(cap):
    code = ("import numpy as np, convkit as ck; "
            "print(ck.explain(np.zeros((1, 16, 12, 12), np.float32), "
            "np.zeros((16, 16, 3, 3), np.float32), padding=1))")
    env = dict(os.environ, CONVKIT_MAX_ISA=cap)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout


def test_widest_isa_is_chosen_by_default():
    if os.environ.get("CONVKIT_MAX_ISA"):
        pytest.skip("CONVKIT_MAX_ISA is set for this run")
    text = ck.explain(np.zeros((1, 16, 12, 12), np.float32), np.zeros((16, 16, 3, 3), np.float32),
                      padding=1)
    assert f"__{BEST}" in text, text


@pytest.mark.parametrize("cap", ORDER)
def test_isa_cap_selects_that_path(cap):
    if ORDER.index(cap) > ORDER.index(BEST):
        pytest.skip(f"this CPU has no {cap}")
    text = _explain_in_child(cap)
    assert f"__{cap}" in text and f"isa {cap}" in text, text
