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
Golden vectors: every element of every built observation against the spec.

The reference below is written from ``parkour-policy.md`` (Observation) with
plain loops over python floats; it shares no code with the builder. The
scripted sequence covers: reset and a reset mid-sequence, the history
filled twice, decimated refresh of the scan and the delta yaws (held in
between), contacts toggling through the current-or-previous filter,
changing commands, yaw crossing the +-pi seam, missing joint velocities
(finite differences) and base velocity (estimator), and the final clip.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import yaml

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.mapping.joint_map import JointMap
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.mapping.observation import ObservationBuilder, ObservationConfig

from .wire import JOINT_MAP_DIR, make_observation, quat_from_rpy, scrambled_map_dict

DEFAULT_POS = (0.1, -0.1, 0.1, -0.1, 0.8, 0.8, 1.0, 1.0, -1.5, -1.5, -1.5, -1.5)
POLICY_DT = 0.02
REFRESH = 5
TOLERANCE = 1e-6


def wrap(angle: float) -> float:
    return math.atan2(math.sin(angle), math.cos(angle))


def map_params(data: dict) -> dict[str, list]:
    """Slot, sign and offset per policy joint and foot index per policy foot."""
    hw_names = data['hardware']['joint_names']
    hw_feet = data['hardware']['foot_names']
    joints = data['policy']['joints']
    return {
        'slot': [hw_names.index(j['hardware']) for j in joints],
        'sign': [float(j['sign']) for j in joints],
        'offset': [float(j['offset']) for j in joints],
        'foot': [hw_feet.index(f) for f in data['policy']['feet']],
        'hw_feet': len(hw_feet),
    }


def make_script(params: dict[str, list], seed: int = 7) -> list[dict | None]:
    """Return the scripted steps (None marks a reset)."""
    rng = random.Random(seed)
    steps: list[dict | None] = []
    yaw = 2.9
    commands = [(0.0, 0.0)] * 3 + [(0.5, 0.0)] * 4 + [(0.6, 0.8)] * 5 + [(0.3, -1.0)] * 20
    contact_patterns = [
        (1, 1, 1, 1),
        (1, 0, 1, 0),
        (0, 0, 1, 0),
        (0, 0, 0, 0),
        (0, 1, 0, 1),
        (1, 1, 0, 0),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (1, 0, 0, 1),
        (0, 1, 1, 0),
        (0, 0, 0, 0),
        (1, 1, 1, 1),
        (0, 1, 0, 0),
        (0, 0, 0, 0),
    ]
    t = 1_000_000_000
    for segment, count in enumerate((14, 11)):
        if segment:
            steps.append(None)
            yaw = -0.4
        for k in range(count):
            t += 20_000_000 + rng.randrange(0, 2_000_000)
            yaw += 0.07 + 0.02 * rng.random()
            roll, pitch = rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)
            q_pol = [d + rng.uniform(-0.4, 0.4) for d in DEFAULT_POS]
            qd_pol = [rng.uniform(-5.0, 5.0) for _ in DEFAULT_POS]
            if segment == 0 and k == 6:
                qd_pol[4] = 2500.0  # x 0.05 = 125 -> clipped to 100
            q_hw = [rng.uniform(-0.3, 0.3) for _ in range(18)]
            qd_hw = [rng.uniform(-1.0, 1.0) for _ in range(18)]
            for j, slot in enumerate(params['slot']):
                q_hw[slot] = params['sign'][j] * (q_pol[j] - params['offset'][j])
                qd_hw[slot] = params['sign'][j] * qd_pol[j]
            pattern = (
                contact_patterns[k % len(contact_patterns)]
                if segment == 0
                else (contact_patterns[(k * 3 + 1) % len(contact_patterns)])
            )
            wire_contacts = [float(rng.random() < 0.5) for _ in range(params['hw_feet'])]
            for f, index in enumerate(params['foot']):
                wire_contacts[index] = float(pattern[f])
            vx, yaw_rate = commands[k] if segment == 0 else commands[k + 5]
            action = [rng.uniform(-6.0, 6.0) for _ in DEFAULT_POS]
            if segment == 0 and k == 9:
                action[2] = 500.0  # recorded raw: 500 -> clipped to 100 in the output
            jv_missing = (segment == 0 and k in (3, 4)) or (segment == 1 and k in (0, 1, 2))
            steps.append(
                {
                    't': t,
                    'roll': roll,
                    'pitch': pitch,
                    'yaw': yaw,
                    'ang_vel': [rng.uniform(-2.0, 2.0) for _ in range(3)],
                    'q_hw': q_hw,
                    'qd_hw': None if jv_missing else qd_hw,
                    'lin_vel': None if k in (2, 7) else [rng.uniform(-1.0, 1.0) for _ in range(3)],
                    'contacts': wire_contacts,
                    'scan': [rng.uniform(-0.5, 1.8) for _ in range(132)],
                    'vx': vx,
                    'yaw_rate': yaw_rate,
                    'action': action,
                }
            )
    return steps


