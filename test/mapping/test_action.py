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

"""ActionMapper: clip, scale, offset, sign, holds, soft limits, rate limit, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.mapping.action import (
    ActionMapper,
    ActionMapperConfig,
    ActionMappingError,
    MappingRefusal,
)
from krabby_parkour_ros.mapping.joint_map import JointMap

from .wire import scrambled_map_dict

# Policy joint -> (slot, sign, offset) of the scrambled map (wire.py):
# FL_hip 17 +1 0 | FR_hip 3 -1 0.5 | RL_hip 5 +1 -0.25 | RR_hip 0 -1 0
# FL_thigh 11 -1 1.0 | FR_thigh 9 +1 0 | RL_thigh 2 +1 -0.5 | RR_thigh 14 -1 0.25
# FL_calf 6 +1 0 | FR_calf 12 -1 -1.0 | RL_calf 8 +1 0 | RR_calf 1 +1 0.125
RAW = [1.0, -1.0, 5.0, -5.0, 0.4, 0.0, -4.8, 4.8, 2.0, -2.0, 10.0, -10.0]
CLIPPED = [1.0, -1.0, 4.8, -4.8, 0.4, 0.0, -4.8, 4.8, 2.0, -2.0, 4.8, -4.8]
# target = default + 0.25 * clipped:
# 0.35, -0.35, 1.3, -1.3, 0.9, 0.8, -0.2, 2.2, -1.0, -2.0, -0.3, -2.7
# q_hw = sign * (target - offset), by slot; undriven slots 4 7 10 13 15 16 hold 0.25.
UNCLAMPED = [
    1.3,
    -2.825,
    0.3,
    0.85,
    0.25,
    1.55,
    -1.0,
    0.25,
    -0.3,
    0.8,
    0.25,
    0.1,
    1.0,
    0.25,
    -1.95,
    0.25,
    0.25,
    0.35,
]
UNDRIVEN = [4, 7, 10, 13, 15, 16]


ZERO = np.zeros(18, dtype=np.float32)


def make_mapper(max_delta=None, tight=True) -> ActionMapper:
    data = scrambled_map_dict()
    if tight:
        data['hardware']['target_upper'][17] = 0.3  # FL_hip: 0.35 -> 0.3
        data['hardware']['target_lower'][1] = -2.5  # RR_calf: -2.825 -> -2.5
    return ActionMapper(
        GO2_PARKOUR_TEACHER,
        JointMap.from_dict(data),
        ActionMapperConfig(max_delta_per_step=max_delta),
    )


def tight_target() -> np.ndarray:
    """Return UNCLAMPED clamped into the tight map's target limits."""
    target = np.array(UNCLAMPED)
    target[17], target[1] = 0.3, -2.5
    return target


def test_clip_scale_offset_sign_without_limits() -> None:
    mapper = make_mapper(tight=False)
    result = mapper.map(np.array(RAW, dtype=np.float32), ZERO)
    assert result.ok and not result.limited
    assert result.refusal is None and result.detail == ''
    assert not result.target_limited and not result.rate_limited
    np.testing.assert_allclose(result.clipped_action, CLIPPED, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.raw_action, RAW, rtol=0, atol=1e-6)
    assert result.command is not None
    assert result.command.dtype == np.float32 and result.command.shape == (18,)
    np.testing.assert_allclose(result.command, UNCLAMPED, rtol=0, atol=1e-6)


def test_soft_limits_clamp_and_report() -> None:
    mapper = make_mapper()
    result = mapper.map(RAW, ZERO)
    assert result.ok and result.limited
    assert result.target_limited and not result.rate_limited
    np.testing.assert_allclose(result.command, tight_target(), rtol=0, atol=1e-6)
    assert mapper.clamp_counts() == {'hw_1': 1, 'hw_17': 1}


def test_undriven_joints_hold_whatever_the_action() -> None:
    mapper = make_mapper()
    for raw in (np.zeros(12), np.full(12, 4.0), np.full(12, -7.0)):
        assert mapper.map(raw, ZERO).command[UNDRIVEN].tolist() == [0.25] * 6


