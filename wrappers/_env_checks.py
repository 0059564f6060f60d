"""What every adapter checks of the env it is given, so a wrong one fails at once and says why."""

from gymnasium.vector import AutoresetMode, VectorEnv


def require_gpu_env(env, adapter: str, methods: tuple[str, ...] = ()) -> None:
    """TypeError unless `env` is a gpu_envs vector env (or a wrapper of one) with `methods`;
    ValueError unless it resets finished envs inside `step` (autoreset_mode SAME_STEP), which
    the RL libraries assume: they read the finished episode's last observation from that step."""
    from gpu_envs.vector_env import GpuVectorEnv

    if not isinstance(env, VectorEnv) or not isinstance(env.unwrapped, GpuVectorEnv):
        raise TypeError(f"{adapter} wraps a gpu_envs env from gymnasium.make_vec (got {type(env).__name__})")
    missing = [m for m in methods if not hasattr(env, m)]
    if missing:
        raise TypeError(f"{adapter} needs the env's {', '.join(missing)}, which {type(env).__name__} does not pass "
                        "through: give it the gpu_envs env itself (or gpu_envs.video.RecordVideo of it)")
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if mode != AutoresetMode.SAME_STEP:
        raise ValueError(f"{adapter} needs an env with autoreset_mode='same_step' (the default), got {mode}")


def require_array_observations(env, adapter: str) -> None:
    """ValueError when `env`'s observations are a dict (the "state+<image>" obs modes), which
    `adapter` does not hand over."""
    from gymnasium.spaces import Dict

    if isinstance(env.single_observation_space, Dict):
        raise ValueError(f"{adapter} takes array observations (obs_mode 'state', 'rgb', 'depth' or 'rgbd'), not the "
                         f"dict of obs_mode {getattr(env.unwrapped, 'obs_mode', '?')!r}: use one of those, or "
                         "Stable-Baselines3's MultiInputPolicy (gpu_envs.wrappers.sb3) for the dict")
