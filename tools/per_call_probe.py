"""Where does the fixed per-call cost of a jitted MJX step come from? (run on the GPU machine)

    python tools/per_call_probe.py --num-envs 4096 [--json out.json]

For Cartpole variants it times the env's batched step (`env.batched.step`, jitted here with the
state donated; no torch, no output packing) three ways: called once per step from Python
(pipelined: no sync between calls), the host time for those calls to return, and inside
lax.scan. Variants: the asset with and without the slider's joint limit
(the limit brings MJX's constraint solver and its data-dependent while loops into the step);
run under different XLA_FLAGS by the caller.
It also reports the compiled step's argument count, while loops, and whether a call transfers
anything host<->device (jax.transfer_guard).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time

import gpu_envs  # noqa: F401
import gymnasium as gym
import jax
import jax.numpy as jnp

from gpu_envs._cli import add_json_argument, positive_int, print_row, write_rows
from gpu_envs.sim import asset_path


def _limit_asset() -> str:
    """The shipped cartpole with IsaacGymEnvs' +-4 m slider limit put back."""
    text = asset_path("cartpole.xml").read_text()
    text = text.replace('type="slide" axis="1 0 0"/>', 'type="slide" axis="1 0 0" range="-4 4" limited="true"/>')
    path = os.path.join(tempfile.mkdtemp(), "cartpole_limit.xml")
    with open(path, "w") as f:
        f.write(text)
    return path


def _time_calls(fn, state, action, n):
    for _ in range(5):
        state = fn(state, action)[0]
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for _ in range(n):
        state = fn(state, action)[0]
    host = time.perf_counter() - t0
    jax.block_until_ready(state)
    total = time.perf_counter() - t0
    return state, 1e3 * total / n, 1e3 * host / n


def probe(name: str, asset: str, num_envs: int, n: int) -> dict:
    env = gym.make_vec("GpuCartpole-v0", num_envs=num_envs, asset=asset)
    batched = env.batched  # the pure batched functions env.step() jits (no torch, no packing)
    keys = jax.device_put(jax.random.split(jax.random.PRNGKey(0), num_envs), env.jax_device)
    state, _ = jax.jit(batched.reset)(keys)
    action = jax.device_put(jnp.zeros((num_envs, 1)), env.jax_device)
    step = jax.jit(batched.step, donate_argnums=0)
    t0 = time.perf_counter()
    compiled = step.lower(state, action).compile()
    compile_s = time.perf_counter() - t0
    hlo = compiled.as_text()
    entry = hlo[hlo.index("ENTRY"):]
    entry = entry[:entry.index("\n}")]
    n_params = len(re.findall(r"= [^ ]+ parameter\(", entry))
    state, per_call_ms, host_ms = _time_calls(step, state, action, n)
    try:
        with jax.transfer_guard("disallow"):
            state = step(state, action)[0]
            jax.block_until_ready(state)
        transfers = "none"
    except Exception as err:  # noqa: BLE001 - report whatever the guard says
        transfers = str(err).split("\n")[0][:200]

    def many(s):
        return jax.lax.scan(lambda c, _: (batched.step(c, action)[0], None), s, None, length=n)[0]

    scan = jax.jit(many, donate_argnums=0)
    state = scan(state)
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    state = scan(state)
    jax.block_until_ready(state)
    scan_ms = 1e3 * (time.perf_counter() - t0) / n
    env.close()
    return {"variant": name, "num_envs": num_envs, "per_call_ms": per_call_ms, "host_ms_per_call": host_ms,
            "scan_ms_per_step": scan_ms, "compile_s": compile_s, "executable_params": n_params,
            "while_loops": hlo.count(" while("), "transfers_per_call": transfers}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-envs", type=positive_int, default=4096)
    parser.add_argument("--steps", type=positive_int, default=200)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}; "
          f"simplified_consts={getattr(jax.config, 'jax_use_simplified_jaxpr_constants', 'n/a')}", flush=True)
    rows = []
    for name, asset in [("slider limit (IsaacGymEnvs asset)", _limit_asset()),
                        ("no limit (shipped asset)", str(asset_path("cartpole.xml")))]:
        row = probe(name, asset, args.num_envs, args.steps)
        rows.append(row)
        print_row(row)
    write_rows(rows, args.json)


if __name__ == "__main__":
    main()
