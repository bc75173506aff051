"""``forgegrad.info()``: what this build is and what it runs on."""

from typing import Any

from . import _C


def info() -> dict[str, Any]:
    """A dict: version, whether CUDA was compiled in and is usable, CPU features, the SIMD
    instruction set of the GEMM micro-kernels (``isa``) and the clone of the elementwise and
    optimizer loops (``simd_clone``), the thread count, and what runs the threads
    (``threading_backend``: ``"openmp"``, or ``"std::thread"`` in a build without OpenMP)."""
    device_count = _C.cuda_device_count()
    return {
        "version": _C.__version__,
        "cuda_compiled": bool(_C.cuda_compiled),
        "cuda_available": device_count > 0,
        "cuda_device_count": device_count,
        "cpu_features": list(_C.cpu_features()),
        "isa": _C.get_isa(),
        "simd_clone": _C.simd_clone(),
        "num_threads": _C.get_num_threads(),
        "threading_backend": _C.threading_backend(),
    }
