"""The pixel scenes compared between the GPU and the CPU renderer, and their recorder.

The GPU machine's Warp build may lack Warp's CPU backend and a CPU machine has no GPU, so the two
paths are compared through images recorded on a GPU and kept in tests/data/gpu_images.npz:

    python tests/gpu_images.py            # on a machine with a CUDA GPU and MuJoCo Warp
"""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

RECORDED = Path(__file__).parent / "data" / "gpu_images.npz"
# env id -> the physics backend the GPU renders it with (the CPU side always steps with "jax")
SCENES = {"GpuCartpole-v0": "jax", "GpuAllegroHand-v0": "warp"}
NUM_ENVS, IMAGE_SIZE, SEED = 4, 64, 0


def reset_images(env_id: str, device: str, backend: str) -> np.ndarray:
    """The RGB images of `env_id`'s first reset (seed SEED): (NUM_ENVS, IMAGE_SIZE, IMAGE_SIZE, 3) uint8."""
    import gpu_envs  # noqa: F401  (registers the envs)

    env = gym.make_vec(env_id, num_envs=NUM_ENVS, device=device, backend=backend, obs_mode="rgb",
                       image_size=IMAGE_SIZE)
    try:
        obs, _ = env.reset(seed=SEED)
        return obs.cpu().numpy()
    finally:
        env.close()


def difference_from_recorded(env_id: str, device: str, backend: str) -> tuple[float, float]:
    """`env_id`'s reset images drawn now on `device` against the recorded GPU images: (mean
    absolute difference in grey levels, fraction of pixel channels more than 16 apart)."""
    difference = abs(reset_images(env_id, device, backend).astype(int) - np.load(RECORDED)[env_id])
    return float(difference.mean()), float((difference > 16).mean())


def record(path: Path = RECORDED) -> None:
    """Render every scene on the GPU and write them to `path` (one array per env id)."""
    images = {env_id: reset_images(env_id, "cuda", backend) for env_id, backend in SCENES.items()}
    np.savez_compressed(path, **images)
    print(f"wrote {path}: " + ", ".join(f"{k} {v.shape}" for k, v in images.items()))


if __name__ == "__main__":
    record(Path(sys.argv[1]) if len(sys.argv) > 1 else RECORDED)
