"""wandb=True (gpu_envs.train.wandb_log): a W&B run in the run's folder with the run's config,
receiving what the trainers write to TensorBoard; offline here (WANDB_MODE=offline)."""

import time

import pytest
from omegaconf import OmegaConf

from gpu_envs.train.run import Run
from gpu_envs.train.wandb_log import wandb_run


def _cfg(**overrides):
    return OmegaConf.create({"wandb": True, "wandb_project": "gpu-envs-test", "wandb_entity": "", "wandb_group": "seeds",
                             "test": False, "seed": 7, **overrides})


def test_an_offline_run_in_the_run_folder_gets_the_config_and_the_tensorboard_scalars(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from torch.utils.tensorboard import SummaryWriter

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = Run(directory=str(tmp_path / "Cartpole_run"), start=0.0)
    with wandb_run(_cfg(), run) as logged:
        assert logged is not None and logged.name == "Cartpole_run" and logged.group == "seeds"
        writer = SummaryWriter(log_dir=str(tmp_path / "Cartpole_run" / "summaries"))
        writer.add_scalar("rewards/step", 1.5, 0)
        writer.close()
    records, = (tmp_path / "Cartpole_run" / "wandb").glob("offline-run-*/run-*.wandb")
    for _ in range(100):  # W&B's service process may still be writing its records
        data = records.read_bytes()  # protobuf records: their strings are stored as they are
        if b"rewards/step" in data:
            break
        time.sleep(0.2)
    assert b"rewards/step" in data  # the TensorBoard scalar reached the W&B run
    assert b"wandb_group" in data and b"gpu-envs-test" in data  # the run's config


@pytest.mark.parametrize("overrides, directory", [({"wandb": False}, "runs/x"), ({"test": True}, "runs/x"), ({}, None)])
def test_no_w_and_b_run_when_off_for_a_replay_or_without_a_run_folder(overrides, directory):
    with wandb_run(_cfg(**overrides), Run(directory=directory, start=0.0)) as logged:
        assert logged is None


def test_wandb_missing_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` now raises ImportError
    with pytest.raises(SystemExit, match=r"wandb=True needs Weights & Biases: pip install -e '\.\[wandb\]'"):
        with wandb_run(_cfg(), Run(directory=str(tmp_path), start=0.0)):
            pass
