"""MuJoCo Warp kernels built ahead of time, so that a fresh machine's first step need not build them.

Warp compiles each kernel module the first time a step launches it (for the hand, most of a
fresh machine's start-up: docs/benchmarks.md, "Start-up") and keeps the binary in its kernel
cache (`warp.config.kernel_cache_dir`): one folder per module, named by a hash of the module's
generated source and compile options, holding the binary and a `.meta` file. Warp loads a
module whose folder holds both instead of building it, and never reads a folder whose name does
not match; copying such folders between machines is how Warp's documentation keeps CI caches.

gpu-envs ships archives of those folders in `gpu_envs/kernels/`, one per Warp version and CUDA
toolkit, MuJoCo Warp version, GPU architecture and output format (`pack_name`); they are made by
`python -m gpu_envs.build_kernels`. When a Warp-backend env is created, `seed_warp_kernel_cache`
adds the files of the matching archive that the cache lacks. With any other version or GPU
nothing matches and Warp builds as before; seeding only saves time, so a failure to seed is a
warning, never an error. `GPU_ENVS_WARP_KERNELS`:
  - unset: the shipped archives;
  - `0` (or off, false, no): no seeding;
  - a folder: archives read from there instead (built for another GPU, say).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tarfile
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

import jax

ENV_VAR = "GPU_ENVS_WARP_KERNELS"
OPT_OUT = ("0", "off", "false", "no")
SHIPPED = Path(__file__).resolve().parent / "kernels"
# a module folder and one file in it: wp_<module>_<hash>/<file>; nothing else is extracted
MEMBER = re.compile(r"wp_[A-Za-z0-9_.\-]+/wp_[A-Za-z0-9_.\-]+\.(meta|ptx|cubin)")


def pack_name(warp_version: str, cuda_toolkit: str, mujoco_warp_version: str, arch: int, output: str) -> str:
    """Archive name for kernels built by Warp `warp_version` with CUDA toolkit `cuda_toolkit`
    (e.g. "13.4") and MuJoCo Warp `mujoco_warp_version`, for GPU architecture `arch` (90: sm_90)
    in Warp's output format `output` ("ptx" or "cubin")."""
    return f"warp-{warp_version}-cuda{cuda_toolkit}_mujoco-warp-{mujoco_warp_version}_sm{arch}_{output}.tar.xz"


def archive_folder() -> Path | None:
    """Where archives are read from (module docstring); None when seeding is off."""
    choice = os.environ.get(ENV_VAR, "").strip()
    if not choice:
        return SHIPPED
    if choice.lower() in OPT_OUT:
        return None
    folder = Path(choice).expanduser()
    if not folder.is_dir():
        warnings.warn(f"{ENV_VAR}={choice!r} is not a folder: no prebuilt Warp kernels are used "
                      f"(set it to a folder of kernel archives, or {ENV_VAR}=0)", stacklevel=2)
        return None
    return folder


def matching_pack_name(device: jax.Device) -> str:
    """The archive name this process's Warp would load kernels from on `device` (a CUDA device)."""
    import warp

    from .sim import warp_device_name  # sim imports this module at its top

    warp.init()
    wp_device = warp.get_device(warp_device_name(device))
    toolkit = warp.get_cuda_toolkit_version() if hasattr(warp, "get_cuda_toolkit_version") else None
    return pack_name(warp.config.version, ".".join(map(str, toolkit)) if toolkit else "unknown",
                     metadata.version("mujoco-warp"), wp_device.get_cuda_compile_arch(),
                     wp_device.get_cuda_output_format())


def seed_warp_kernel_cache(device: jax.Device) -> int:
    """Add the files of the archive matching this Warp, MuJoCo Warp and `device` (a CUDA device)
    that Warp's kernel cache lacks; returns how many module folders gained files (0 when seeding
    is off or no archive matches). A failure is a warning: Warp then builds what it needs."""
    folder = archive_folder()
    if folder is None:
        return 0
    archive = None
    try:
        archive = folder / matching_pack_name(device)
        if not archive.is_file():
            return 0
        import warp

        return unpack_missing(archive, Path(warp.config.kernel_cache_dir))
    except (OSError, tarfile.TarError, ValueError, metadata.PackageNotFoundError) as err:
        warnings.warn(f"prebuilt MuJoCo Warp kernels not used ({archive or folder}: {err}); Warp builds its "
                      f"kernels instead, which takes minutes on a fresh machine. {ENV_VAR}=0 skips them.",
                      stacklevel=2)
        return 0


def _checked_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's module files; anything else (links, paths outside a module folder) is refused."""
    members = [m for m in archive.getmembers() if not m.isdir()]
    bad = [m.name for m in members if not (m.isfile() and MEMBER.fullmatch(m.name))]
    if bad:
        raise ValueError(f"{archive.name}: not a gpu-envs Warp kernel archive (unexpected entries {bad[:3]})")
    return members


def _stamp(archive: Path, cache: Path) -> Path:
    """The file in `cache` listing the files seeded from `archive` (named by its content)."""
    return cache / f".gpu-envs-seeded-{hashlib.sha256(archive.read_bytes()).hexdigest()[:16]}"


def _all_present(stamp: Path, cache: Path) -> bool:
    if not stamp.is_file():
        return False
    return all((cache / name).is_file() for name in stamp.read_text().split())


def _move_into_place(source: Path, target: Path) -> bool:
    """Rename `source` to `target` unless `target` exists (then, or when another process wins the
    race, False); other errors (permissions, a full disk) are raised."""
    if target.exists():
        return False
    try:
        os.rename(source, target)
        return True
    except OSError as err:
        if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise


def unpack_missing(archive: Path, cache: Path) -> int:
    """Add the files of `archive` that `cache` lacks; returns how many module folders gained files.

    After a complete seeding a stamp file in `cache` lists the archive's files: later calls only
    check they are all still there (a cleared cache is seeded again). A missing module folder is
    moved into place whole, so a concurrent process never sees half of one; a module folder that
    exists gets only the files it lacks; files another process added meanwhile are left as they are.
    """
    cache.mkdir(parents=True, exist_ok=True)
    stamp = _stamp(archive, cache)
    if _all_present(stamp, cache):
        return 0
    changed = 0
    with tempfile.TemporaryDirectory(dir=cache, prefix=".gpu-envs-unpack-") as tmp:
        with tarfile.open(archive, "r:xz") as tar:
            members = _checked_members(tar)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, members=members, filter="data")
            else:  # Python < 3.12 without the backported filter; members are checked above
                tar.extractall(tmp, members=members)
        for module in sorted(Path(tmp).iterdir()):
            if _move_into_place(module, cache / module.name):
                changed += 1
                continue
            added = [_move_into_place(file, cache / module.name / file.name) for file in sorted(module.iterdir())]
            changed += any(added)
    stamp.write_text("\n".join(sorted(m.name for m in members)) + "\n")
    return changed
