"""What every adapter needs of the env: SAME_STEP autoreset, which the RL libraries assume."""

from gymnasium.vector import AutoresetMode


def require_same_step(env, adapter: str) -> None:
    """Raise ValueError unless `env` resets finished envs inside `step` (autoreset_mode SAME_STEP):
    the RL libraries read the finished episode's last observation from the same step."""
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if mode != AutoresetMode.SAME_STEP:
        raise ValueError(f"{adapter} needs an env with autoreset_mode='same_step' (the default), got {mode}")
