"""Environment defaults that must be in place before JAX initialises its GPU backend.

JAX preallocates 75% of GPU memory at start-up by default, which starves a torch learner on the
same GPU. Unless the user already chose (either variable set), JAX allocates on demand.
"""

import os


def configure_jax_memory() -> None:
    """Make JAX allocate GPU memory on demand, unless the user configured it already."""
    if "XLA_PYTHON_CLIENT_PREALLOCATE" not in os.environ and "XLA_PYTHON_CLIENT_MEM_FRACTION" not in os.environ:
        os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
