"""MuJoCo Warp kernels built ahead of time, so that a fresh machine's first step need not build them.

Warp compiles each kernel module the first time a step launches it (the hand's first step on a
freshly started GPU machine: about 100 s, docs/benchmarks.md) and keeps the binary in its kernel
cache (`warp.config.kernel_cache_dir`): one folder per module, named by a hash of the module's
generated source and compile options, holding the binary and a `.meta` file. Warp loads a folder
whose name matches instead of building the module again, and never reads one that does not;
copying such folders between machines is how Warp's documentation keeps CI caches.

gpu-envs ships archives of those folders in `gpu_envs/kernels/`, one per Warp version, MuJoCo
Warp version, GPU architecture and output format (`pack_name`). When a Warp-backend env is
created, `seed_warp_kernel_cache` adds the folders of the matching archive that the cache lacks,
once per cache and archive (a stamp file in the cache records it). With any other version or
GPU nothing matches and Warp builds as before. `GPU_ENVS_WARP_KERNELS`:
  - unset: the shipped archives;
  - `0` (or off, false, no): no seeding;
  - a folder: archives read from there instead, e.g. built for another GPU with
    `python -m gpu_envs.kernel_pack build --out FOLDER` on a machine that has it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tarfile
import tempfile
import time
from importlib import metadata
from pathlib import Path

import jax

from gpu_envs._cli import positive_int

ENV_VAR = "GPU_ENVS_WARP_KERNELS"
OPT_OUT = ("0", "off", "false", "no")
SHIPPED = Path(__file__).resolve().parent / "kernels"
# a module folder and one file in it: wp_<module>_<hash>/<file>; nothing else is extracted
MEMBER = re.compile(r"wp_[A-Za-z0-9_.\-]+/wp_[A-Za-z0-9_.\-]+\.(meta|ptx|cubin)")
DEFAULT_BUILD_ENVS = ("GpuAllegroHand-v0", "GpuAnt-v0")


def pack_name(warp_version: str, mujoco_warp_version: str, arch: int, output: str) -> str:
    """Archive name for kernels of these versions, built for GPU architecture `arch` (e.g. 90 for
    sm_90) in Warp's output format `output` ("ptx" or "cubin")."""
    return f"warp-{warp_version}_mujoco-warp-{mujoco_warp_version}_sm{arch}_{output}.tar.xz"


def archive_folder() -> Path | None:
    """Where archives are read from (module docstring); None when seeding is off."""
    choice = os.environ.get(ENV_VAR, "").strip()
    if choice.lower() in OPT_OUT and choice:
        return None
    return Path(choice).expanduser() if choice else SHIPPED


def _warp_device(device: jax.Device):
    import warp

    warp.init()
    ordinal = getattr(device, "local_hardware_id", None)
    return warp.get_device(f"cuda:{device.id if ordinal is None else ordinal}")


def matching_pack_name(device: jax.Device) -> str:
    """The archive name this process's Warp would load kernels from on `device` (a CUDA device)."""
    import warp

    wp_device = _warp_device(device)
    return pack_name(warp.config.version, metadata.version("mujoco-warp"), wp_device.get_cuda_compile_arch(),
                     wp_device.get_cuda_output_format())


def _checked_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's module files; anything else (links, paths outside a module folder) is refused."""
    members = [m for m in archive.getmembers() if not m.isdir()]
    bad = [m.name for m in members if not (m.isfile() and MEMBER.fullmatch(m.name))]
    if bad:
        raise ValueError(f"{archive.name}: not a gpu-envs Warp kernel archive (unexpected entries {bad[:3]})")
    return members


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def seed_warp_kernel_cache(device: jax.Device) -> int:
    """Add the module folders of the archive matching this Warp, MuJoCo Warp and `device` (a CUDA
    device) that Warp's kernel cache lacks; returns how many (0 when seeding is off or no archive
    matches)."""
    folder = archive_folder()
    if folder is None:
        return 0
    archive = folder / matching_pack_name(device)
    if not archive.is_file():
        return 0
    import warp

    return unpack_missing(archive, Path(warp.config.kernel_cache_dir))