def test_rate_limit_sequence_from_a_given_previous_command() -> None:
    # The caller feeds back what it sent: from zero, each target moves 0.125
    # (exact in binary) per call towards the clamped target, so after k
    # calls a joint is at clip(target, -0.125 k, +0.125 k).
    mapper = make_mapper(max_delta=0.125)
    target = tight_target()
    previous = np.zeros(18, dtype=np.float32)
    for k in range(1, 21):
        result = mapper.map(RAW, previous)
        # The 20th call moves hw_1 exactly 0.125: not limited any more.
        assert result.ok and result.target_limited and result.rate_limited == (k < 20), k
        expected = np.clip(target, -0.125 * k, 0.125 * k)
        np.testing.assert_allclose(result.command, expected, rtol=0, atol=1e-6, err_msg=f'{k}')
        previous = result.command.copy()
    # RR_calf's -2.5 rad needs 20 steps of 0.125: every slot has arrived.
    final = mapper.map(RAW, previous)
    assert final.target_limited and not final.rate_limited
    np.testing.assert_allclose(final.command, target, rtol=0, atol=1e-6)
    # A slot is limited on every call that leaves more than 0.125 to go:
    # hw_1 (-2.5) 19 times, hw_0 (1.3) 10 times, hw_11 (0.1) never.
    counts = mapper.rate_limit_counts()
    assert counts['hw_1'] == 19 and counts['hw_0'] == 10 and 'hw_11' not in counts
    names = mapper.joint_map.hardware_joint_names
    assert counts == {
        names[i]: int(np.ceil(abs(t) / 0.125)) - 1 for i, t in enumerate(target) if abs(t) > 0.125
    }


def test_the_rate_limit_is_relative_to_the_previous_command_it_is_given() -> None:
    mapper = make_mapper(max_delta=0.05, tight=False)
    previous = np.array(UNCLAMPED, dtype=np.float32)
    previous[:6] += np.array([0.2, -0.2, 0.03, -0.03, 1.0, 0.0], dtype=np.float32)
    # UNCLAMPED is the target: each slot moves back by at most 0.05; slot 4
    # (undriven, hold 0.25) moves 0.05 of its 1.0 back.
    expected = np.array(UNCLAMPED)
    expected[:6] += [0.15, -0.15, 0.0, 0.0, 0.95, 0.0]
    for _ in range(3):  # no memory: the same inputs give the same command
        result = mapper.map(RAW, previous)
        assert result.rate_limited and not result.target_limited
        np.testing.assert_allclose(result.command, expected, rtol=0, atol=1e-6)
    assert mapper.rate_limit_counts() == {'hw_0': 3, 'hw_1': 3, 'hw_4': 3}


def test_rate_limit_alone() -> None:
    mapper = make_mapper(max_delta=0.05, tight=False)
    default = mapper.default_command()
    result = mapper.map(np.full(12, 1.0), default)  # +0.25 rad per policy joint
    assert result.rate_limited and not result.target_limited and result.limited
    step = result.command.astype(np.float64) - default
    np.testing.assert_allclose(np.abs(step)[mapper.joint_map.driven_mask], 0.05, atol=1e-6)
    np.testing.assert_allclose(step[~mapper.joint_map.driven_mask], 0.0, atol=1e-7)


def test_without_a_rate_limit_the_previous_command_is_not_used() -> None:
    mapper = make_mapper(tight=False)
    anything = np.full(18, math.nan, dtype=np.float32)
    result = mapper.map(RAW, anything)
    np.testing.assert_allclose(result.command, UNCLAMPED, rtol=0, atol=1e-6)


