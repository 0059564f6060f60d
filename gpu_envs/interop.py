"""The torch/numpy/JAX boundary: zero-copy outputs and checked action inputs.

Outputs go JAX -> torch through DLPack (`torch.from_dlpack`), sharing memory with the JAX
output buffers. Actions come in as torch tensors (DLPack into JAX, no copy when they are
float32 on the env's device), numpy arrays or JAX arrays; bad input raises here, before
anything reaches the compiled step.
"""

from __future__ import annotations

import logging
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch

_log = logging.getLogger(__name__)


def torch_device_of(device: jax.Device) -> torch.device:
    """The torch device that shares memory with JAX `device` (cuda:i for GPU i, else cpu)."""
    if device.platform == "gpu":
        return torch.device("cuda", device.id)
    return torch.device("cpu")


def to_torch(x: jax.Array) -> torch.Tensor:
    """A torch tensor sharing memory with `x` (no copy; ordered after x's producer on CUDA)."""
    return torch.from_dlpack(x)


class _TorchImporter:
    """torch tensor -> JAX array through DLPack, with the per-device lookups done once.

    `jax.dlpack.from_dlpack` looks up the device and the stream JAX orders external producers
    on, and re-canonicalises the dtype, on every call; on the step's hot path that cost is
    paid per env step. This does the lookups once and calls the same jaxlib conversion with
    the same stream handshake (torch records its pending work on that stream). jaxlib's entry
    point is private, so where it is missing or fails this uses the public function instead
    (`fast` is then None); which one is used is logged at debug level.
    """

    def __init__(self, device: jax.Device):
        self.device = device
        self.fast = _private_importer(device)
        _log.debug("torch -> JAX on %s: %s", device, "jaxlib's DLPack entry point" if self.fast else
                   "jax.dlpack.from_dlpack")

    def __call__(self, tensor: torch.Tensor) -> jax.Array:
        if self.fast is not None:
            try:
                return self.fast(tensor)
            except Exception as err:  # noqa: BLE001 - any jaxlib difference: the public path from now on
                _log.debug("jaxlib's DLPack entry point failed (%s); using jax.dlpack.from_dlpack", err)
                self.fast = None
        return jax.dlpack.from_dlpack(tensor)


def _private_importer(device: jax.Device):
    """jaxlib's own DLPack import for `device` with its stream looked up once; None if unavailable."""
    try:
        from jax._src.dlpack import DLDeviceType
        from jax._src.lib import _jax, jaxlib_extension_version
    except ImportError:
        return None
    try:
        stream = device.get_stream_for_external_ready_events()
    except Exception:  # noqa: BLE001 - CPU: UNIMPLEMENTED, no stream to order on
        stream = None
    kind = int(DLDeviceType.kDLCUDA if device.platform == "gpu" else DLDeviceType.kDLCPU)
    if jaxlib_extension_version >= 467:
        return lambda t: _jax.dlpack_managed_tensor_to_buffer(t.__dlpack__(stream=stream), device, stream, None, kind)
    return lambda t: _jax.dlpack_managed_tensor_to_buffer(t.__dlpack__(stream=stream), device, stream, None)


_importers: dict[jax.Device, _TorchImporter] = {}


def torch_to_jax(tensor: torch.Tensor, device: jax.Device) -> jax.Array:
    """A JAX array sharing memory with `tensor`, which must already live on `device`."""
    importer = _importers.get(device)
    if importer is None:
        importer = _importers[device] = _TorchImporter(device)
    return importer(tensor)


def _check_shape(shape: tuple, expected: tuple, what: str) -> None:
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{what} must have shape {tuple(expected)} (num_envs, action_dim), got {tuple(shape)}")


def _check_dtype(dtype: Any, what: str) -> None:
    """TypeError unless `dtype` is a real number type (ints, floats incl. bfloat16 and float8)."""
    real = jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
    if not real or dtype == np.bool_:
        raise TypeError(f"{what} must be a float tensor (float32 preferred); dtype {dtype} cannot be cast")


def _within_float32(array):
    """`array` (float64) with its finite values clipped to [-1, 1]: casting 1e300 to float32
    would make it inf, which the step treats as a non-finite action. NaN and inf stay."""
    xp = torch if isinstance(array, torch.Tensor) else (jnp if isinstance(array, jax.Array) else np)
    return xp.where(xp.isfinite(array), xp.clip(array, -1.0, 1.0), array)


def action_to_jax(action: Any, shape: tuple[int, int], device: jax.Device, *, private: bool = False) -> jax.Array:
    """Check `action` and return it as a float32 JAX array of `shape` on `device`.

    Accepts torch tensors (any device, dense or sparse; moved once if needed; float32 on the
    right device crosses without a copy), JAX arrays and anything numpy can read. Raises
    ValueError for a wrong shape (or a ragged nested list) and TypeError for a dtype that is not
    a real number (bool, complex, object). NaN/inf values are not rejected here: the compiled
    step replaces them (see `BatchedEnv`); finite float64 values beyond float32's range are
    clipped to [-1, 1] first, as the step would clip them.

    private: the result shares no memory with the caller's torch tensor or numpy array (a
    copy where it would), so a step that runs asynchronously after the call returns cannot
    see the caller's later writes to it.
    """
    what = "action"
    if isinstance(action, torch.Tensor):
        _check_shape(action.shape, shape, what)
        if action.dtype == torch.bool or action.is_complex():
            raise TypeError(f"{what} must be a float tensor (float32 preferred); dtype {action.dtype} cannot be cast")
        if action.layout != torch.strided:
            action = action.to_dense()
        if action.dtype == torch.float64:
            action = _within_float32(action.detach())
        target = torch_device_of(device)
        action = action.detach().to(device=target, dtype=torch.float32, copy=private).contiguous()
        return torch_to_jax(action, device)
    if isinstance(action, jax.Array):
        _check_shape(action.shape, shape, what)
        _check_dtype(action.dtype, what)
        if action.dtype == jnp.float64:
            action = _within_float32(action)
        if action.dtype != jnp.float32:
            action = action.astype(jnp.float32)
        if action.devices() != {device} or not action.committed:  # committed: one compiled step for all
            action = jax.device_put(action, device)
        return action
    try:
        array = np.asarray(action)
    except ValueError as err:  # a ragged nested list
        raise ValueError(f"{what} must be an array of shape {tuple(shape)} (num_envs, action_dim): {err}") from None
    _check_shape(array.shape, shape, what)
    _check_dtype(array.dtype, what)
    if array.dtype == np.float64:
        array = _within_float32(array)
    return jax.device_put(array.astype(np.float32, copy=private), device)


def mask_to_jax(mask: Any, num_envs: int, device: jax.Device) -> jax.Array:
    """A (num_envs,) bool mask from torch, JAX or numpy input, on `device`."""
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    array = np.asarray(mask)
    if array.shape != (num_envs,) or array.dtype != np.bool_:
        raise ValueError(f"reset_mask must be a bool array of shape ({num_envs},), got {array.dtype} {array.shape}")
    return jax.device_put(array, device)
