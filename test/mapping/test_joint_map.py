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

"""JointMap parsing, validation errors (one per bad case) and the shipped maps."""

from __future__ import annotations

from collections.abc import Callable
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.mapping.joint_map import (
    config_directory,
    JointMap,
    JointMapError,
    load_joint_map,
    SHIPPED_JOINT_MAPS,
)

from .wire import JOINT_MAP_DIR, scrambled_map_dict


@pytest.mark.parametrize('name', SHIPPED_JOINT_MAPS)
def test_shipped_maps_load_and_fit_the_go2_teacher(name: str) -> None:
    joint_map = load_joint_map(name)
    joint_map.validate_against(GO2_PARKOUR_TEACHER)
    assert joint_map.policy_joint_names == GO2_PARKOUR_TEACHER.joint_names
    assert len(joint_map.hardware_joint_names) == 18
    assert joint_map.driven_mask.sum() == 12
    assert len(joint_map.policy_foot_index) == 4


def test_go2_sim_map_values() -> None:
    joint_map = load_joint_map('go2_sim')
    # Wire FR, FL, RR, RL leg by leg; policy grouped by joint type.
    assert joint_map.hardware_index.tolist() == [3, 0, 9, 6, 4, 1, 10, 7, 5, 2, 11, 8]
    assert joint_map.policy_foot_index.tolist() == [1, 0, 3, 2]
    assert joint_map.policy_foot_names == ('FL', 'FR', 'RL', 'RR')
    assert joint_map.driven_mask.tolist() == [True] * 12 + [False] * 6
    default = joint_map.hardware_from_policy(GO2_PARKOUR_TEACHER.default_joint_positions)
    np.testing.assert_allclose(
        default[:12], [-0.1, 0.8, -1.5, 0.1, 0.8, -1.5, -0.1, 1.0, -1.5, 0.1, 1.0, -1.5]
    )


def test_krabby_map_puts_the_default_pose_on_the_standing_pose() -> None:
    joint_map = load_joint_map('krabby')
    default = joint_map.hardware_from_policy(GO2_PARKOUR_TEACHER.default_joint_positions)
    np.testing.assert_allclose(default, [0.0, 0.6, -1.2] * 6, atol=1e-12)
    # Middle legs lm (slots 3-5) and rm (12-14) are not driven.
    assert np.flatnonzero(~joint_map.driven_mask).tolist() == [3, 4, 5, 12, 13, 14]
    assert joint_map.policy_foot_names == ('lf', 'rf', 'lr', 'rr')


def test_arrays_are_read_only_and_round_trip() -> None:
    joint_map = JointMap.from_dict(scrambled_map_dict())
    with pytest.raises(ValueError):
        joint_map.sign[0] = 5.0
    q_policy = np.linspace(-1.0, 1.0, 12)
    q_hw = joint_map.hardware_from_policy(q_policy)
    np.testing.assert_allclose(joint_map.policy_from_hardware(q_hw), q_policy, atol=1e-15)
    assert q_hw[4] == 0.25  # undriven slot holds


def test_resolver_finds_the_source_tree_and_accepts_paths(tmp_path: Path) -> None:
    assert (config_directory() / 'go2_sim.yaml').is_file()
    path = tmp_path / 'mine.yaml'
    path.write_text(yaml.safe_dump(scrambled_map_dict()))
    assert load_joint_map(path).name == 'scrambled'
    assert load_joint_map(str(path)).source == str(path)
    (tmp_path / 'other.yaml').write_text(yaml.safe_dump(scrambled_map_dict()))
    assert load_joint_map('other', directory=tmp_path).name == 'scrambled'


def test_unknown_name_lists_the_available_maps() -> None:
    with pytest.raises(JointMapError) as info:
        load_joint_map('go3_sim', directory=JOINT_MAP_DIR)
    assert "no joint map named 'go3_sim'" in str(info.value)
    assert 'go2_sim' in str(info.value) and 'krabby' in str(info.value)


def test_unreadable_and_non_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(JointMapError, match='cannot read the file'):
        JointMap.from_yaml(tmp_path / 'absent.yaml')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('hardware: [unclosed\n')
    with pytest.raises(JointMapError, match='not valid YAML'):
        JointMap.from_yaml(bad)
    top = tmp_path / 'list.yaml'
    top.write_text('- 1\n- 2\n')
    with pytest.raises(JointMapError, match='expected a mapping at the top level'):
        JointMap.from_yaml(top)


def _set(path: str, value) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        node = data
        keys = path.split('.')
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _delete(path: str) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        section, key = path.split('.')
        del data[section][key]

    return edit


