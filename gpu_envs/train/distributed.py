"""One training run over several processes started by torchrun (multi_gpu=True).

Each process (rank) runs its own envs on its own GPU (cuda:LOCAL_RANK; the CPU when there is
no GPU, as in CI) with its own seed; the library averages gradients across ranks. This module
says which rank this process is, picks its device, and averages the progress metrics so
every rank sees the same numbers and stops at the same iteration.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import torch
import torch.distributed as dist


@dataclasses.dataclass(frozen=True)
class Ranks:
    """This process's place in the run: global rank, rank on its node, number of processes."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that prints, logs and writes checkpoints and videos."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def ranks_for(multi_gpu: bool) -> Ranks:
    """The run's Ranks: torchrun's RANK/LOCAL_RANK/WORLD_SIZE with multi_gpu, else one process."""
    if not multi_gpu:
        return Ranks()
    try:
        return Ranks(int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"]))
    except KeyError:
        raise SystemExit("multi_gpu=True runs under torchrun, which sets RANK, LOCAL_RANK and WORLD_SIZE: "
                         "torchrun --nproc_per_node=G examples/train.py ... multi_gpu=True") from None


def device_for(ranks: Ranks, sim_device: str) -> str:
    """cuda:LOCAL_RANK for a distributed run on GPUs, the CPU without them, else `sim_device`."""
    if not ranks.distributed:
        return sim_device
    if not torch.cuda.is_available() or sim_device == "cpu":
        return "cpu"
    if ranks.local_rank >= torch.cuda.device_count():
        raise SystemExit(f"local rank {ranks.local_rank} has no GPU: this node has {torch.cuda.device_count()}")
    torch.cuda.set_device(ranks.local_rank)
    return f"cuda:{ranks.local_rank}"


def init_process_group(ranks: Ranks, device: str) -> None:
    """The default process group: NCCL between GPUs, gloo on the CPU (idempotent)."""
    if ranks.distributed and not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend, rank=ranks.rank, world_size=ranks.world_size)


class MetricReducer:
    """Averages one iteration's progress metrics over ranks, in one all_reduce.

    Every rank calls `reduce` at the same point of every iteration (a collective), with its own
    sums of finished-episode returns and lengths, its episode count, the task's metrics (the
    same names on every rank: the keys of `task.init_metrics()`) and whether it has run past
    max_time; all get the global sums and mean metrics back, and `time_up` when any rank is
    past its limit, so all ranks stop together.
    """

    def __init__(self, ranks: Ranks, device):
        self.ranks = ranks
        self.device = device

    def reduce(self, return_sum: float, length_sum: float, episodes: float, metrics: Mapping[str, float] | None,
               time_up: bool) -> tuple[float, float, float, dict[str, float], bool]:
        """-> (episodes, return sum, length sum, each metric's mean, time_up) over all ranks."""
        names = list(metrics or {})
        values = [return_sum, length_sum, episodes, float(time_up), *(float(metrics[k]) for k in names)]
        if self.ranks.distributed:
            tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
            values = tensor.tolist()
            values[4:] = [v / self.ranks.world_size for v in values[4:]]
        r, length, n, up = values[:4]
        return n, r, length, dict(zip(names, values[4:])), up > 0


def report_sync(ranks: Ranks, module: torch.nn.Module) -> None:
    """Check that every rank ended with the same parameters (gradients were averaged).

    Rank 0 prints the result; a mismatch means the ranks trained apart, which the library's
    gradient averaging should make impossible.
    """
    if not ranks.distributed:
        return
    flat = torch.cat([p.detach().reshape(-1).double() for p in module.parameters()])
    checksum = torch.stack([flat.sum(), (flat * torch.arange(1, flat.numel() + 1, device=flat.device)).sum()])
    gathered = [torch.zeros_like(checksum) for _ in range(ranks.world_size)]
    dist.all_gather(gathered, checksum)
    same = all(torch.allclose(g, gathered[0], rtol=1e-9, atol=0.0) for g in gathered)
    if ranks.is_main:
        print(f"ranks in sync: {'yes' if same else 'NO'} (policy parameters on {ranks.world_size} ranks "
              f"{'identical' if same else 'differ'})", flush=True)
