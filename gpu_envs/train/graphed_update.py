"""rl_games' PPO minibatch update, captured once as a CUDA graph and replayed.

rl_games runs each minibatch update (forward, losses, backward, gradient clipping, Adam) as
several hundred small kernels launched one by one from Python, so for the small MLPs of these
tasks the update costs mostly launch overhead, not arithmetic. `GraphedA2CAgent` records
rl_games' own `calc_gradients` (the same code, so the same math) into a CUDA graph after a few
eager updates, then replays it for every minibatch: one launch instead of hundreds
(measurements: docs/training.md).

What a replay needs that eager code does not:
- the minibatch is copied into the graph's fixed input tensors;
- the learning rate is a device tensor that the captured Adam step reads (rl_games assigns a
  float, which a replay would not see), and checkpoints still store it as a float;
- rl_games' running observation statistics rebind their buffers to new tensors on every
  update; inside the graph the new values are copied back into the original buffers, so
  each replay starts from the last one's statistics;
- the losses and KL handed back are copies, since the graph overwrites its outputs.

Enabled by `cuda_graph: True` in the train config (`train.params.config.cuda_graph`); where the
update cannot be captured (no CUDA, multi-GPU, recurrent or asymmetric networks, mixed
precision, diagnostics) it says why once and runs eagerly.

Written against rl_games 1.6.5 (`A2CAgent.calc_gradients` and `train_result`, the optimizer's
learning-rate handling); pyproject.toml's rl-games extra pins the versions it is checked with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from rl_games.algos_torch import a2c_continuous
from rl_games.common.diagnostics import DefaultDiagnostics

MINIBATCH_KEYS = ("obs", "actions", "old_values", "old_logp_actions", "advantages", "returns", "mu", "sigma")
WARMUP_UPDATES = 2  # eager updates (real ones) on a side stream before capturing, as CUDA graphs need


def unsupported_reason(agent) -> str | None:
    """Why `agent`'s minibatch update cannot be replayed as a CUDA graph (None: it can)."""
    device = torch.device(agent.ppo_device)
    if device.type != "cuda":
        return f"the learner runs on {device}, not a CUDA GPU"
    if agent.multi_gpu:
        return "multi_gpu: gradients are all-reduced between processes eagerly"
    if agent.is_rnn:
        return "recurrent networks are not supported"
    if agent.has_central_value:
        return "a central value network is not supported"
    if agent.mixed_precision:
        return "mixed_precision is not supported"
    if type(agent.diagnostics) is not DefaultDiagnostics:
        return "use_diagnostics collects per-minibatch statistics that a replay would not add"
    if isinstance(agent.obs_shape, dict):
        return "dict observations are not supported"
    return None


def _buffer_slots(module: torch.nn.Module) -> list:
    """(owner module, buffer name, tensor) for every buffer of `module` and its children."""
    return [(owner, name, buf) for owner in module.modules() for name, buf in owner.named_buffers(recurse=False)
            if buf is not None]


def restore_rebound_buffers(slots: list) -> None:
    """Copy each buffer that was rebound to a new tensor back into its original tensor and
    rebind the original, so code captured in a CUDA graph updates the buffers in place."""
    for owner, name, original in slots:
        current = getattr(owner, name)
        if current is not original:
            original.copy_(current)
            setattr(owner, name, original)


def checkpoint_optimizer_state(state: dict) -> dict:
    """An optimizer state_dict as eager rl_games writes it: tensor learning rates as floats and
    `capturable` off, so the checkpoint resumes with or without CUDA graphs (or on the CPU)."""
    for group in state["param_groups"]:
        if torch.is_tensor(group["lr"]):
            group["lr"] = float(group["lr"])
        group["capturable"] = False
    return state


@dataclass
class _Capture:
    """One captured update: its graph, fixed inputs and outputs (per input shapes and mode)."""

    warmups: int = 0
    graph: torch.cuda.CUDAGraph | None = None
    inputs: dict = field(default_factory=dict)
    outputs: tuple = ()