BAD_CASES = {
    'duplicate policy joint name': (
        _set('policy.joints.1.name', 'FL_hip'),
        "duplicate policy joint names ['FL_hip']",
    ),
    'duplicate hardware target': (
        _set('policy.joints.1.hardware', 'hw_17'),
        "hardware joint hw_17 is the target of several policy joints ['FL_hip', 'FR_hip']",
    ),
    'unknown hardware name': (
        _set('policy.joints.2.hardware', 'hw_99'),
        "unknown hardware joint 'hw_99'",
    ),
    'hardware slot out of range': (
        _set('policy.joints.2.hardware', 18),
        'hardware slot 18 is out of range 0..17',
    ),
    'negative hardware slot': (
        _set('policy.joints.2.hardware', -1),
        'hardware slot -1 is out of range 0..17',
    ),
    'too few hardware names': (
        _set('hardware.joint_names', [f'hw_{i}' for i in range(17)]),
        'hardware.joint_names: expected 18 names',
    ),
    'duplicate hardware names': (
        _set('hardware.joint_names.5', 'hw_4'),
        "hardware.joint_names: duplicate names ['hw_4']",
    ),
    'target_lower too short': (
        _set('hardware.target_lower', [-1.0] * 17),
        'hardware.target_lower: expected 18 values',
    ),
    'hold_position too long': (
        _set('hardware.hold_position', [0.0] * 19),
        'hardware.hold_position: expected 18',
    ),
    'sign not +-1': (
        _set('policy.joints.3.sign', 0.5),
        'policy joint RR_hip: sign must be +1 or -1, got 0.5',
    ),
    'non-finite offset': (
        _set('policy.joints.3.offset', math.inf),
        'policy joint RR_hip: offset must be finite',
    ),
    'non-finite soft limit': (
        _set('hardware.target_upper.7', math.nan),
        'hardware.target_upper: non-finite values',
    ),
    'non-numeric sign': (_set('policy.joints.0.sign', 'plus'), "expected a number, got 'plus'"),
    'lower above upper': (
        _set('hardware.target_lower.6', 3.5),
        'target limits of hw_6: lower 3.5 > upper 3.0',
    ),
    'hold outside soft limits': (
        _set('hardware.hold_position.9', 4.0),
        'hold_position of hw_9: 4.0 is outside its target limits [-3.0, 3.0]',
    ),
    'unknown foot name': (_set('policy.feet.2', 'f_z'), "policy.feet[2]: unknown foot 'f_z'"),
    'foot used twice': (
        _set('policy.feet.2', 'f_a'),
        "the same hardware foot is used twice: ['f_a']",
    ),
    'missing hardware section': (
        lambda d: d.pop('hardware'),
        'hardware: expected a mapping, got NoneType',
    ),
    'missing joints list': (
        _delete('policy.joints'),
        'policy.joints: expected a list, got nothing',
    ),
    'joint entry not a mapping': (
        _set('policy.joints.4', 'FL_thigh'),
        'policy.joints[4]: expected a mapping',
    ),
    'joint entry without hardware': (
        _set('policy.joints.4', {'name': 'FL_thigh'}),
        '"name" and "hardware" are required',
    ),
    'unknown key in a joint entry': (
        _set('policy.joints.4.scale', 2.0),
        "policy.joints[4]: unknown keys ['scale']",
    ),
}


@pytest.mark.parametrize('case', sorted(BAD_CASES))
def test_each_bad_map_is_refused_with_a_readable_message(case: str) -> None:
    edit, message = BAD_CASES[case]
    data = scrambled_map_dict()
    edit(data)
    with pytest.raises(JointMapError) as info:
        JointMap.from_dict(data, source='test.yaml')
    assert message in str(info.value), str(info.value)
    assert "'scrambled' (test.yaml)" in str(info.value) or case == 'missing hardware section'


def test_all_problems_are_reported_together() -> None:
    data = scrambled_map_dict()
    _set('policy.joints.3.sign', 2.0)(data)
    _set('hardware.target_lower.6', 3.5)(data)
    with pytest.raises(JointMapError) as info:
        JointMap.from_dict(data)
    assert len(info.value.problems) == 2


def _go2(data_edit: Callable[[dict], None]) -> JointMap:
    data = yaml.safe_load((JOINT_MAP_DIR / 'go2_sim.yaml').read_text())
    data_edit(data)
    return JointMap.from_dict(data)


def test_contract_joints_missing_are_listed_in_contract_order() -> None:
    joint_map = _go2(lambda d: d['policy']['joints'].pop(5))
    with pytest.raises(JointMapError) as info:
        joint_map.validate_against(GO2_PARKOUR_TEACHER)
    assert "joints not mapped (in contract order): ['FR_thigh']" in str(info.value)


def test_extra_joint_is_reported() -> None:
    joint_map = _go2(
        lambda d: d['policy']['joints'].append(
            {'name': 'tail', 'hardware': 'spare_0', 'sign': 1.0, 'offset': 0.0}
        )
    )
    with pytest.raises(
        JointMapError,
        match=r"joints not in contract 'go2_parkour_teacher': "
        r"\['tail'\]",
    ):
        joint_map.validate_against(GO2_PARKOUR_TEACHER)


def test_wrong_policy_order_is_refused() -> None:
    def swap(d: dict) -> None:
        joints = d['policy']['joints']
        joints[0], joints[4] = joints[4], joints[0]

    with pytest.raises(JointMapError, match='order must equal the contract order'):
        _go2(swap).validate_against(GO2_PARKOUR_TEACHER)


def test_wrong_foot_count_is_refused() -> None:
    with pytest.raises(JointMapError, match=r'policy.feet: expected 4 feet'):
        _go2(lambda d: d['policy']['feet'].pop()).validate_against(GO2_PARKOUR_TEACHER)


def test_default_pose_outside_soft_limits_is_refused() -> None:
    # RL_thigh default 1.0 with offset -0.5 -> 1.5 rad on the wire: still inside.
    _go2(_set('policy.joints.6.offset', -0.5)).validate_against(GO2_PARKOUR_TEACHER)
    joint_map = _go2(_set('policy.joints.8.sign', -1.0))  # FL_calf -1.5 -> +1.5 rad
    with pytest.raises(JointMapError) as info:
        joint_map.validate_against(GO2_PARKOUR_TEACHER)
    assert 'puts hardware joint FL_calf_joint at 1.5 rad, outside its target limits' in str(
        info.value
    )
