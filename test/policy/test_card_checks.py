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

"""Deployment checks of a policy card, and the joint-order check they share with joint maps."""

import dataclasses
from typing import Any

import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.mapping.joint_order import joint_order_problems
from krabby_parkour_ros.policy import check_deployment, PolicyCardMismatchError

GOOD: dict[str, Any] = {
    'policy_joint_names': GO2_PARKOUR_TEACHER.joint_names,
    'control_rate_hz': 100.0,
    'policy_decimation': 2,
    'scan_available': True,
    'base_velocity_available': True,
    'has_estimator': False,
}
LEG_BY_LEG = tuple(
    f'{leg}_{part}' for leg in ('FL', 'FR', 'RL', 'RR') for part in ('hip', 'thigh', 'calf')
)


def test_check_deployment_accepts_the_trained_setup() -> None:
    check_deployment(GO2_PARKOUR_TEACHER, **GOOD)
    check_deployment(
        GO2_PARKOUR_TEACHER, **{**GOOD, 'control_rate_hz': 50.0, 'policy_decimation': 1}
    )
    check_deployment(
        GO2_PARKOUR_TEACHER, **{**GOOD, 'base_velocity_available': False, 'has_estimator': True}
    )


def test_check_deployment_missing_joint() -> None:
    with pytest.raises(PolicyCardMismatchError) as info:
        check_deployment(
            GO2_PARKOUR_TEACHER,
            **{**GOOD, 'policy_joint_names': GO2_PARKOUR_TEACHER.joint_names[:11]},
        )
    assert info.value.issues == (
        "joints: contract 'go2_parkour_teacher' has 12 joints, got 11",
        "joints: contract 'go2_parkour_teacher' joints not mapped (in contract order):"
        " ['RR_calf']",
    )


def test_check_deployment_leg_by_leg_order() -> None:
    with pytest.raises(PolicyCardMismatchError) as info:
        check_deployment(GO2_PARKOUR_TEACHER, **{**GOOD, 'policy_joint_names': LEG_BY_LEG})
    (issue,) = info.value.issues
    assert issue.startswith('joints: order must equal the contract order: positions [1, 2, 3,')
    assert "hold ['FL_thigh', 'FL_calf', 'FR_hip'," in issue


def test_check_deployment_wrong_policy_period() -> None:
    with pytest.raises(PolicyCardMismatchError) as info:
        check_deployment(GO2_PARKOUR_TEACHER, **{**GOOD, 'policy_decimation': 1})
    message = str(info.value)
    assert 'policy period' in message and '0.02 s' in message and '0.01 s' in message
    assert 'use policy decimation 2' in message


@pytest.mark.parametrize(
    ('rate', 'decimation', 'pattern'),
    [
        (0.0, 2, 'control rate must be a positive number of Hz'),
        (float('nan'), 2, 'control rate must be a positive number of Hz'),
        (100.0, 0, 'policy decimation must be an integer >= 1'),
        (100.0, True, 'policy decimation must be an integer >= 1'),
        (30.0, 1, 'no integer decimation fits this control rate'),
    ],
)
def test_check_deployment_bad_rates(rate: float, decimation: int, pattern: str) -> None:
    with pytest.raises(PolicyCardMismatchError, match=pattern):
        check_deployment(
            GO2_PARKOUR_TEACHER,
            **{**GOOD, 'control_rate_hz': rate, 'policy_decimation': decimation},
        )


def test_check_deployment_scan_missing() -> None:
    with pytest.raises(PolicyCardMismatchError, match='requires a 132-point height scan'):
        check_deployment(GO2_PARKOUR_TEACHER, **{**GOOD, 'scan_available': False})
    student = dataclasses.replace(GO2_PARKOUR_TEACHER, scan_required=False)
    check_deployment(student, **{**GOOD, 'scan_available': False})


def test_check_deployment_lists_every_difference() -> None:
    with pytest.raises(PolicyCardMismatchError) as info:
        check_deployment(
            GO2_PARKOUR_TEACHER,
            policy_joint_names=('a', 'b'),
            control_rate_hz=100.0,
            policy_decimation=3,
            scan_available=False,
            base_velocity_available=False,
            has_estimator=False,
        )
    issues = info.value.issues
    assert [i.split(':')[0] for i in issues] == [
        'joints',
        'joints',
        'joints',
        'policy period',
        'height scan',
        'base velocity',
    ]
    assert 'has 12 joints, got 2' in issues[0] and 'not mapped' in issues[1]
    assert "not in contract 'go2_parkour_teacher': ['a', 'b']" in issues[2]
    assert '6 mismatch(es)' in str(info.value)


def test_joint_order_problems_names_every_kind_of_mistake() -> None:
    names = GO2_PARKOUR_TEACHER.joint_names
    assert joint_order_problems(GO2_PARKOUR_TEACHER, names, 'x') == []
    assert joint_order_problems(GO2_PARKOUR_TEACHER, list(names), 'x') == []
    assert joint_order_problems(GO2_PARKOUR_TEACHER, names + names[:1], 'x') == [
        "x: contract 'go2_parkour_teacher' has 12 joints, got 13",
        "x: repeated joints: ['FL_hip']",
    ]
    same_count = ('FL_hip',) + names[:-1]
    assert joint_order_problems(GO2_PARKOUR_TEACHER, same_count, 'x') == [
        "x: contract 'go2_parkour_teacher' joints not mapped (in contract order): ['RR_calf']",
        "x: repeated joints: ['FL_hip']",
    ]
    swapped = (names[1], names[0]) + names[2:]
    (order,) = joint_order_problems(GO2_PARKOUR_TEACHER, swapped, 'policy.joints')
    assert order.startswith(
        "policy.joints: order must equal the contract order: positions [0, 1] hold ['FR_hip',"
        " 'FL_hip'] but contract 'go2_parkour_teacher' has ['FL_hip', 'FR_hip'] there"
    )
    both = joint_order_problems(GO2_PARKOUR_TEACHER, names[1:] + ('tail',), 'j')
    assert both == [
        "j: contract 'go2_parkour_teacher' joints not mapped (in contract order): ['FL_hip']",
        "j: joints not in contract 'go2_parkour_teacher': ['tail']",
    ]
