"""The public task API: write a task in one file and register it for `gymnasium.make_vec`.

    Task, TaskStep        the base class a task derives from, and what its step returns
    TaskConfig, param     the typed, range-checked config a task declares its parameters in
    register_task         the decorator that registers a task's gymnasium id
    average_over_finished a running average over finished episodes, for task metrics
    CameraDefaults        how render() frames one env of the task
    PhysicsState, Simulation, load_model, resolve_asset   the physics a task runs on
    gpu_envs.tasks.quat         unit-quaternion helpers (MuJoCo's w, x, y, z order)
    gpu_envs.tasks.locomotion   what the Ant and the Humanoid share: torso quantities, the
                                progress potential, the forward-speed info values and metric

docs/writing_a_task.md walks through a complete task.
"""

from ..camera import CameraDefaults
from ..sim import AssetError, PhysicsState, Simulation, load_model, resolve_asset
from .base import Task, TaskStep, average_over_finished
from .config import TaskConfig, param
from .registry import TaskSpec, env_ids, register_task, task_spec, unregister_task

__all__ = ["AssetError", "CameraDefaults", "PhysicsState", "Simulation", "Task", "TaskConfig", "TaskSpec",
           "TaskStep", "average_over_finished", "env_ids", "load_model", "param", "register_task", "resolve_asset", "task_spec",
           "unregister_task"]
