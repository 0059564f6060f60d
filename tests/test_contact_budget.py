"""MuJoCo Warp's contact and constraint buffers: sized for every contact the scene can make
unless the task sets a budget (`Task.contacts_per_env`), and the Humanoid's budget holds what its
envs touch."""

import mujoco
import numpy as np
import pytest

from gpu_envs.sim import Simulation, _max_contacts, resolve_asset, warp_buffer_sizes
from gpu_envs.tasks.base import Task
from gpu_envs.tasks.humanoid import HumanoidTask, load_humanoid


@pytest.fixture(scope="module")
def humanoid_model():
    return load_humanoid(resolve_asset(HumanoidTask.Config().asset))


def test_without_a_budget_every_contact_the_scene_can_make_is_reserved(humanoid_model):
    every = _max_contacts(humanoid_model)
    assert warp_buffer_sizes(humanoid_model, 8) == (8 * every, 4 * every + 2 * humanoid_model.njnt)


def test_a_budget_sizes_the_shared_pool_and_each_env_s_rows(humanoid_model):
    assert warp_buffer_sizes(humanoid_model, 8, 16) == (8 * 16, 4 * 16 + 2 * humanoid_model.njnt)


def test_a_budget_above_what_the_scene_can_make_reserves_what_it_can(humanoid_model):
    assert warp_buffer_sizes(humanoid_model, 8, 10_000) == warp_buffer_sizes(humanoid_model, 8)


SCENE = """<mujoco><option cone="{cone}"/><default><geom condim="{condim}"/></default>
  <worldbody><geom type="plane" size="1 1 .1"/>
  <body name="a" pos="0 0 .1"><freejoint/><geom type="sphere" size=".05"/></body>
  <body name="b" pos=".2 0 .1"><freejoint/><geom type="sphere" size=".05"/></body></worldbody>
  <equality><weld body1="a" body2="b"/></equality></mujoco>"""


@pytest.mark.parametrize("condim, cone, rows_per_contact", [(3, "pyramidal", 4), (6, "pyramidal", 10),
                                                            (6, "elliptic", 6), (1, "pyramidal", 1)])
def test_rows_follow_the_largest_condim_the_cone_and_the_equality_constraints(condim, cone, rows_per_contact):
    model = mujoco.MjModel.from_xml_string(SCENE.format(condim=condim, cone=cone))
    contacts = _max_contacts(model)
    assert contacts >= 2 and model.neq == 1
    assert warp_buffer_sizes(model, 3) == (3 * contacts, rows_per_contact * contacts + 2 * model.njnt + 6)


def test_the_humanoid_task_hands_its_budget_to_its_simulation():
    assert HumanoidTask(device="cpu").sim.contacts_per_env == 16


def test_the_humanoid_s_envs_stay_within_its_contact_budget(humanoid_model):
    """MuJoCo's own step, random actions held for 10 steps, 20 episodes of 600 steps (they fall
    and lie on the ground): no step needs more contacts than the budget or more constraint rows
    than one env's buffer holds."""
    budget = HumanoidTask.contacts_per_env
    _, rows = warp_buffer_sizes(humanoid_model, 1, budget)
    data, rng = mujoco.MjData(humanoid_model), np.random.default_rng(0)
    most_contacts = most_rows = 0
    for _ in range(20):
        mujoco.mj_resetData(humanoid_model, data)
        data.qpos[7:] += rng.uniform(-0.2, 0.2, humanoid_model.nq - 7)
        for step in range(600):
            if step % 10 == 0:
                data.ctrl[:] = rng.uniform(-1.0, 1.0, humanoid_model.nu)
            mujoco.mj_step(humanoid_model, data)
            most_contacts, most_rows = max(most_contacts, data.ncon), max(most_rows, data.nefc)
    assert most_contacts >= 4  # it fell: lying on the ground touches with several bodies
    assert most_contacts <= budget and most_rows <= rows


def test_a_task_s_contact_budget_must_be_a_positive_int():
    broken = type("BadBudget", (HumanoidTask,), {"contacts_per_env": 0})
    with pytest.raises(TypeError, match=r"BadBudget.contacts_per_env must be a positive int, or None .*\(got 0\)"):
        broken.check_definition()
    assert Task.contacts_per_env is None  # the default: every contact


@pytest.mark.parametrize("budget", [0, -3, 2.5, True])
def test_a_simulation_refuses_a_budget_that_is_not_a_positive_int(humanoid_model, budget):
    with pytest.raises(ValueError, match=rf"contacts_per_env must be a positive int or None \(got {budget!r}\)"):
        Simulation(humanoid_model, 1, device="cpu", contacts_per_env=budget)
