"""Which randomized physical parameter changes a backend's physics? One zero-action episode per variant.

    python benchmarks/dr_param_probe.py warp [num_envs=1024] [variants=none,all,kp_kv,mass,friction,gravity,scale]

Each variant randomizes only that group of GpuAllegroHand-v0's domain-randomization parameters
(the others stay nominal; observation and action noise off) and reports hand_physics_check's
zero-action numbers. This is how per-env cube masses were found to break MuJoCo Warp (H100:
"mass" 52% of cubes fell, every other group 1-2% like "none"); rerun it after upgrading MuJoCo
Warp to see whether `object_mass_scale` can be allowed there. The env's own refusal is
bypassed here by switching `randomize` on after construction.
"""
import dataclasses
import json
import sys
import time

sys.path.insert(0, "benchmarks")
import jax.numpy as jnp  # noqa: E402
import gpu_envs  # noqa: E402,F401
from gpu_envs.tasks.allegro_hand import AllegroHandConfig, AllegroHandTask  # noqa: E402
from gpu_envs.vector_env import GpuVectorEnv  # noqa: E402
from hand_physics_check import episode  # noqa: E402

backend = sys.argv[1]
variants = sys.argv[3].split(",") if len(sys.argv) > 3 else ["none", "all", "kp_kv", "mass", "friction", "gravity", "scale"]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
for variant in variants:
    t0 = time.time()
    task = AllegroHandTask(AllegroHandConfig(), backend=backend)
    task.config = dataclasses.replace(task.config, randomize=True, obs_noise_std=0.0, action_noise_std=0.0)
    task._randomize_mass = True  # the probe's point: let the cube's mass vary, even on Warp
    draw = task._draw_params
    def nominal_except(key, keep=variant, draw=draw, task=task):
        p = draw(key)
        m = task.sim.mj_model
        nominal = {"kp": jnp.asarray(m.actuator_gainprm[:, 0], jnp.float32), "kv": jnp.asarray(-m.actuator_biasprm[:, 2], jnp.float32),
                   "mass_scale": jnp.float32(1.0), "friction_scale": jnp.float32(1.0),
                   "gravity": jnp.asarray(m.opt.gravity, jnp.float32), "object_scale": jnp.float32(1.0)}
        groups = {"kp_kv": ("kp", "kv"), "mass": ("mass_scale",), "friction": ("friction_scale",),
                  "gravity": ("gravity",), "scale": ("object_scale",), "all": tuple(nominal), "none": ()}
        return {k: (p[k] if k in groups[keep] else nominal[k]) for k in p}
    task._draw_params = nominal_except
    env = GpuVectorEnv(task, N)
    row = {"backend": backend, "variant": variant, **episode(env, "zero", 0), "s": round(time.time() - t0, 1)}
    print(json.dumps(row), flush=True)
    env.close()