def observation_of(step: dict):
    orientation = quat_from_rpy(step['roll'], step['pitch'], step['yaw'])
    return make_observation(
        step['t'],
        step['q_hw'],
        orientation=orientation,
        angular_velocity=step['ang_vel'],
        joint_velocities=step['qd_hw'],
        base_velocity=step['lin_vel'],
        foot_contacts=step['contacts'],
        height_scan=step['scan'],
    )


class Reference:
    """The spec, literally, over python floats."""

    def __init__(self, params: dict[str, list], flags=(1.0, 0.0), yaw_frame='reset'):
        self.params = params
        self.flags = flags
        self.yaw_frame = yaw_frame
        self.reset()

    def reset(self) -> None:
        self.k = 0
        self.proprios: list[list[float]] = []
        self.target = 0.0
        self.yaw_ref = 0.0
        self.delta = 0.0
        self.scan = [0.0] * 132
        self.prev_contact = [False] * 4
        self.prev_q: list[float] | None = None
        self.prev_t = 0
        self.last_action = [0.0] * 12

    def build(self, step: dict) -> list[float]:
        par = self.params
        k = self.k
        q_wire = [float(v) for v in np.array(step['q_hw'], dtype=np.float32)]
        p = [0.0] * 53
        for i in range(3):
            p[i] = step['ang_vel'][i] * 0.25
        p[3] = wrap(step['roll'])
        p[4] = wrap(step['pitch'])
        yaw = wrap(step['yaw'])
        if k == 0:
            self.target = yaw
            self.yaw_ref = yaw if self.yaw_frame == 'reset' else 0.0
        self.target = wrap(self.target + step['yaw_rate'] * POLICY_DT)
        if k % REFRESH == 0:
            if self.yaw_frame == 'reset':
                self.delta = wrap(self.target - self.yaw_ref) - wrap(yaw - self.yaw_ref)
            else:
                self.delta = self.target - yaw
        p[6] = self.delta
        p[7] = self.delta
        p[10] = step['vx']
        p[11], p[12] = self.flags
        q_pol = []
        for j in range(12):
            q = par['sign'][j] * q_wire[par['slot'][j]] + par['offset'][j]
            q_pol.append(q)
            p[13 + j] = q - DEFAULT_POS[j]
            if step['qd_hw'] is not None:
                qd = par['sign'][j] * step['qd_hw'][par['slot'][j]]
            elif self.prev_q is None:
                qd = 0.0
            else:
                qd = (q - self.prev_q[j]) / ((step['t'] - self.prev_t) * 1e-9)
            p[25 + j] = qd * 0.05
            p[37 + j] = self.last_action[j]
        for f in range(4):
            now = step['contacts'][par['foot'][f]] > 0.5
            p[49 + f] = (1.0 if (now or self.prev_contact[f]) else 0.0) - 0.5
            self.prev_contact[f] = now
        if k % REFRESH == 0:
            self.scan = [min(max(h - 0.3, -1.0), 1.0) for h in step['scan']]
        priv = [0.0] * 9
        if step['lin_vel'] is not None:
            priv[0:3] = [2.0 * v for v in step['lin_vel']]
        if k == 0:
            history = [[0.0] * 53 for _ in range(10)]
        elif k == 1:
            history = [list(self.proprios[0]) for _ in range(10)]
        else:
            sequence = [self.proprios[1]] * 10 + self.proprios[2:k]
            history = [list(v) for v in sequence[-10:]]
        for row in history:
            row[6] = 0.0
            row[7] = 0.0
        obs = p + self.scan + priv + [0.0] * 29 + [v for row in history for v in row]
        self.proprios.append(p)
        self.prev_q = q_pol
        self.prev_t = step['t']
        self.k += 1
        return [min(max(v, -100.0), 100.0) for v in obs]

    def record(self, action: list[float]) -> None:
        self.last_action = list(action)


def load_map(name: str) -> dict:
    if name == 'scrambled':
        return scrambled_map_dict()
    return yaml.safe_load((JOINT_MAP_DIR / f'{name}.yaml').read_text())


def run_both(map_name: str, yaw_frame: str = 'reset'):
    data = load_map(map_name)
    params = map_params(data)
    builder = ObservationBuilder(
        GO2_PARKOUR_TEACHER, JointMap.from_dict(data), ObservationConfig(yaw_frame=yaw_frame)
    )
    reference = Reference(params, yaw_frame=yaw_frame)
    rows = []
    for step in make_script(params):
        if step is None:
            builder.reset()
            reference.reset()
            continue
        built = builder.build(
            observation_of(step), NavigationCommand(vx=step['vx'], yaw_rate=step['yaw_rate'])
        )
        rows.append(
            (
                step,
                built.copy(),
                np.array(reference.build(step)),
                builder.heading_target,
                reference.target,
                builder.substitutions,
                builder.base_velocity_measured,
            )
        )
        builder.record_action(np.array(step['action']))
        reference.record(step['action'])
    return rows


