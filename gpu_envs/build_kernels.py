"""Build the MuJoCo Warp kernels of some envs on this GPU and archive them for `gpu_envs.kernel_pack`.

    python -m gpu_envs.build_kernels --out my_kernels/ [--env GpuAllegroHand-v0 GpuAnt-v0]
    GPU_ENVS_WARP_KERNELS=my_kernels/ python examples/train.py task=AllegroHand

Each env is created on the Warp backend in this process, with Warp's kernel cache pointed at a
new, empty folder and seeding off, reset and stepped with random actions; the modules Warp built
(binaries and `.meta` files, not the generated sources) go into `<out>/<kernel_pack.pack_name>`.
Kernels do not depend on the env count. Needs a CUDA GPU and MuJoCo Warp; the shipped archives
in gpu_envs/kernels/ are made this way, with the defaults.
"""

from __future__ import annotations

import argparse
import os
import tarfile
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from gpu_envs import kernel_pack
from gpu_envs._cli import positive_int

DEFAULT_ENVS = ("GpuAllegroHand-v0", "GpuAnt-v0")


def _module_folders(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.glob("wp_*") if p.is_dir())


def write_archive(cache: Path, path: Path) -> int:
    """Archive every module's binary and `.meta` under `cache` (not the generated sources) as the
    .tar.xz `path`, written beside it first and then renamed, so a reader never sees half of it;
    returns the number of module folders archived."""
    modules = _module_folders(cache)
    partial = path.with_name(f".{path.name}.partial")
    with tarfile.open(partial, "w:xz", preset=9) as archive:
        for module in modules:
            for file in sorted((cache / module).iterdir()):
                name = f"{module}/{file.name}"
                if kernel_pack.MEMBER.fullmatch(name):
                    info = archive.gettarinfo(file, arcname=name)
                    info.uid = info.gid = info.mtime = 0  # mtime 0 also marks seeded files as not built here
                    info.uname = info.gname = ""
                    with open(file, "rb") as f:
                        archive.addfile(info, f)
    os.replace(partial, path)
    return len(modules)


@contextmanager
def _seeding_off():
    """GPU_ENVS_WARP_KERNELS=0 inside the block (the archive holds what this Warp builds, not what
    an older archive had), restored after."""
    before = os.environ.get(kernel_pack.ENV_VAR)
    os.environ[kernel_pack.ENV_VAR] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[kernel_pack.ENV_VAR]
        else:
            os.environ[kernel_pack.ENV_VAR] = before


def build(env_ids: list[str], num_envs: int, steps: int, out: Path) -> Path:
    """Build the kernels `env_ids` use on the Warp backend into an empty kernel cache and archive
    them as `out/<pack_name>`; prints one line per env. Must run before Warp is initialised in
    this process (it chooses Warp's kernel cache folder)."""
    import warp

    if warp.config.kernel_cache_dir is not None:
        raise RuntimeError("build() must run before Warp is initialised (or given a kernel cache folder): "
                           f"Warp already uses {warp.config.kernel_cache_dir}")
    import gymnasium as gym
    import torch

    import gpu_envs  # noqa: F401  (registers the envs)

    with tempfile.TemporaryDirectory(prefix="gpu-envs-warp-cache-") as cache_root, _seeding_off():
        warp.config.kernel_cache_dir = cache_root
        warp.init()
        cache = Path(warp.config.kernel_cache_dir)
        name = None
        for env_id in env_ids:
            t0 = time.perf_counter()
            env = gym.make_vec(env_id, num_envs=num_envs, device="cuda", backend="warp")
            name = name or kernel_pack.matching_pack_name(env.unwrapped.jax_device)
            env.reset(seed=0)
            for _ in range(steps):
                env.step(torch.rand(env.action_space.shape, device=env.device) * 2 - 1)
            env.block_until_ready()
            env.close()
            print(f"{env_id}: built in {time.perf_counter() - t0:.1f} s; "
                  f"{len(_module_folders(cache))} modules in the cache", flush=True)
        out.mkdir(parents=True, exist_ok=True)
        path = out / name
        count = write_archive(cache, path)
    print(f"wrote {path}: {count} modules, {path.stat().st_size / 2**20:.1f} MiB", flush=True)
    return path


def main(argv: list[str] | None = None) -> None:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m gpu_envs.build_kernels",
                                     description="build envs' MuJoCo Warp kernels on this GPU and archive them")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for the archive (gpu_envs/kernels in a clone: the shipped ones)")
    parser.add_argument("--env", nargs="+", default=list(DEFAULT_ENVS), help="env ids (default: %(default)s)")
    parser.add_argument("--num-envs", type=positive_int, default=64, help="envs per env id (default: 64)")
    parser.add_argument("--steps", type=positive_int, default=3, help="random-action steps after the reset (default: 3)")
    args = parser.parse_args(argv)
    try:
        import mujoco_warp  # noqa: F401
        import warp  # noqa: F401
    except ImportError:
        parser.error("building kernels needs MuJoCo Warp, the 'warp' extra of gpu-envs: pip install -e '.[warp]'")
    import jax

    try:
        jax.devices("gpu")
    except RuntimeError:
        parser.error("building kernels needs a CUDA GPU visible to JAX (the kernels are built for it); none is here")
    build(args.env, args.num_envs, args.steps, args.out)


if __name__ == "__main__":
    main()