@pytest.mark.parametrize('bad', [math.nan, math.inf, -math.inf])
def test_non_finite_action_never_produces_a_command(bad: float) -> None:
    mapper = make_mapper(max_delta=0.1)
    good = mapper.map(np.full(12, 0.5), ZERO)
    kept_raw = good.raw_action.copy()
    counts = mapper.rate_limit_counts(), mapper.clamp_counts()
    raw = np.zeros(12)
    raw[5] = bad
    result = mapper.map(raw, ZERO)
    assert result.command is None and not result.ok and not result.limited
    assert result.refusal is MappingRefusal.NON_FINITE_ACTION
    assert result.detail == "raw action non-finite at ['FR_thigh']"
    # The refused action is not taken into the buffers nor counted.
    np.testing.assert_array_equal(result.raw_action, kept_raw)
    assert (mapper.rate_limit_counts(), mapper.clamp_counts()) == counts
    # The next good action is limited from whatever the caller holds: 0.2
    # everywhere, towards the default pose (a zero action).
    held = np.full(18, 0.2, dtype=np.float32)
    after = mapper.map(np.zeros(12), held)
    assert after.ok and after.rate_limited
    np.testing.assert_allclose(
        after.command, np.clip(mapper.default_command(), 0.1, 0.3), rtol=0, atol=1e-6
    )


def test_non_finite_previous_command_under_a_rate_limit_is_refused() -> None:
    mapper = make_mapper(max_delta=0.1)
    previous = np.zeros(18, dtype=np.float32)
    previous[4] = math.nan
    previous[9] = math.inf
    result = mapper.map(np.zeros(12), previous)
    assert result.command is None
    assert result.refusal is MappingRefusal.NON_FINITE_TARGET
    assert result.detail == "previous_command non-finite at ['hw_4', 'hw_9']"
    assert mapper.rate_limit_counts() == {}


def test_refusals_are_a_str_enum() -> None:
    assert MappingRefusal('non_finite_action') is MappingRefusal.NON_FINITE_ACTION
    assert MappingRefusal.NON_FINITE_TARGET == 'non_finite_target'


def test_shapes() -> None:
    mapper = make_mapper()
    assert mapper.map(np.zeros((1, 12)), ZERO).ok
    with pytest.raises(ActionMappingError, match=r'raw_action: expected shape \(12,\)'):
        mapper.map(np.zeros(13), ZERO)
    with pytest.raises(ActionMappingError):
        mapper.map(np.zeros((2, 12)), ZERO)
    with pytest.raises(ActionMappingError, match=r'previous_command: expected shape \(18,\)'):
        mapper.map(np.zeros(12), np.zeros(12))


def test_results_are_read_only_and_reused() -> None:
    mapper = make_mapper()
    result = mapper.map(np.zeros(12), ZERO)
    for array in (result.command, result.clipped_action, result.raw_action):
        with pytest.raises(ValueError):
            array[0] = 1.0
    # The good path allocates no result: the same object per limit outcome.
    assert mapper.map(np.full(12, 0.1), ZERO) is result


def test_default_command_and_reset() -> None:
    mapper = make_mapper()
    default = mapper.default_command()
    # Default pose: targets 0.1 -0.1 0.1 -0.1 0.8 0.8 1.0 1.0 -1.5 ... through the map.
    expected = [
        0.1,
        -1.625,
        1.5,
        0.6,
        0.25,
        0.35,
        -1.5,
        0.25,
        -1.5,
        0.8,
        0.25,
        0.2,
        0.5,
        0.25,
        -0.75,
        0.25,
        0.25,
        0.1,
    ]
    np.testing.assert_allclose(default, expected, rtol=0, atol=1e-6)
    default[0] = 9.0  # a copy
    assert mapper.default_command()[0] == pytest.approx(0.1)
    result = mapper.map(RAW, ZERO)
    mapper.reset()
    assert not result.raw_action.any() and not result.clipped_action.any()
    assert not result.command.any()
    # No last-command state: the control step owns the last safe target.
    for name in ('last_safe_command', 'hold_command', '_last_safe'):
        assert not hasattr(mapper, name), name


@pytest.mark.parametrize('value', [0.0, -0.1, 1.0001, math.nan, math.inf, True, '0.1'])
def test_config_validation(value) -> None:
    with pytest.raises(ActionMappingError, match='max_delta_per_step'):
        ActionMapperConfig(max_delta_per_step=value)
