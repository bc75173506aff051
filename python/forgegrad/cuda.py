"""``forgegrad.cuda``: the GPU, as ``torch.cuda`` names it. ``is_available()`` and
``device_count()`` answer on any machine; the rest need a CUDA device and say so otherwise.

Memory figures are the caching allocator's: ``memory_allocated`` counts the bytes that live
tensors hold (rounded to the allocator's size classes), ``memory_reserved`` adds the blocks
kept for reuse, which ``empty_cache`` hands back to the driver.
"""

from . import _C, _errors

# None (the first GPU), an index, 'cuda', 'cuda:N' or a forgegrad.device
Device = _C.device | str | int | None


def is_available() -> bool:
    """Whether this build has CUDA and the machine a usable GPU."""
    return device_count() > 0


def device_count() -> int:
    """The number of GPUs this build can use (0 without CUDA)."""
    return _C.cuda_device_count()


def _index(device: Device) -> int:
    """The device ordinal of None (the first GPU), an int, 'cuda', 'cuda:N' or a device."""
    if device is None:
        return 0
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    if isinstance(device, str):
        device = _C.device(device)
    if isinstance(device, _C.device) and device.type == "cuda":
        return device.index or 0
    raise _errors.ValueError(
        f"[cuda] expected a CUDA device (None, an index, 'cuda' or 'cuda:N'), got {device!r}"
    )


def get_device_name(device: Device = None) -> str:
    """The GPU's name, as the driver gives it (``'NVIDIA H100 80GB HBM3'``)."""
    return _C._cuda_get_device_name(_index(device))


def synchronize(device: Device = None) -> None:
    """Wait until every kernel launched on the device has finished."""
    _C._cuda_synchronize(_index(device))


def memory_allocated(device: Device = None) -> int:
    """Bytes that live tensors hold on the device now."""
    return _C._cuda_memory_allocated(_index(device))


def max_memory_allocated(device: Device = None) -> int:
    """The peak of ``memory_allocated`` since the start or ``reset_peak_memory_stats``."""
    return _C._cuda_max_memory_allocated(_index(device))


def memory_reserved(device: Device = None) -> int:
    """Bytes the caching allocator holds: live tensors' and the cached free blocks."""
    return _C._cuda_memory_reserved(_index(device))


def reset_peak_memory_stats(device: Device = None) -> None:
    """Start ``max_memory_allocated`` again from the bytes allocated now."""
    _C._cuda_reset_peak_memory_stats(_index(device))


def empty_cache() -> None:
    """Hand the cached, unused blocks back to the driver (live tensors keep theirs)."""
    _C._cuda_empty_cache()
