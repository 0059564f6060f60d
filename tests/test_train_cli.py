"""examples/train.py and gpu_envs.train: each library trains Cartpole for 2 iterations from the
command line, every run writes to its own folder, checkpoints round-trip (resume and replay),
Hydra overrides resolve, the Ant trains with its metric on the progress line, and loading the
trainers leaves other libraries as they were."""

import datetime
import os
import pathlib
import re
import subprocess
import sys

import pytest
import torch

from gpu_envs import play
from gpu_envs.render import gl_unavailable

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHIPPED_CHECKPOINT = EXAMPLES / "checkpoints" / "Cartpole.pth"  # rl_games, saved at iteration 150


def run_cli(*overrides, tmp_path, launcher=(), check=True, task="Cartpole", num_envs=16, environ=None):
    cmd = [sys.executable, *launcher, str(EXAMPLES / "train.py"), f"task={task}", "sim_device=cpu",
           f"num_envs={num_envs}", "seed=0", f"train_dir={tmp_path}", *overrides]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    # the session's XLA cache (conftest): a program any test compiled before is not compiled again
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                         env={**env, "JAX_PLATFORMS": "cpu", **(environ or {})})
    if check:
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout if check else out


def run_folders(train_dir):
    return sorted(p for p in pathlib.Path(train_dir).glob("Cartpole_*") if p.is_dir())


CHECKPOINTS = {"rl_games": "nn/Cartpole.pth", "skrl": "checkpoints/Cartpole.pt", "sb3": "nn/Cartpole.zip",
               "rsl_rl": "nn/Cartpole.pt"}
POLICIES = {"rl_games": "nn/Cartpole_policy.pt", "skrl": "checkpoints/Cartpole_policy.pt",
            "sb3": "nn/Cartpole_policy.pt", "rsl_rl": "nn/Cartpole_policy.pt"}  # TorchScript, for gpu_envs.play


@pytest.mark.slow
@pytest.mark.parametrize("library", ["rl_games", "skrl", "sb3", "rsl_rl"])
def test_two_iterations_train_save_resume_and_replay(library, tmp_path):
    """Train, resume (rl_games and SB3; skrl's checkpoints keep no step count and rsl_rl's resume
    is its runner's, whose numbering tests/test_wrapper_rsl_rl.py checks) and replay."""
    out = run_cli(f"train.library={library}", "max_iterations=2", tmp_path=tmp_path)
    assert "it     2/2" in out and "done: 2 iterations" in out
    first, = run_folders(tmp_path)
    checkpoint = first / CHECKPOINTS[library]
    assert checkpoint.is_file()
    policy = str(first / POLICIES[library])  # the TorchScript policy that `python -m gpu_envs.play` replays
    play.check_policy(play.load_policy(policy), torch.zeros(3, 4), (3, 1), policy, "GpuCartpole-v0")
    assert os.path.isfile(policy.replace(".pt", ".onnx"))  # and the same policy as ONNX
    if library == "rl_games":
        assert "cuda_graph: off (the learner runs on cpu, not a CUDA GPU)" in out  # the config asks; CPU says why
        assert "done: 2 iterations, 512 env steps in" in out  # 2 x 16 envs x 16 steps, both iterations counted
    if library in ("rl_games", "sb3"):
        before = checkpoint.stat().st_mtime_ns
        out = run_cli(f"train.library={library}", "max_iterations=3", f"checkpoint={checkpoint}", tmp_path=tmp_path)
        second, = set(run_folders(tmp_path)) - {first}  # the resumed run got its own folder
        assert "done: " in out and (second / CHECKPOINTS[library]).is_file()
        assert checkpoint.stat().st_mtime_ns == before  # the checkpoint resumed from is left as it was
        assert "env steps (resumed at " in out  # the summary counts this run's steps only
    folders = len(run_folders(tmp_path))
    out = run_cli(f"train.library={library}", "test=True", f"checkpoint={checkpoint}",
                  "train.params.config.player.games_num=4", tmp_path=tmp_path)
    assert "mean return" in out or "av reward" in out
    assert len(run_folders(tmp_path)) == folders  # a replay without video writes no folder


def test_experiment_names_the_run_folder_and_is_reused(tmp_path):
    from gpu_envs.train.run import create_run_directory

    first = create_run_directory(str(tmp_path), "Cartpole", "mine")
    again = create_run_directory(str(tmp_path), "Cartpole", "mine")
    assert first == again == str(tmp_path / "mine") and os.path.isdir(first)


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path):
    from gpu_envs.train.run import create_run_directory

    now = datetime.datetime(2026, 11, 29, 8, 30, 5)
    folders = [create_run_directory(str(tmp_path), "Cartpole", None, now=now) for _ in range(3)]
    assert [os.path.basename(f) for f in folders] == [
        "Cartpole_2026-11-29_08-30-05", "Cartpole_2026-11-29_08-30-05_2", "Cartpole_2026-11-29_08-30-05_3"]
    assert all(os.path.isdir(f) for f in folders)


