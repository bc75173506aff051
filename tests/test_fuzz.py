"""The fuzz suite: hypothesis over each op family against float64 numpy references
(tests/fuzz_driver.py holds the op table and the checks).

Each family runs in a child process, so that a crash (a segfault, an abort) fails only its
family's test, naming the case that killed it: the child writes each case to a file before
running it. With CI set, the cases are the fixed derandomized sequence; FG_FUZZ_EXAMPLES sets
the number of examples per family (150 by default, about 1 to 2 minutes in all on 2 cores).
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("fuzz_driver.py")
FAMILIES = [
    "unary",
    "binary",
    "reduce",
    "softmax",
    "loss",
    "matmul",
    "shape",
    "nn",
    "dtype",
    "creation",
    "index",
    "modules",
    "optim",
    "save",
]
TIMEOUT_S = 300


def run_family(family, case_file):
    """Runs one family's child; None when every case passed, else what to report."""
    try:
        result = subprocess.run(
            [sys.executable, str(DRIVER), family, str(case_file)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        return f"fuzz family {family!r} ran over {TIMEOUT_S} s; the last case: " + (
            case_file.read_text() if case_file.exists() else "(none)"
        )
    if result.returncode < 0:
        last = case_file.read_text() if case_file.exists() else "(none)"
        return (
            f"fuzz family {family!r} crashed ({signal.Signals(-result.returncode).name}) "
            f"on the case:\n{last}\n{result.stderr[-2000:]}"
        )
    if result.returncode != 0:
        return (
            f"fuzz family {family!r} found a failing case:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-6000:]}"
        )
    return None


@pytest.mark.parametrize("family", FAMILIES)
def test_fuzz(family, tmp_path):
    failure = run_family(family, tmp_path / "case.txt")
    if failure:
        pytest.fail(failure, pytrace=False)


def test_a_crash_is_reported_with_its_case(tmp_path):
    """The isolation itself: the driver's self-test family records a case and segfaults."""
    failure = run_family("crash_selftest", tmp_path / "case.txt")
    assert failure is not None
    # SIGSEGV, or SIGABRT under AddressSanitizer, which catches the segfault and aborts
    assert re.search(r"'crash_selftest' crashed \((SIGSEGV|SIGABRT)\)", failure), failure
    assert "[crash_selftest] what='a deliberate segfault'" in failure
