"""Seeds as gymnasium's `VectorEnv.reset` takes them, turned into JAX random keys.

gymnasium's contract: `seed` is None, a non-negative int, or a list of `num_envs` entries,
each a non-negative int or None. Every bit of an int seed counts: seeds that differ above
2**32 give different keys (JAX's `PRNGKey` alone keeps the low 32 bits).
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

_WORD = 32


def _is_seed(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0


def check_seed(seed, num_envs: int) -> None:
    """Raise TypeError/ValueError naming the problem unless `seed` follows gymnasium's contract."""
    if seed is None or _is_seed(seed):
        return
    if isinstance(seed, (list, tuple)):
        if len(seed) != num_envs:
            raise ValueError(f"seed as a list needs one entry per env ({num_envs}), got {len(seed)}")
        bad = [s for s in seed if s is not None and not _is_seed(s)]
        if bad:
            raise ValueError(f"seed list entries must be non-negative ints or None (got {bad[0]!r})")
        return
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        raise ValueError(f"seed must be a non-negative int (got {seed})")
    raise TypeError(f"seed must be None, a non-negative int or a list of {num_envs} of them (got {seed!r})")


def _words(seed: int) -> list[int]:
    """The 32-bit words of `seed`, lowest first (at least one)."""
    seed = int(seed)
    words = [seed & 0xFFFFFFFF]
    seed >>= _WORD
    while seed:
        words.append(seed & 0xFFFFFFFF)
        seed >>= _WORD
    return words


def key_from_seed(seed: int) -> jax.Array:
    """A JAX key that depends on every bit of `seed` (for seeds < 2**32: `PRNGKey(seed)`)."""
    words = _words(seed)
    key = jax.random.PRNGKey(words[0])
    for word in words[1:]:
        key = jax.random.fold_in(key, word)
    return key


@jax.jit
def _keys_from_words(words: jax.Array, counts: jax.Array) -> jax.Array:
    """(N, 2) keys from (N, W) uint32 seed words, of which row i uses the first counts[i]."""

    def one(row, count):
        key = jax.random.PRNGKey(row[0])
        for j in range(1, row.shape[0]):
            key = jnp.where(j < count, jax.random.fold_in(key, row[j]), key)
        return key

    return jax.vmap(one)(words, counts)


def keys_from_seeds(seeds: list, fallback: jax.Array) -> jax.Array:
    """(N, 2) keys: row i is `key_from_seed(seeds[i])`, or `fallback[i]` where seeds[i] is None."""
    words = [_words(s if s is not None else 0) for s in seeds]
    width = max(len(w) for w in words)
    table = np.zeros((len(seeds), width), np.uint32)
    for i, w in enumerate(words):
        table[i, :len(w)] = w
    counts = np.array([len(w) for w in words], np.int32)
    keys = _keys_from_words(jnp.asarray(table), jnp.asarray(counts))
    given = np.array([s is not None for s in seeds])
    return jnp.where(jnp.asarray(given)[:, None], keys, fallback)