def test_resume_at_or_below_the_checkpoint_iteration_is_refused_before_anything_runs(tmp_path):
    before = SHIPPED_CHECKPOINT.stat().st_mtime_ns
    out = run_cli("max_iterations=150", f"checkpoint={SHIPPED_CHECKPOINT}", tmp_path=tmp_path, check=False)
    assert out.returncode != 0 and "is at iteration 150" in out.stderr and "would train nothing" in out.stderr
    assert "creating GpuCartpole-v0" not in out.stdout  # refused before the env compiles
    assert run_folders(tmp_path) == [] and SHIPPED_CHECKPOINT.stat().st_mtime_ns == before


def test_resume_past_the_checkpoint_iteration_is_accepted():
    from gpu_envs.train.resume import check_resume

    check_resume("rl_games", str(SHIPPED_CHECKPOINT), 151)  # one more iteration to train: no SystemExit
    check_resume("sb3", "any.zip", 1)  # SB3 and skrl train max_iterations more: nothing to check
    with pytest.raises(SystemExit, match="max_iterations=100 would train nothing"):
        check_resume("rl_games", str(SHIPPED_CHECKPOINT), 100)


def test_overrides_resolve_like_isaacgymenvs():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from gpu_envs.train.config import register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(EXAMPLES / "cfg"), version_base=None):
        cfg = compose("config", overrides=["task=AllegroHand", "num_envs=16", "max_iterations=3",
                                           "train.params.config.minibatch_size=16", "experiment=mine"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["task"]["env"]["id"] == "GpuAllegroHand-v0"
    assert resolved["train"]["params"]["config"]["minibatch_size"] == 16
    assert resolved["train"]["params"]["config"]["max_epochs"] == 3
    assert resolved["train"]["params"]["config"]["name"] == "mine"
    assert resolved["train"]["params"]["network"]["mlp"]["units"] == [1024, 512, 256, 128]
    from gpu_envs.tasks.allegro_hand import AllegroHandConfig

    env_params = AllegroHandConfig(**resolved["task"]["env"]["params"])  # every key is an env parameter
    assert env_params.timestep * env_params.substeps == pytest.approx(1 / 30)  # the reference's 30 Hz control


@pytest.mark.parametrize("task, env_id, units, numbers", [
    ("Ant", "GpuAnt-v0", [256, 128, 64], (500, 16, 4, 2, 3e-4)),
    ("Humanoid", "GpuHumanoid-v0", [400, 200, 100], (1000, 32, 5, 4, 5e-4)),
])
def test_locomotion_configs_are_isaacgymenvs_ppo_configs(task, env_id, units, numbers):
    """The train config holds IsaacGymEnvs' <task>PPO.yaml numbers (max_epochs, horizon_length,
    mini_epochs, critic_coef, learning_rate), and every task parameter is one the env takes."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from gpu_envs.tasks import task_spec
    from gpu_envs.train.config import register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(EXAMPLES / "cfg"), version_base=None):
        cfg = OmegaConf.to_container(compose("config", overrides=[f"task={task}"]), resolve=True)
    assert cfg["task"]["env"]["id"] == env_id and cfg["train"]["library"] == "rl_games"
    task_spec(env_id).task_cls.Config(**cfg["task"]["env"]["params"])  # every key is an env parameter
    p = cfg["train"]["params"]["config"]
    assert cfg["train"]["params"]["network"]["mlp"]["units"] == units
    assert (p["name"], p["max_epochs"], p["horizon_length"], p["mini_epochs"], p["critic_coef"],
            float(p["learning_rate"])) == (task, *numbers)
    assert (cfg["task"]["env"]["numEnvs"] * p["horizon_length"]) % p["minibatch_size"] == 0


@pytest.mark.slow
def test_ant_trains_with_its_forward_speed_on_the_progress_line(tmp_path):
    """One rl_games iteration (the default library) of 4 envs, episodes cut to 8 steps so that
    some finish: the progress line and TensorBoard carry the task's metric, mean_forward_speed."""
    out = run_cli("max_iterations=1", "+task.env.params.max_episode_steps=8", tmp_path=tmp_path, task="Ant",
                  num_envs=4)
    assert "rl_games imported" in out and "creating GpuAnt-v0 with 4 envs" in out
    line, = [line for line in out.splitlines() if line.startswith("it     1/1")]
    assert re.search(r"\| return +-?\d+\.\d\d \| length +8\.0 \| mean forward speed +-?\d+\.\d\d m/s \|", line), line
    assert "consecutive successes" not in line
    run, = pathlib.Path(tmp_path).glob("Ant_*")
    events = b"".join(f.read_bytes() for f in run.glob("summaries/events.out.tfevents.*"))
    assert b"mean_forward_speed/step" in events and b"mean_forward_speed/iter" in events


def test_unknown_library_is_refused(tmp_path):
    cmd = [sys.executable, str(EXAMPLES / "train.py"), "train.library=cleanrl", "sim_device=cpu"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode != 0 and "train.library must be one of" in out.stderr


@pytest.mark.slow
def test_shipped_cartpole_checkpoint_balances(tmp_path):
    out = run_cli("test=True", f"checkpoint={SHIPPED_CHECKPOINT}", "train.params.config.player.games_num=4",
                  tmp_path=tmp_path)
    mean = float(out.split("av reward:")[1].split()[0])
    assert mean > 450


def test_video_interval_is_converted_from_env_steps_to_step_calls():
    from gpu_envs.train.env import clip_every

    assert clip_every(20000, 512) == 40  # 39.06 step() calls: the next whole one, >= 20000 env steps apart
    assert clip_every(256, 16) == 16
    assert clip_every(100, 16384) == 1  # a step() call of more envs than the interval: every call
    with pytest.raises(ValueError, match="video_interval"):
        clip_every(0, 16)


@pytest.mark.skipif(gl_unavailable() is not None, reason="no OpenGL context for rendering here")
def test_video_option_records_clips_every_video_interval_env_steps(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    out = run_cli("max_iterations=2", "video=True", "video_interval=256", "video_length=3", "render_envs=2",
                  tmp_path=tmp_path)
    run, = run_folders(tmp_path)
    clips = sorted(os.listdir(run / "videos"))
    # 256 env steps of 16 envs = 16 step() calls; clips are named by the step() call they start at
    assert clips[:2] == ["train-step0.mp4", "train-step16.mp4"] and "video: saved" in out


def test_two_process_gloo_run_trains_one_policy(tmp_path):
    """torchrun, 2 CPU processes (gloo), skrl: one printer, global step count, ranks stay in sync."""
    torchrun = ("-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2")
    out = run_cli("train.library=skrl", "max_iterations=2", "multi_gpu=True", tmp_path=tmp_path, launcher=torchrun)
    assert out.count("it     1/2") == 1  # rank 0 prints, rank 1 does not
    assert "done: 2 iterations, 1,024 env steps" in out  # 2 ranks x 16 envs x 16 steps x 2
    assert "ranks in sync: yes" in out  # gradients were averaged: both ranks hold the same policy
    run, = run_folders(tmp_path)  # rank 1 wrote no folder of its own
    assert (run / "checkpoints/Cartpole.pt").is_file()


@pytest.mark.parametrize("library", ["sb3", "rsl_rl"])
def test_multi_gpu_is_refused_for_the_single_process_libraries_before_the_env_is_made(library, tmp_path):
    torchrun_rank = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2"}  # as torchrun sets them
    out = run_cli(f"train.library={library}", "multi_gpu=True", tmp_path=tmp_path, check=False, environ=torchrun_rank)
    assert out.returncode != 0 and f"the {library} path trains in one process" in out.stderr
    assert "creating GpuCartpole-v0" not in out.stdout


def test_multi_gpu_outside_torchrun_says_how_to_launch(tmp_path):
    out = run_cli("multi_gpu=True", tmp_path=tmp_path, check=False)
    assert out.returncode != 0 and "torchrun --nproc_per_node=G" in out.stderr


@pytest.mark.slow
def test_skrl_path_learns_cartpole(tmp_path):
    """The skrl mapping trains at the task's 512 envs: 30 iterations pass a mean return of 75
    (with skrl's value scaler on, 50 iterations stayed near 5: docs/training.md, "skrl and value
    normalization")."""
    out = run_cli("train.library=skrl", "max_iterations=30", "num_envs=512", "seed=42", tmp_path=tmp_path)
    final = out.split("final mean return ")[1].split(",")[0]
    assert float(final) > 75, out[-2000:]


def test_torch_compile_option_wraps_the_model_and_keeps_the_plain_module_for_export():
    import torch

    from gpu_envs.train.rl_games_trainer import compile_model, uncompiled

    model = torch.nn.Linear(2, 2)
    agent = type("Agent", (), {"model": model})()
    compile_model(agent, False)  # the shipped configs' setting
    assert agent.model is model
    compile_model(agent, "reduce-overhead")
    assert agent.model is not model and uncompiled(agent.model) is model


def _python(code: str, cwd, **env) -> str:
    """Run `code` in a fresh interpreter, in `cwd` (not the source tree: gpu_envs as installed)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd,
                         env={**os.environ, "JAX_PLATFORMS": "cpu", **env})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_importing_gpu_envs_imports_no_training_code(tmp_path):
    code = ("import sys, gpu_envs; print(sorted(m for m in sys.modules if m.startswith("
            "('gpu_envs.train', 'rl_games', 'skrl', 'stable_baselines3', 'hydra'))))")
    assert _python(code, tmp_path) == "[]"


def test_loading_the_trainers_leaves_torch_the_environment_and_skrl_as_they_were(tmp_path):
    """In a fresh interpreter, with WORLD_SIZE=2 as under torchrun (skrl would start NCCL at import)."""
    code = """
import os, torch
compile_, sample, environ = torch.compile, torch.distributions.Normal.sample, dict(os.environ)
from gpu_envs.train import load_trainer
for library in ("rl_games", "skrl", "sb3"):
    load_trainer(library)
import skrl
assert torch.compile is compile_, "torch.compile"
assert torch.distributions.Normal.sample is sample, "Normal.sample"
# every variable is still there with its value (WORLD_SIZE and the others skrl's scope hides included);
# the libraries' imports may add their own (TORCHINDUCTOR_CACHE_DIR, TF_CPP_MIN_LOG_LEVEL, ...)
assert all(os.environ.get(k) == v for k, v in environ.items()), "os.environ"
assert not torch.distributed.is_initialized(), "a process group was started"
assert not skrl.config.torch.is_distributed and skrl.config.torch.world_size == 1, "skrl's config"
print("unchanged")
"""
    assert _python(code, tmp_path, WORLD_SIZE="2", RANK="0", LOCAL_RANK="0").endswith("unchanged")


def test_compile_on_first_call_defers_only_this_threads_function_compiles(monkeypatch):
    import threading

    import torch

    from gpu_envs.train.library_import import compile_on_first_call

    calls = []

    def fake_compile(model=None, **kwargs):
        calls.append((model, kwargs))
        return lambda *args: ("compiled", model(*args))

    monkeypatch.setattr(torch, "compile", fake_compile)
    other = []
    with compile_on_first_call():
        deferred = torch.compile(abs, mode="max-autotune")
        decorated = torch.compile(mode="default")(len)
        worker = threading.Thread(target=lambda: other.append(torch.compile(abs)))
        worker.start()
        worker.join()
        assert calls == [(abs, {})]  # another thread's call went to torch.compile at once
    assert torch.compile is fake_compile
    assert deferred(-2) == ("compiled", 2) and decorated("ab") == ("compiled", 2)
    assert calls[1:] == [(abs, {"mode": "max-autotune"}), (len, {"mode": "default"})]  # compiled at first call


@pytest.mark.parametrize("version, safe", [((3, 10, 14), True), ((3, 11, 7), False), ((3, 11, 8), True),
                                            ((3, 12, 1), False), ((3, 12, 2), True), ((3, 13, 0), True)])
def test_the_library_is_imported_beside_the_env_only_where_ast_parsing_is_thread_safe(version, safe):
    """CPython 3.11.0-3.11.7 and 3.12.0-3.12.1 can fail two threads' ast.parse (gh-106905)."""
    from gpu_envs.train.library_import import ast_parsing_is_thread_safe

    assert ast_parsing_is_thread_safe(version) is safe


def test_environ_without_hides_a_variable_and_puts_it_back(monkeypatch):
    from gpu_envs.train.library_import import environ_without

    monkeypatch.setenv("WORLD_SIZE", "2")
    with environ_without("WORLD_SIZE"):
        assert "WORLD_SIZE" not in os.environ
    assert os.environ["WORLD_SIZE"] == "2"


def test_skrl_distributed_mode_lasts_while_the_scope_is_open():
    pytest.importorskip("skrl")
    import skrl
    import torch.distributed as dist

    from gpu_envs.train.distributed import Ranks
    from gpu_envs.train.skrl_trainer import skrl_distributed

    config = skrl.config.torch

    def mode():
        return config.is_distributed, config.rank, config.local_rank, config.world_size

    before = mode()
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # stands in for the group
    try:
        with skrl_distributed(Ranks(rank=1, local_rank=1, world_size=2), "cpu"):
            assert mode() == (True, 1, 1, 2)
        assert mode() == before
    finally:
        dist.destroy_process_group()
