"""Adapters from gpu_envs' vector envs to RL libraries (installed as `gpu_envs.wrappers`)."""