@pytest.mark.parametrize('map_name', ['go2_sim', 'scrambled'])
@pytest.mark.parametrize('yaw_frame', ['reset', 'world'])
def test_every_element_matches_the_reference(map_name: str, yaw_frame: str) -> None:
    rows = run_both(map_name, yaw_frame)
    assert len(rows) >= 15
    for index, (step, built, expected, target, ref_target, subs, measured) in enumerate(rows):
        assert built.dtype == np.float32 and built.shape == (753,)
        np.testing.assert_allclose(
            built, expected, rtol=TOLERANCE, atol=TOLERANCE, err_msg=f'observation {index}'
        )
        assert target == pytest.approx(ref_target, abs=1e-12)
        assert measured == (step['lin_vel'] is not None)
        expected_subs = set()
        if step['lin_vel'] is None:
            expected_subs.add('base_linear_velocity')
        if step['qd_hw'] is None:
            expected_subs.add('joint_velocities')
        assert subs == expected_subs


def test_semantics_spelled_out() -> None:
    """The subtle rules, asserted directly on the scripted run."""
    rows = run_both('scrambled')
    obs = [built for _, built, _, _, _, _, _ in rows]
    proprio = [o[:53] for o in obs]
    history = [o[223:].reshape(10, 53) for o in obs]

    def masked(p):
        p = p.copy()
        p[6:8] = 0.0
        return p

    # Fill twice: 0 sees zeros, 1 sees 10 x proprio 0, 2 sees 10 x proprio 1.
    assert np.all(history[0] == 0.0)
    assert all(np.array_equal(row, masked(proprio[0])) for row in history[1])
    assert all(np.array_equal(row, masked(proprio[1])) for row in history[2])
    # Then it shifts by one: 3 sees 9 x proprio 1 then proprio 2.
    assert all(np.array_equal(row, masked(proprio[1])) for row in history[3][:9])
    assert np.array_equal(history[3][9], masked(proprio[2]))
    assert np.array_equal(history[13][0], masked(proprio[3]))
    assert np.array_equal(history[13][9], masked(proprio[12]))
    # The reset after 14 observations starts over.
    assert np.all(history[14] == 0.0)
    assert all(np.array_equal(row, masked(proprio[14])) for row in history[15])
    # Scan and delta yaw refresh at steps 0, 5, 10 after a reset, held between.
    for first, last in ((0, 4), (5, 9), (10, 13), (14, 18), (19, 23)):
        for k in range(first + 1, last + 1):
            assert np.array_equal(obs[k][53:185], obs[first][53:185])
            assert proprio[k][6] == proprio[first][6] and proprio[k][7] == proprio[first][6]
        assert not np.array_equal(obs[first][53:185], obs[first - 1][53:185]) or first == 0
    # The yaw changes every step, yet the delta yaw is held.
    assert proprio[1][6] == proprio[0][6]
    # Final clip: a joint velocity of 2500 rad/s (x 0.05 = 125) and a recorded action of
    # 500 both read 100.
    assert proprio[6][25 + 4] == 100.0
    assert proprio[10][37 + 2] == 100.0
    assert history[11][9][37 + 2] == 100.0
    assert history[12][8][37 + 2] == 100.0


def test_contact_filter_is_current_or_previous() -> None:
    rows = run_both('go2_sim')
    # Segment 0 patterns (policy feet FL, FR, RL, RR) at steps 2 and 3:
    # step 2 (0, 0, 1, 0) after (1, 0, 1, 0): filtered (1, 0, 1, 0).
    # step 3 (0, 0, 0, 0) after (0, 0, 1, 0): filtered (0, 0, 1, 0).
    # step 7 (0, 0, 0, 0) after (0, 0, 0, 0): all off.
    contacts = [built[49:53] + 0.5 for _, built, _, _, _, _, _ in rows]
    assert contacts[2].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert contacts[3].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert contacts[7].tolist() == [0.0, 0.0, 0.0, 0.0]
    # After the reset there is no previous sample: only the current one counts.
    first_after_reset = rows[14][0]['contacts']
    foot_order = map_params(load_map('go2_sim'))['foot']
    assert contacts[14].tolist() == [first_after_reset[i] for i in foot_order]


def test_world_frame_crosses_the_seam_and_reset_frame_does_not() -> None:
    """The scripted yaw crosses +-pi: only the 'world' delta jumps by ~2 pi."""
    world = [b[6] for _, b, _, _, _, _, _ in run_both('go2_sim', 'world')][:14]
    reset = [b[6] for _, b, _, _, _, _, _ in run_both('go2_sim', 'reset')][:14]
    assert max(abs(d) for d in world) > math.pi
    assert max(abs(d) for d in reset) < 1.0