class GraphedUpdate:
    """Replays `agent`'s `calc_gradients` from CUDA graphs; `run` stands in for it."""

    def __init__(self, agent):
        self.agent = agent
        self.device = torch.device(agent.ppo_device)
        self.captures: dict = {}
        # warm-up updates and captures share one side stream: autograd then sees every backward
        # on the stream that created its gradient accumulators (torch warns on a mismatch)
        self.stream = torch.cuda.Stream(self.device)
        self.lr = torch.zeros((), dtype=torch.float32, device=self.device)  # set by install_optimizer
        self._lr_value = None  # what self.lr holds, kept on the host so it is never read back
        self.install_optimizer()

    def install_optimizer(self) -> None:
        """Make the optimizer capturable and read its learning rate from `self.lr` (again after
        a checkpoint's state was loaded into it, which also drops graphs holding the old state)."""
        self.captures.clear()
        # as eager rl_games: the next update uses the optimizer's own (possibly just loaded) rate
        self.set_lr(float(self.agent.optimizer.param_groups[0]["lr"]))
        for group in self.agent.optimizer.param_groups:
            group["capturable"] = True
            group["lr"] = self.lr
        for state in self.agent.optimizer.state.values():
            if "step" in state and state["step"].device != self.device:  # capturable keeps steps on the GPU
                state["step"] = state["step"].to(self.device, torch.float32)

    def set_lr(self, lr: float) -> None:
        if lr != self._lr_value:
            self.lr.fill_(lr)
            self._lr_value = lr

    def _signature(self, batch: dict) -> tuple:
        agent = self.agent
        shapes = tuple(tuple(batch[k].shape) for k in MINIBATCH_KEYS)
        modes = tuple(m.training for m in agent.model.modules())
        return shapes, modes, agent.e_clip, agent.entropy_coef, agent.critic_coef, agent.bounds_loss_coef

    def run(self, batch: dict) -> None:
        """One minibatch update of `batch` (rl_games' dataset item); sets agent.train_result."""
        capture = self.captures.setdefault(self._signature(batch), _Capture())
        if capture.warmups < WARMUP_UPDATES:
            self._eager_on_side_stream(batch)
            capture.warmups += 1
            return
        if capture.graph is None:
            self._capture(capture, batch)
        for key in MINIBATCH_KEYS:
            capture.inputs[key].copy_(batch[key])
        capture.graph.replay()
        scalars, mu, sigma, b_loss = capture.outputs
        scalars = scalars.clone()
        b_loss = scalars[4] if torch.is_tensor(b_loss) else b_loss
        self.agent.train_result = (scalars[0], scalars[1], scalars[2], scalars[3], self.agent.last_lr, 1.0,
                                   mu.clone(), sigma.clone(), b_loss)

    def _eager_on_side_stream(self, batch: dict) -> None:
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.stream):
            a2c_continuous.A2CAgent.calc_gradients(self.agent, batch)
        torch.cuda.current_stream(self.device).wait_stream(self.stream)

    def _capture(self, capture: _Capture, batch: dict) -> None:
        agent = self.agent
        capture.inputs = {key: batch[key].clone() for key in MINIBATCH_KEYS}
        slots = _buffer_slots(agent.model)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self.stream):
            a2c_continuous.A2CAgent.calc_gradients(agent, capture.inputs)
            restore_rebound_buffers(slots)
            a_loss, c_loss, entropy, kl, _, _, mu, sigma, b_loss = agent.train_result
            b_value = b_loss if torch.is_tensor(b_loss) else torch.zeros_like(a_loss)
            scalars = torch.stack([a_loss, c_loss, entropy, kl, b_value.reshape(())])
        if agent.aux_loss_dict:
            raise RuntimeError("cuda_graph: the network has auxiliary losses, which are not supported; "
                               "set train.params.config.cuda_graph=False")
        capture.graph, capture.outputs = graph, (scalars, mu, sigma, b_loss)


class GraphedA2CAgent(a2c_continuous.A2CAgent):
    """rl_games' a2c_continuous agent whose minibatch updates replay a CUDA graph when the
    config asks for it (`cuda_graph: True`) and the setup allows it (`unsupported_reason`)."""

    graphed_update: GraphedUpdate | None = None  # None while rl_games' __init__ runs, and when off

    def __init__(self, base_name, params):
        super().__init__(base_name, params)
        if self.config.get("cuda_graph", False):
            reason = unsupported_reason(self)
            if reason is None:
                self.graphed_update = GraphedUpdate(self)
            elif self.global_rank == 0:
                print(f"cuda_graph: off ({reason}); minibatch updates run eagerly", flush=True)

    def calc_gradients(self, input_dict):
        if self.graphed_update is None:
            return super().calc_gradients(input_dict)
        self.graphed_update.run(input_dict)

    def train_actor_critic(self, input_dict):
        if self.graphed_update is None:
            return super().train_actor_critic(input_dict)
        self.set_train()
        self.calc_gradients(input_dict)
        self.graphed_update.set_lr(self.last_lr)
        return self.train_result

    def update_lr(self, lr):
        if self.graphed_update is None:
            return super().update_lr(lr)
        self.graphed_update.set_lr(float(lr))

    def get_full_state_weights(self):
        state = super().get_full_state_weights()
        if self.graphed_update is not None:
            state["optimizer"] = checkpoint_optimizer_state(state["optimizer"])
        return state

    def set_full_state_weights(self, weights, set_epoch=True):
        super().set_full_state_weights(weights, set_epoch)
        if self.graphed_update is not None:
            self.graphed_update.install_optimizer()
