"""One output buffer per step: many arrays packed into a flat byte buffer inside the jit.

Crossing JAX -> torch costs a DLPack hand-off per array (tens of microseconds each on CUDA).
The compiled step therefore writes all its outputs into one uint8 buffer; the host converts
that buffer once and takes typed views of it, which share its memory and cost no GPU work.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import torch

_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.int32): torch.int32,
                 np.dtype(np.bool_): torch.bool, np.dtype(np.uint8): torch.uint8}
_NUMPY_DTYPES = {torch.float32: np.float32, torch.int32: np.int32, torch.bool: np.bool_, torch.uint8: np.uint8}
_ALIGN = 16  # bytes; every field starts aligned so typed views are legal


class Field(NamedTuple):
    name: str
    start: int  # byte offset in the buffer
    stop: int
    dtype: torch.dtype
    shape: tuple
    strides: tuple  # contiguous, in elements


def layout(shapes: dict[str, jax.ShapeDtypeStruct]) -> list[Field]:
    """Byte layout of `shapes` (name -> shape/dtype) in the packed buffer, in dict order."""
    fields, offset = [], 0
    for name, spec in shapes.items():
        dtype = np.dtype(spec.dtype)
        if dtype not in _TORCH_DTYPES:
            raise TypeError(f"cannot pack output {name!r} of dtype {dtype}")
        size = int(np.prod(spec.shape, dtype=np.int64)) * dtype.itemsize
        shape = tuple(spec.shape)
        strides = tuple(int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape)))
        fields.append(Field(name, offset, offset + size, _TORCH_DTYPES[dtype], shape, strides))
        offset += -(-size // _ALIGN) * _ALIGN
    return fields


def pack(arrays: dict[str, jax.Array], fields: list[Field]) -> jax.Array:
    """All `arrays` as one flat uint8 buffer laid out as `fields` (traced inside the step)."""
    parts, offset = [], 0
    for field in fields:
        x = arrays[field.name]
        raw = x.astype(jnp.uint8) if x.dtype in (jnp.bool_, jnp.uint8) else jax.lax.bitcast_convert_type(x, jnp.uint8)
        parts.append(raw.reshape(-1))
        pad = field.start - offset
        if pad:
            parts.insert(-1, jnp.zeros(pad, jnp.uint8))
        offset = field.stop
    tail = -(-offset // _ALIGN) * _ALIGN - offset  # whole-buffer typed views need a multiple of 4
    if tail:
        parts.append(jnp.zeros(tail, jnp.uint8))
    return jnp.concatenate(parts)


def unpack(buffer: torch.Tensor, fields: list[Field]) -> dict[str, torch.Tensor]:
    """Typed views of a packed buffer (no copy: each shares `buffer`'s memory).

    One reinterpreting view per dtype, then one `as_strided` per field: the cheapest way
    torch offers to cut typed tensors out of a byte buffer (host time matters per step).
    """
    typed = {}
    views = {}
    for f in fields:
        base = typed.get(f.dtype)
        if base is None:
            base = typed[f.dtype] = buffer.view(f.dtype)
        views[f.name] = base.as_strided(f.shape, f.strides, f.start // f.dtype.itemsize)
    return views


def unpack_numpy(buffer: np.ndarray, fields: list[Field]) -> dict[str, np.ndarray]:
    """Typed numpy views of a packed buffer already copied to the host (uint8, 1-D)."""
    return {f.name: buffer[f.start:f.stop].view(_NUMPY_DTYPES[f.dtype]).reshape(f.shape) for f in fields}
