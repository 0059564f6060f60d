"""Cold-start probe: seconds from import to GpuAllegroHand-v0's first finished step on a GPU,
with MuJoCo Warp's kernel cache and the CUDA driver's cache empty and gpu-envs' prebuilt kernels
left out (GPU_ENVS_WARP_KERNELS=0), under one of these modes:
  default   Warp's defaults (PTX, or CUBIN where the driver's CUDA is older than Warp's toolkit)
  cubin     warp.config.cuda_output = "cubin" (no second compile by the driver)
  parallel  cubin, and every Warp module imported by then built at once by warp.force_load
            with max_workers threads before the first step
Run each mode in a fresh process with WARP_CACHE_PATH and CUDA_CACHE_PATH set to empty folders.

    python tools/warp_cold_start_probe.py MODE [--env GpuAllegroHand-v0] [--num-envs 4096]
"""

import argparse
import json
import os
import time

START = time.perf_counter()


def main(argv=None):
    parser = argparse.ArgumentParser(description="MuJoCo Warp cold start: import to the first finished step (GPU)")
    parser.add_argument("mode", choices=["default", "cubin", "parallel"])
    parser.add_argument("--env", default="GpuAllegroHand-v0")
    parser.add_argument("--num-envs", type=int, default=4096)
    args = parser.parse_args(argv)
    os.environ["GPU_ENVS_WARP_KERNELS"] = "0"  # measure Warp building its kernels, not the shipped ones
    import warp as wp  # after the arguments: --help works without Warp

    if args.mode in ("cubin", "parallel"):
        wp.config.cuda_output = "cubin"
    import gymnasium as gym
    import torch

    import gpu_envs  # noqa: F401

    env = gym.make_vec(args.env, num_envs=args.num_envs, device="cuda")
    made = time.perf_counter()
    if args.mode == "parallel":
        wp.force_load(device="cuda:0", max_workers=16)
    loaded = time.perf_counter()
    env.reset(seed=0)
    env.step(torch.zeros(env.action_space.shape, device="cuda"))
    env.block_until_ready()
    done = time.perf_counter()
    print(json.dumps({"mode": args.mode, "warp": wp.config.version, "import_and_make_s": round(made - START, 1),
                      "force_load_s": round(loaded - made, 1), "first_reset_and_step_s": round(done - loaded, 1),
                      "total_s": round(done - START, 1)}), flush=True)


if __name__ == "__main__":
    main()
