"""A helper for tests that check what JAX compiles: the programs traced or lowered in a block."""

import contextlib
import threading

from jax import monitoring


@contextlib.contextmanager
def traced_or_lowered():
    """Yields a list that collects the names of the programs this thread has JAX trace, lower or
    compile while open (other threads' work, such as a compile_ahead thread's, is left out)."""
    seen, here = [], threading.get_ident()

    def listen(event, duration, **kwargs):
        if event.startswith("/jax/core/compile/") and threading.get_ident() == here:
            seen.append(kwargs.get("fun_name", ""))

    monitoring.register_event_duration_secs_listener(listen)
    try:
        yield seen
    finally:
        monitoring.unregister_event_duration_listener(listen)
