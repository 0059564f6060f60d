"""Import an optional RL library or fail with the pip extra that provides it."""

import importlib


def require(module: str, extra: str):
    """Import `module`, or raise ImportError telling which gpu-envs extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"this adapter needs {module.split('.')[0]}: the '{extra}' extra of gpu-envs: pip install -e '.[{extra}]' in its clone ({err})") from err