def unpack_missing(archive: Path, cache: Path) -> int:
    """Move the module folders of `archive` that `cache` lacks into it; returns how many.

    Cheap after the first call for a cache: a stamp file named after the archive's content says
    it was done. Folders are moved into place whole (rename), so a concurrent process never sees
    half a module; one that another process added meanwhile is left as it is.
    """
    cache.mkdir(parents=True, exist_ok=True)
    stamp = cache / f".gpu-envs-seeded-{_digest(archive)}"
    if stamp.exists():
        return 0
    added = 0
    with tempfile.TemporaryDirectory(dir=cache, prefix=".gpu-envs-unpack-") as tmp:
        with tarfile.open(archive, "r:xz") as tar:
            members = _checked_members(tar)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, members=members, filter="data")
            else:  # Python < 3.12 without the backported filter; members are checked above
                tar.extractall(tmp, members=members)
        for module in sorted(Path(tmp).iterdir()):
            target = cache / module.name
            if target.exists():
                continue
            try:
                os.rename(module, target)
                added += 1
            except OSError:  # another process put it there first
                pass
    stamp.touch()
    return added


def _module_folders(cache: Path) -> set[str]:
    return {p.name for p in cache.glob("wp_*") if p.is_dir()}


def _write_archive(cache: Path, path: Path) -> int:
    """Archive every module's binary and `.meta` under `cache` (not the generated sources);
    returns the number of module folders archived."""
    modules = sorted(_module_folders(cache))
    with tarfile.open(path, "w:xz", preset=9) as archive:
        for module in modules:
            for file in sorted((cache / module).iterdir()):
                name = f"{module}/{file.name}"
                if MEMBER.fullmatch(name):
                    info = archive.gettarinfo(file, arcname=name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mtime = 0
                    with open(file, "rb") as f:
                        archive.addfile(info, f)
    return len(modules)


def build(env_ids: list[str], num_envs: int, steps: int, out: Path) -> Path:
    """Build the kernels `env_ids` use on the Warp backend into an empty kernel cache and archive
    them as `out/<pack_name>`; prints one line per env. Call before Warp is initialised."""
    import warp

    with tempfile.TemporaryDirectory(prefix="gpu-envs-warp-cache-") as cache_root:
        warp.config.kernel_cache_dir = cache_root
        warp.init()
        cache = Path(warp.config.kernel_cache_dir)
        if not cache.resolve().is_relative_to(Path(cache_root).resolve()):
            raise RuntimeError("build() must run before Warp is initialised: it needs an empty kernel cache "
                               f"(Warp already uses {cache})")
        import gymnasium as gym
        import torch

        import gpu_envs  # noqa: F401  (registers the envs)

        name = None
        for env_id in env_ids:
            t0 = time.perf_counter()
            env = gym.make_vec(env_id, num_envs=num_envs, device="cuda", backend="warp")
            name = name or matching_pack_name(env.unwrapped.jax_device)
            env.reset(seed=0)
            for _ in range(steps):
                env.step(torch.rand(env.action_space.shape, device=env.device) * 2 - 1)
            env.block_until_ready()
            env.close()
            print(f"{env_id}: built in {time.perf_counter() - t0:.1f} s; "
                  f"{len(_module_folders(cache))} modules in the cache", flush=True)
        out.mkdir(parents=True, exist_ok=True)
        path = out / name
        count = _write_archive(cache, path)
    print(f"wrote {path}: {count} modules, {path.stat().st_size / 2**20:.1f} MiB", flush=True)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gpu_envs.kernel_pack",
                                     description="MuJoCo Warp kernels shipped with gpu-envs (a CUDA GPU is needed)")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="build the envs' Warp kernels on this GPU and archive them")
    make.add_argument("--env", nargs="+", default=list(DEFAULT_BUILD_ENVS), help="env ids (default: %(default)s)")
    make.add_argument("--num-envs", type=positive_int, default=64, help="envs per env id while building (default: 64)")
    make.add_argument("--steps", type=positive_int, default=3, help="random-action steps after the reset (default: 3)")
    make.add_argument("--out", type=Path, default=SHIPPED, help="folder for the archive (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        import warp  # noqa: F401
        import mujoco_warp  # noqa: F401
    except ImportError:
        parser.error("building kernels needs MuJoCo Warp, the 'warp' extra of gpu-envs: pip install -e '.[warp]'")
    os.environ[ENV_VAR] = "0"  # the archive holds what this Warp builds, not what an older archive had
    build(args.env, args.num_envs, args.steps, args.out)


if __name__ == "__main__":
    sys.exit(main())
