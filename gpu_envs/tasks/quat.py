"""Unit quaternions in MuJoCo's (w, x, y, z) order, as pure JAX functions on (4,) arrays."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def mul(a: jax.Array, b: jax.Array) -> jax.Array:
    """Hamilton product a * b (the rotation b, then a)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return jnp.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ])


def conj(q: jax.Array) -> jax.Array:
    """The inverse rotation of a unit quaternion."""
    return q * jnp.array([1.0, -1.0, -1.0, -1.0], q.dtype)


def about_axis(angle: jax.Array, axis: int) -> jax.Array:
    """Rotation by `angle` radians about the x (0), y (1) or z (2) axis."""
    half = 0.5 * angle
    vec = jnp.zeros(3, jnp.result_type(angle, jnp.float32)).at[axis].set(jnp.sin(half))
    return jnp.concatenate([jnp.cos(half)[None], vec])


def rotate(q: jax.Array, v: jax.Array) -> jax.Array:
    """The vector v (3,) rotated by q."""
    w, u = q[0], q[1:]
    t = 2.0 * jnp.cross(u, v)
    return v + w * t + jnp.cross(u, t)


def angle_between(a: jax.Array, b: jax.Array) -> jax.Array:
    """Rotation angle [rad, 0..pi] of a * conj(b), as the reference computes it:
    2 * asin(min(|xyz|, 1))."""
    diff = mul(a, conj(b))
    return 2.0 * jnp.arcsin(jnp.minimum(jnp.linalg.norm(diff[1:]), 1.0))


def random_xy(key: jax.Array) -> jax.Array:
    """The reference's random orientation: q_x(a) * q_y(b), angles uniform in [-pi, pi]."""
    ax, ay = jax.random.uniform(key, (2,), minval=-jnp.pi, maxval=jnp.pi)
    return mul(about_axis(ax, 0), about_axis(ay, 1))
