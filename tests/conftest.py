"""Shared fixtures for the forgegrad test suite.

- ``device``: every op test runs once per device ("cpu", "cuda"); the cuda case is skipped,
  with the reason printed, when forgegrad was built without CUDA or no GPU is present.
- The random inputs of ``tests/helpers.py`` are reseeded from each test's id, so a failing
  test reproduces alone (``pytest -k ...``) with the same data.
- ``restore_isa``: puts the GEMM micro-kernel ISA back after a test that changes it.
"""

import multiprocessing
import os
import zlib

import pytest
from hypothesis import HealthCheck, settings

import forgegrad as fg

import helpers

# Hypothesis: modest example counts keep the suite fast; no deadline (first calls JIT-free but
# allocation-heavy); the `device` fixture is a plain string, so reusing it across examples is safe.
settings.register_profile(
    "forgegrad",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("forgegrad")

from helpers import CUDA_SKIP_REASON, cuda_available  # noqa: E402 (after the profile)

# .ci/run's sanitizer stage sets FORGEGRAD_TEST_START_METHOD=spawn, so that DataLoader workers
# start there as on macOS and Windows: a fork while another thread is inside
# AddressSanitizer's allocator (GCC 12's runtime has no fork handlers) leaves the child stuck,
# and one CI run hung in a worker test of that stage. Every other stage forks, Linux's way.
if os.environ.get("FORGEGRAD_TEST_START_METHOD"):
    multiprocessing.set_start_method(os.environ["FORGEGRAD_TEST_START_METHOD"], force=True)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    if request.param == "cuda" and not cuda_available():
        pytest.skip(CUDA_SKIP_REASON)
    return request.param


@pytest.fixture(autouse=True)
def _reseed(request):
    seed = zlib.crc32(request.node.nodeid.encode())
    helpers.reseed(seed)
    fg.manual_seed(seed)
    yield


@pytest.fixture(autouse=True)
def _empty_the_gpu_cache(request):
    """After a cuda case, the device blocks the allocator cached go back. The emulated GPU
    changes the protection of every device block at each launch, so blocks cached by earlier
    cases made later launches slow (an RNN gradient check: 5 s alone, 29 s after the large
    activation cases)."""
    yield
    if request.node.get_closest_marker("cuda") and cuda_available():
        fg.cuda.empty_cache()


@pytest.fixture
def restore_isa():
    from forgegrad import _C

    before = _C.get_isa()
    yield before
    _C.set_isa(before)


@pytest.fixture
def restore_threads():
    before = fg.get_num_threads()
    yield before
    fg.set_num_threads(before)


@pytest.fixture
def one_thread(restore_threads):
    """forgegrad on one thread for the test (thread splits have their own tests)."""
    fg.set_num_threads(1)


@pytest.fixture
def rng(_reseed):
    """numpy Generator seeded from the test id (the same stream the helpers draw from)."""
    return helpers.RNG
