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

"""ActionMapper: clip, scale, offset, sign, holds, soft limits, rate limit, faults."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.mapping.action import (
    ActionMapper,
    ActionMapperConfig,
    ActionMappingError,
    REASON_BOTH,
    REASON_OK,
    REASON_RATE_LIMIT,
    REASON_SOFT_LIMIT,
)
from krabby_parkour_ros.mapping.joint_map import JointMap

from .wire import captured_logs, scrambled_map_dict

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


def test_clip_scale_offset_sign_without_limits() -> None:
    mapper = make_mapper(tight=False)
    result = mapper.map(np.array(RAW, dtype=np.float32))
    assert result.ok and not result.limited and result.reason == REASON_OK
    np.testing.assert_allclose(result.clipped_action, CLIPPED, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.raw_action, RAW, rtol=0, atol=1e-6)
    assert result.command.dtype == np.float32 and result.command.shape == (18,)
    np.testing.assert_allclose(result.command, UNCLAMPED, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(mapper.last_safe_command, result.command)


def test_soft_limits_clamp_and_report() -> None:
    mapper = make_mapper()
    result = mapper.map(RAW)
    expected = list(UNCLAMPED)
    expected[17] = 0.3
    expected[1] = -2.5
    assert result.ok and result.limited and result.reason == REASON_SOFT_LIMIT
    np.testing.assert_allclose(result.command, expected, rtol=0, atol=1e-6)


def test_undriven_joints_hold_whatever_the_action() -> None:
    mapper = make_mapper()
    for raw in (np.zeros(12), np.full(12, 4.0), np.full(12, -7.0)):
        assert mapper.map(raw).command[UNDRIVEN].tolist() == [0.25] * 6


def test_rate_limit_moves_at_most_max_delta_per_call() -> None:
    mapper = make_mapper(max_delta=0.1)
    mapper.reset(np.zeros(18))
    first = mapper.map(RAW)
    target = np.array(UNCLAMPED)
    target[17], target[1] = 0.3, -2.5
    expected = np.clip(target, -0.1, 0.1)
    assert first.ok and first.limited and first.reason == REASON_BOTH
    np.testing.assert_allclose(first.command, expected, rtol=0, atol=1e-6)
    previous = first.command.copy()
    for _ in range(24):
        result = mapper.map(RAW)
        assert np.max(np.abs(result.command.astype(np.float64) - previous)) <= 0.1 + 1e-6
        previous = result.command.copy()
    # 2.5 rad needs 25 steps of 0.1: the last slot arrives on the 25th call.
    assert result.reason == REASON_BOTH
    final = mapper.map(RAW)
    np.testing.assert_allclose(final.command, target, rtol=0, atol=1e-5)
    assert final.reason == REASON_SOFT_LIMIT


def test_rate_limit_alone() -> None:
    mapper = make_mapper(max_delta=0.05, tight=False)
    mapper.reset(mapper.default_command())
    result = mapper.map(np.full(12, 1.0))  # +0.25 rad per policy joint
    assert result.reason == REASON_RATE_LIMIT and result.limited
    step = result.command.astype(np.float64) - mapper.default_command()
    np.testing.assert_allclose(np.abs(step)[mapper.joint_map.driven_mask], 0.05, atol=1e-6)
    np.testing.assert_allclose(step[~mapper.joint_map.driven_mask], 0.0, atol=1e-7)


@pytest.mark.parametrize('bad', [math.nan, math.inf, -math.inf])
def test_non_finite_action_never_produces_a_command(bad: float) -> None:
    mapper = make_mapper(max_delta=0.1)
    mapper.reset(np.zeros(18))
    good = mapper.map(np.zeros(12))
    safe = good.command.copy()
    raw = np.zeros(12)
    raw[5] = bad
    result = mapper.map(raw)
    assert not result.ok and not result.limited
    assert "raw action non-finite at ['FR_thigh']" in result.reason
    np.testing.assert_array_equal(result.command, safe)
    np.testing.assert_array_equal(mapper.hold_command(), safe)
    assert np.all(np.isfinite(result.clipped_action)) and np.all(np.isfinite(result.raw_action))
    # The next good action is rate limited from the last safe target, not from the fault.
    after = mapper.map(np.zeros(12))
    assert np.max(np.abs(after.command - safe)) <= 0.1 + 1e-6


def test_shapes() -> None:
    mapper = make_mapper()
    assert mapper.map(np.zeros((1, 12))).ok
    with pytest.raises(ActionMappingError, match=r'raw_action: expected shape \(12,\)'):
        mapper.map(np.zeros(13))
    with pytest.raises(ActionMappingError):
        mapper.map(np.zeros((2, 12)))


def test_results_are_read_only() -> None:
    result = make_mapper().map(np.zeros(12))
    for array in (result.command, result.clipped_action, result.raw_action):
        with pytest.raises(ValueError):
            array[0] = 1.0


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
    np.testing.assert_array_equal(mapper.last_safe_command, default)  # seeded at start
    seed = np.zeros(18)
    seed[17] = 2.0  # above FL_hip's 0.3
    with captured_logs('krabby_parkour_ros.mapping.action') as records:
        mapper.reset(seed)
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "['hw_17']" in records[0].getMessage()
    assert mapper.last_safe_command[17] == pytest.approx(0.3)
    with pytest.raises(ActionMappingError, match='non-finite at slots \\[2\\]'):
        mapper.reset([0.0, 0.0, math.nan] + [0.0] * 15)
    with pytest.raises(ActionMappingError, match=r'expected shape \(18,\)'):
        mapper.reset(np.zeros(12))


@pytest.mark.parametrize('value', [0.0, -0.1, math.nan, math.inf, True, '0.1'])
def test_config_validation(value) -> None:
    with pytest.raises(ActionMappingError, match='max_delta_per_step'):
        ActionMapperConfig(max_delta_per_step=value)
