"""A helper for tests that check what JAX compiles: the programs traced or lowered in a block."""

import contextlib

from jax import monitoring


@contextlib.contextmanager
def traced_or_lowered():
    """Yields a list that collects the names of the programs JAX traces, lowers or compiles while open."""
    seen = []

    def listen(event, duration, **kwargs):
        if event.startswith("/jax/core/compile/"):
            seen.append(kwargs.get("fun_name", ""))

    monitoring.register_event_duration_secs_listener(listen)
    try:
        yield seen
    finally:
        monitoring.unregister_event_duration_listener(listen)
