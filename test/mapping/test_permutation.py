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

"""
A permuted, sign-flipped joint map yields the same observation and command.

Hypothesis draws a permutation of the 18 wire slots, a sign and an offset
per policy joint and a permutation of the wire's feet. Wire data permuted
consistently (``q_hw' = sign * (q_hw - offset)`` at the new slot) must give
the *identical* observation, and the mapper's command must be the same
transformation of the reference command. Values are multiples of 2^-10 and
offsets multiples of 1/8, so every conversion is exact in float32.
"""

from __future__ import annotations

import copy

from hypothesis import given, settings, strategies as st
import numpy as np
import yaml

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.mapping.action import ActionMapper, ActionMapperConfig
from krabby_parkour_ros.mapping.joint_map import JointMap
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.mapping.observation import ObservationBuilder

from .wire import JOINT_MAP_DIR, make_observation, quat_from_rpy

BASE = yaml.safe_load((JOINT_MAP_DIR / 'go2_sim.yaml').read_text())
OFFSETS = (-0.5, -0.25, -0.125, 0.0, 0.125, 0.25, 0.5)


def permuted_map(perm, signs, offsets, foot_perm) -> dict:
    """Move wire slot s to perm[s]; apply sign/offset per policy joint; permute feet."""
    data = copy.deepcopy(BASE)
    hw = data['hardware']
    old_names = list(hw['joint_names'])
    slot_of = {name: s for s, name in enumerate(old_names)}
    new = {
        key: [None] * 18
        for key in (
            'joint_names',
            'target_lower',
            'target_upper',
            'position_lower',
            'position_upper',
            'hold_position',
        )
    }
    transform = {}  # old slot -> (sign, offset)
    for j, entry in enumerate(data['policy']['joints']):
        transform[slot_of[entry['hardware']]] = (signs[j], offsets[j])
        entry['sign'] = signs[j]
        entry['offset'] = offsets[j]
    for s in range(18):
        sign, offset = transform.get(s, (1.0, 0.0))
        lo = sign * (hw['target_lower'][s] - offset)
        hi = sign * (hw['target_upper'][s] - offset)
        new['joint_names'][perm[s]] = old_names[s]
        new['target_lower'][perm[s]] = min(lo, hi)
        new['target_upper'][perm[s]] = max(lo, hi)
        lo = sign * (hw['position_lower'][s] - offset)
        hi = sign * (hw['position_upper'][s] - offset)
        new['position_lower'][perm[s]] = min(lo, hi)
        new['position_upper'][perm[s]] = max(lo, hi)
        new['hold_position'][perm[s]] = sign * (hw['hold_position'][s] - offset)
    hw.update(new)
    hw['foot_names'] = [hw['foot_names'][i] for i in foot_perm]
    return data, transform


def wire(values, perm, transform) -> np.ndarray:
    out = np.zeros(18)
    for s in range(18):
        sign, offset = transform.get(s, (1.0, 0.0))
        out[perm[s]] = sign * (values[s] - offset)
    return out


def wire_velocity(values, perm, transform) -> np.ndarray:
    out = np.zeros(18)
    for s in range(18):
        out[perm[s]] = transform.get(s, (1.0, 0.0))[0] * values[s]
    return out


def grid(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    return np.round(rng.uniform(low, high, size) * 1024.0) / 1024.0


@settings(max_examples=40, deadline=None)
@given(
    perm=st.permutations(list(range(18))),
    signs=st.lists(st.sampled_from([1.0, -1.0]), min_size=12, max_size=12),
    offsets=st.lists(st.sampled_from(OFFSETS), min_size=12, max_size=12),
    foot_perm=st.permutations([0, 1, 2, 3]),
    seed=st.integers(0, 2**16),
)
def test_permuted_map_gives_identical_observation_and_command(
    perm, signs, offsets, foot_perm, seed
) -> None:
    data, transform = permuted_map(perm, signs, offsets, foot_perm)
    reference_map = JointMap.from_dict(BASE)
    other_map = JointMap.from_dict(data)
    other_map.validate_against(GO2_PARKOUR_TEACHER)
    builders = [ObservationBuilder(GO2_PARKOUR_TEACHER, m) for m in (reference_map, other_map)]
    mappers = [
        ActionMapper(GO2_PARKOUR_TEACHER, m, ActionMapperConfig(max_delta_per_step=0.5))
        for m in (reference_map, other_map)
    ]
    # Each caller holds its own last command (the rate limit's reference).
    previous = [m.default_command() for m in mappers]
    rng = np.random.default_rng(seed)
    base_feet = BASE['hardware']['foot_names']
    new_feet = data['hardware']['foot_names']
    for k in range(7):
        q = grid(rng, -1.5, 1.5, 18)
        qd = grid(rng, -8.0, 8.0, 18)
        feet = (rng.random(4) < 0.5).astype(float)
        common = {
            'orientation': quat_from_rpy(*rng.uniform(-0.3, 0.3, 3)),
            'angular_velocity': rng.uniform(-1, 1, 3),
            'base_velocity': rng.uniform(-1, 1, 3),
            'height_scan': rng.uniform(0.0, 1.0, 132),
        }
        observations = [
            make_observation(
                10**9 + k * 20_000_000, q, joint_velocities=qd, foot_contacts=feet, **common
            ),
            make_observation(
                10**9 + k * 20_000_000,
                wire(q, perm, transform),
                joint_velocities=wire_velocity(qd, perm, transform),
                foot_contacts=[feet[base_feet.index(n)] for n in new_feet],
                **common,
            ),
        ]
        command = NavigationCommand(vx=0.5, yaw_rate=0.3)
        built = [b.build(o, command).copy() for b, o in zip(builders, observations)]
        np.testing.assert_array_equal(built[0], built[1])
        action = rng.uniform(-6.0, 6.0, 12)
        results = [m.map(action, p) for m, p in zip(mappers, previous)]
        assert all(r.ok for r in results)
        assert results[0].limited == results[1].limited
        expected = wire(results[0].command.astype(np.float64), perm, transform)
        np.testing.assert_allclose(results[1].command, expected, rtol=0, atol=2e-6)
        for b, r in zip(builders, results):
            b.record_action(r.raw_action)
        previous = [r.command.copy() for r in results]
