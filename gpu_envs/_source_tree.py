"""gpu_envs.wrappers and gpu_envs.assets when gpu_envs is imported from a clone of the repository.

The repository keeps wrappers/ and assets/ at its top level; installs ship them inside the
package (pyproject.toml's package-dir), and an editable install maps them at import time. A
script or test run from the clone's root with a regular install (`pip install .`, a wheel, the
sdist) imports the clone's gpu_envs/ instead, which has no such subfolders. There, and only
there, the clone's root joins the package's search path, so the two resolve to the same folders
an install would ship.
"""

from __future__ import annotations

from pathlib import Path

_SUBPACKAGES = ("wrappers", "assets")


def add_source_tree_subpackages(package_path: list[str]) -> None:
    """Append the repository root to `package_path` (gpu_envs' `__path__`) when gpu_envs is the
    one in a clone: its parent holds pyproject.toml and the subpackages, and gpu_envs/ does not."""
    package = Path(package_path[0])
    root = package.parent
    in_clone = (root / "pyproject.toml").is_file() and all((root / name / "__init__.py").is_file()
                                                           for name in _SUBPACKAGES)
    if in_clone and not any((package / name).exists() for name in _SUBPACKAGES) and str(root) not in package_path:
        package_path.append(str(root))
