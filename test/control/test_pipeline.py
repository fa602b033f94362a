# Copyright 2026 Krabby parkour maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""PolicyPipeline: build -> infer -> map, the caller's previous command passed through."""

import numpy as np

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.control.pipeline import FailureKind, PolicyPipeline
from krabby_parkour_ros.mapping.action import ActionMapper, ActionMapperConfig, MappingRefusal
from krabby_parkour_ros.mapping.navigation import NavigationCommand

from .test_step import Builder, FakeClock, JOINT_MAP, Model, observation, ScriptedModel


def _pipeline(actions, max_delta=0.1):
    builder = Builder()
    model = ScriptedModel(actions)
    mapper = ActionMapper(
        GO2_PARKOUR_TEACHER, JOINT_MAP, ActionMapperConfig(max_delta_per_step=max_delta)
    )
    return builder, model, mapper, PolicyPipeline(builder, model, mapper)


def _target(action: np.ndarray) -> np.ndarray:
    """Return an action's hardware targets from the joint map alone."""
    policy = np.asarray(GO2_PARKOUR_TEACHER.default_joint_positions) + 0.25 * np.clip(
        action, -4.8, 4.8
    )
    return JOINT_MAP.hardware_from_policy(policy)


def test_the_rate_limit_is_relative_to_the_previous_command_passed_in() -> None:
    action = np.full(12, 2.0)
    builder, model, mapper, pipeline = _pipeline([action])
    obs = observation(FakeClock(), 1)
    previous = np.full(18, 0.3, dtype=np.float32)
    for _ in range(2):  # the same previous command: the same result (no memory)
        outcome = pipeline.run(obs, NavigationCommand(), previous)
        assert outcome.failure is None and outcome.mapping_refusal is None
        assert outcome.error == '' and outcome.limited
        expected = np.clip(_target(action), 0.2, 0.4)
        np.testing.assert_allclose(outcome.command, expected, rtol=0, atol=1e-6)
        np.testing.assert_allclose(outcome.action, np.full(12, 2.0))
    assert set(outcome.stage_times) == {'build', 'infer', 'map'}
    assert len(builder.recorded) == 2
    np.testing.assert_array_equal(builder.recorded[-1], action)


def test_a_mapping_refusal_is_a_mapping_failure_with_its_enum() -> None:
    action = np.zeros(12)
    action[[0, 11]] = np.nan
    builder, model, mapper, pipeline = _pipeline([action])
    outcome = pipeline.run(observation(FakeClock(), 1), NavigationCommand(), np.zeros(18))
    assert outcome.command is None and outcome.action is None
    assert outcome.failure is FailureKind.MAPPING
    assert outcome.mapping_refusal is MappingRefusal.NON_FINITE_ACTION
    assert outcome.message == "raw action non-finite at ['FL_hip', 'RR_calf']"
    assert outcome.error == "mapping: raw action non-finite at ['FL_hip', 'RR_calf']"
    assert builder.recorded == []  # a refused action is not fed back


def test_a_non_finite_previous_command_is_refused_as_a_target() -> None:
    builder, model, mapper, pipeline = _pipeline([np.zeros(12)])
    previous = np.zeros(18, dtype=np.float32)
    previous[2] = np.inf
    outcome = pipeline.run(observation(FakeClock(), 1), NavigationCommand(), previous)
    assert outcome.failure is FailureKind.MAPPING
    assert outcome.mapping_refusal is MappingRefusal.NON_FINITE_TARGET
    assert outcome.message == "previous_command non-finite at ['hw_2']"


def test_other_failures_carry_no_mapping_refusal() -> None:
    builder, model, mapper, pipeline = _pipeline([np.zeros(12)])
    builder.fail = 'imu missing'
    outcome = pipeline.run(observation(FakeClock(), 1), NavigationCommand(), np.zeros(18))
    assert outcome.failure is FailureKind.OBSERVATION and outcome.mapping_refusal is None
    assert outcome.error == 'observation: imu missing'


def test_reset_forgets_every_stage_without_a_seed() -> None:
    builder = Builder()
    model = Model()
    mapper = ActionMapper(GO2_PARKOUR_TEACHER, JOINT_MAP)
    pipeline = PolicyPipeline(builder, model, mapper)
    outcome = pipeline.run(observation(FakeClock(), 1), NavigationCommand(), np.zeros(18))
    assert outcome.failure is None
    result = mapper.map(np.full(12, 0.5), np.zeros(18))
    pipeline.reset()
    assert builder.resets == 1 and model.resets == 1
    assert not result.raw_action.any() and not result.command.any()
