"""Start-up benchmark: where the seconds before an env's first step (and a training run's first
iteration) go, on cold caches and then on warm ones.

    python -m gpu_envs.startup_benchmark --env GpuAllegroHand-v0 --num-envs 16384
    python -m gpu_envs.startup_benchmark --env GpuCartpole-v0 --num-envs 512 \\
        --train "python examples/train.py task=Cartpole"

Every run is a new Python process. "cold": JAX's compilation cache, MuJoCo Warp's kernel cache
and the CUDA driver's cache are new, empty folders, as on a freshly started machine (the Warp
kernels gpu-envs ships are seeded as usual; GPU_ENVS_WARP_KERNELS=0 leaves them out); "warm":
the same folders again, as the cold run left them. The JAX cache is gpu_envs' own, with its
settings (a JAX_COMPILATION_CACHE_DIR of yours is not passed on). Phases, in seconds from the
previous mark: interpreter start and `import torch`; `import gpu_envs` (JAX, MuJoCo, MJX);
`gymnasium.make_vec`; the first `reset`; the first `step`, finished on the device. Warp-backend rows also count the
kernel modules the run built (the rest came from the cache). With `--train CMD` the command runs
cold and warm as well, and the row gives the seconds from its start to its first progress line
(the first training iteration), with the command's own stamped start-up lines; the command is
stopped there. `--json PATH` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gpu_envs._cli import positive_int

# each run's cache folders: gpu_envs' JAX cache (with gpu_envs' settings for it), Warp's, the driver's
CACHE_VARIABLES = ("GPU_ENVS_JAX_CACHE", "WARP_CACHE_PATH", "CUDA_CACHE_PATH")
# a user's own JAX cache settings would replace gpu_envs' defaults, which are what is measured
DROPPED_VARIABLES = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")
PHASES = ("import_torch", "import_gpu_envs", "make_vec", "first_reset", "first_step")
FIRST_ITERATION = "it "  # the progress lines of examples/train.py start with "it <n>/<total>"
STAMPED = re.compile(r"\[ *[0-9.]+ s\] ")  # its start-up lines: "[  12.3 s] creating ..."


def _warp_modules_built(since: float) -> int:
    """Warp module folders in the kernel cache whose metadata was written after `since` (epoch s):
    the modules this process built; shipped ones keep their archived time. (For a Warp-backend
    env: Warp is then initialised.)"""
    import warp

    cache = Path(warp.config.kernel_cache_dir)
    return sum(1 for meta in cache.glob("wp_*/*.meta") if meta.stat().st_mtime >= since)


# The child process's first lines: running `-m gpu_envs.startup_benchmark` would import gpu_envs
# (and JAX) before the first mark, so the imports are timed in a script of their own.
CHILD = """
import json, sys, time
stamps = {}
import torch
stamps["import_torch"] = time.time()
import gymnasium, gpu_envs
stamps["import_gpu_envs"] = time.time()
from gpu_envs.startup_benchmark import child
print(json.dumps(child(stamps, *json.loads(sys.argv[1]))), flush=True)
"""


def child(stamps: dict, env_id: str, num_envs: int, device: str | None, backend: str | None) -> dict:
    """The phases after the imports, in this process; returns every phase's wall-clock stamp (epoch
    seconds), the env's backend and device, and the Warp modules built."""
    import gymnasium as gym
    import torch

    kwargs = {} if backend is None else {"backend": backend}
    env = gym.make_vec(env_id, num_envs=num_envs, device=device, **kwargs)
    stamps["make_vec"] = time.time()
    env.reset(seed=0)
    env.block_until_ready()
    stamps["first_reset"] = time.time()
    env.step(torch.zeros(env.action_space.shape, device=env.device))
    env.block_until_ready()
    stamps["first_step"] = time.time()
    return {"stamps": stamps, "backend": env.backend, "device": str(env.device),
            "warp_modules_built": _warp_modules_built(stamps["import_gpu_envs"]) if env.backend == "warp" else None}


def _phases(started: float, stamps: dict) -> dict:
    """Seconds of each phase from the previous stamp (the first from `started`), and the total."""
    out, last = {}, started
    for name in PHASES:
        out[name] = round(stamps[name] - last, 2)
        last = stamps[name]
    out["total"] = round(last - started, 2)
    return out


def _environment(caches: dict) -> dict:
    """This process's environment variables with the run's cache folders, without the user's JAX
    cache settings."""
    return {**{k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}, **caches}


def _env_run(args, caches: dict) -> dict:
    """One env start-up in a new process with the cache folders `caches`: its phases (seconds),
    backend, device and the Warp modules it built."""
    command = [sys.executable, "-c", CHILD, json.dumps([args.env, args.num_envs, args.device, args.backend])]
    started = time.time()
    result = subprocess.run(command, env=_environment(caches), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the env's start-up run failed:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return {"backend": report["backend"], "device": report["device"], "seconds": _phases(started, report["stamps"]),
            "warp_modules_built": report["warp_modules_built"]}


def _train_run(command: str, caches: dict, timeout: float = 900.0) -> dict:
    """Seconds from starting `command` to its first progress line, and its stamped start-up lines;
    the command and every process it started are stopped there, or after `timeout` seconds."""
    started = time.time()
    process = subprocess.Popen(shlex.split(command), env=_environment(caches), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
    stop = threading.Timer(timeout, _stop, (process,))
    stop.start()
    tail, stamped = [], []
    try:
        for line in process.stdout:
            if line.lstrip().startswith(FIRST_ITERATION):
                return {"first_iteration_s": round(time.time() - started, 2), "progress_lines": stamped}
            if STAMPED.match(line):
                stamped.append(line.rstrip())
            tail = (tail + [line])[-20:]
    finally:
        stop.cancel()
        _stop(process)
    raise SystemExit(f"the training command ended before its first iteration (or ran past {timeout:.0f} s):\n"
                     f"{''.join(tail)}")


def _stop(process: subprocess.Popen) -> None:
    """Kill `process` and the processes it started (its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def run(args) -> list[dict]:
    """The benchmark's rows (module docstring), each printed as a JSON line as it is measured."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="gpu-envs-startup-") as root:
        for kind, runner in (("env", lambda caches: _env_run(args, caches)),
                             ("train", lambda caches: _train_run(args.train, caches))):
            if kind == "train" and not args.train:
                continue
            caches = {name: os.path.join(root, kind, name.lower()) for name in CACHE_VARIABLES}
            for cache in ("cold", "warm"):
                row = {"env": args.env, "num_envs": args.num_envs, "run": kind, "cache": cache, **runner(caches)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m gpu_envs.startup_benchmark",
                                     description="seconds to an env's first step, phase by phase, cold and warm")
    parser.add_argument("--env", default="GpuAllegroHand-v0")
    parser.add_argument("--num-envs", type=positive_int, default=16384)
    parser.add_argument("--device", default=None, help="the env's device (default: the env's default)")
    parser.add_argument("--backend", default=None, help="the env's physics backend (default: the env's default)")
    parser.add_argument("--train", default=None, metavar="CMD",
                        help='a training command to time to its first iteration, e.g. "python examples/train.py"')
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = run(args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
