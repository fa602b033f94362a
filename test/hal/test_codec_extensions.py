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
Issue #13 finding 4: the decoder checks every extension key's length and range.

A value the observation builder cannot use (a 131-point scan for a 132-point
policy, 3 contacts for 4 feet, a zero or 1e308 quaternion, NaN, a contact
of 2) must be a counted rejection of the whole message at the decoder, never
a policy failure: five of those latch a fault for good.
"""

from collections.abc import Callable
import json
from typing import Any

import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.hal.codec import (
    decode_observation,
    encode_observation,
    EXTENSION_LIMITS,
    QUATERNION_NORM_TOLERANCE,
)
from krabby_parkour_ros.hal.errors import ExtensionError

from .helpers import small_frames

SCAN = GO2_PARKOUR_TEACHER.scan_grid.size
FEET = 4
NAN = float('nan')


def good_extensions() -> dict[str, Any]:
    """Return every extension key as the simulator sends it for a robot standing still."""
    return {
        'imu_orientation_xyzw': [0.0, 0.0, 0.0, 1.0],
        'imu_angular_velocity': [0.01, -0.02, 0.03],
        'joint_velocities': [0.1] * 18,
        'base_linear_velocity': [0.2, 0.0, 0.0],
        'foot_contacts': [1, 1, 0, 1],
        'height_scan': [0.32] * SCAN,
        'base_position': [1.25, -0.5, 0.32],
    }


def frames_with(edit: Callable[[dict[str, Any]], None]) -> list[bytes]:
    """Return a valid message whose extension metadata ``edit`` has changed."""
    frames = small_frames(7, extensions=good_extensions())
    meta = json.loads(frames[2])
    edit(meta)
    # json.dumps writes NaN/Infinity literals, as a careless HAL would.
    return frames[:2] + [json.dumps(meta).encode('utf-8')] + frames[3:]


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda meta: meta.__setitem__(key, value)


def _set_item(key: str, index: int, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda meta: meta[key].__setitem__(index, value)


def decode(frames: list[bytes]) -> Any:
    """Decode as the deployed client does: teacher scan size, Go2 feet."""
    return decode_observation(frames, height_scan_length=SCAN, foot_count=FEET)


#: (id, edit, key named in the error) of every bad value of finding 4.
BAD_VALUES = [
    ('scan_131_of_132', _set('height_scan', [0.32] * (SCAN - 1)), 'height_scan'),
    ('scan_133_of_132', _set('height_scan', [0.32] * (SCAN + 1)), 'height_scan'),
    ('contacts_3_of_4', _set('foot_contacts', [1, 1, 1]), 'foot_contacts'),
    ('contacts_6_of_4', _set('foot_contacts', [1] * 6), 'foot_contacts'),
    (
        'quaternion_zero',
        _set('imu_orientation_xyzw', [0.0, 0.0, 0.0, 0.0]),
        'imu_orientation_xyzw',
    ),
    (
        'quaternion_1e308',
        _set('imu_orientation_xyzw', [1e308, 0.0, 0.0, 1e308]),
        'imu_orientation_xyzw',
    ),
    (
        'quaternion_one_1e308',
        _set('imu_orientation_xyzw', [0.0, 0.0, 0.0, 1e308]),
        'imu_orientation_xyzw',
    ),
    (
        'quaternion_norm_1_05',
        _set('imu_orientation_xyzw', [0.0, 0.0, 0.0, 1.05]),
        'imu_orientation_xyzw',
    ),
    (
        'quaternion_norm_0_9',
        _set('imu_orientation_xyzw', [0.0, 0.0, 0.6, 0.72]),
        'imu_orientation_xyzw',
    ),
    ('contact_2', _set('foot_contacts', [1, 2, 0, 1]), 'foot_contacts'),
    ('contact_half', _set('foot_contacts', [1, 0.5, 0, 1]), 'foot_contacts'),
    ('contact_negative', _set('foot_contacts', [1, -1, 0, 1]), 'foot_contacts'),
    (
        'angular_velocity_1e308',
        _set_item('imu_angular_velocity', 1, 1e308),
        'imu_angular_velocity',
    ),
    (
        'angular_velocity_over_limit',
        _set_item('imu_angular_velocity', 2, -50.5),
        'imu_angular_velocity',
    ),
    ('joint_velocity_over_limit', _set_item('joint_velocities', 17, 100.5), 'joint_velocities'),
    (
        'linear_velocity_over_limit',
        _set_item('base_linear_velocity', 0, 20.5),
        'base_linear_velocity',
    ),
    ('scan_1e308', _set_item('height_scan', 40, 1e308), 'height_scan'),
    ('scan_over_limit', _set_item('height_scan', 0, -100.5), 'height_scan'),
    ('position_2_of_3', _set('base_position', [1.0, 2.0]), 'base_position'),
    ('position_4_of_3', _set('base_position', [1.0, 2.0, 0.3, 0.0]), 'base_position'),
    ('position_text', _set('base_position', [1.0, '2', 0.3]), 'base_position'),
    ('position_not_a_list', _set('base_position', 1.0), 'base_position'),
    ('position_1e308', _set_item('base_position', 0, 1e308), 'base_position'),
    ('position_over_limit', _set_item('base_position', 2, -1.5e7), 'base_position'),
]
#: NaN, +Inf and -Inf in every key.
for _key, _value in good_extensions().items():
    for _name, _bad in (('nan', NAN), ('inf', float('inf')), ('minus_inf', float('-inf'))):
        BAD_VALUES.append((f'{_key}_{_name}', _set_item(_key, len(_value) - 1, _bad), _key))


@pytest.mark.parametrize('case_id, edit, key', BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_a_bad_extension_value_rejects_the_whole_message(
    case_id: str, edit: Callable, key: str
) -> None:
    with pytest.raises(ExtensionError) as info:
        decode(frames_with(edit))
    assert info.value.reason == 'extension'
    assert str(info.value).startswith(key + ':'), str(info.value)
    assert 'expected' in str(info.value)


def test_the_good_extensions_decode_as_sent() -> None:
    extensions = decode(frames_with(lambda meta: None)).extensions
    for key, value in good_extensions().items():
        np.testing.assert_array_equal(getattr(extensions, key), np.asarray(value, float))


@pytest.mark.parametrize(
    'edit',
    [
        _set('imu_orientation_xyzw', [0.0, 0.0, 0.0, 1.0 + 0.99 * QUATERNION_NORM_TOLERANCE]),
        _set('imu_orientation_xyzw', [0.0, 0.0, 0.0, 1.0 - 0.99 * QUATERNION_NORM_TOLERANCE]),
        # MuJoCo's quaternion after float32 rounding, and a Q14 fixed-point IMU's.
        _set(
            'imu_orientation_xyzw',
            [np.float32(0.1).item(), 0.0, 0.0, np.float32(np.sqrt(0.99)).item()],
        ),
        _set('imu_orientation_xyzw', [0.0, 0.0, 11585 / 16384, 11585 / 16384]),
        _set_item('imu_angular_velocity', 0, -EXTENSION_LIMITS['imu_angular_velocity']),
        _set_item('joint_velocities', 3, EXTENSION_LIMITS['joint_velocities']),
        _set_item('base_linear_velocity', 1, -EXTENSION_LIMITS['base_linear_velocity']),
        _set_item('height_scan', 5, EXTENSION_LIMITS['height_scan']),
        _set_item('base_position', 1, -EXTENSION_LIMITS['base_position']),
    ],
    ids=[
        'norm_high',
        'norm_low',
        'float32',
        'fixed_point',
        'gyro_limit',
        'joint_limit',
        'velocity_limit',
        'scan_limit',
        'position_limit',
    ],
)
def test_values_at_the_limits_are_accepted(edit: Callable) -> None:
    decode(frames_with(edit))


def test_without_deployment_lengths_only_the_protocol_is_checked() -> None:
    # A bare decoder (no policy card, no joint map) accepts any scan and foot
    # count: the lengths come from the deployment (ControlRuntime sets them).
    frames = frames_with(
        lambda meta: meta.update(height_scan=[0.3] * 131, foot_contacts=[1, 0, 1])
    )
    extensions = decode_observation(frames).extensions
    assert extensions.height_scan is not None and extensions.height_scan.shape == (131,)
    assert extensions.foot_contacts is not None and extensions.foot_contacts.shape == (3,)
    with pytest.raises(ExtensionError, match='height_scan: expected 132 values, got 131'):
        decode_observation(frames, height_scan_length=132)
    with pytest.raises(ExtensionError, match='foot_contacts: expected 6 values, got 3'):
        decode_observation(frames, foot_count=6)
    # The plausibility limits apply without any deployment knowledge.
    with pytest.raises(ExtensionError, match='unit quaternion'):
        decode_observation(frames_with(_set('imu_orientation_xyzw', [0.0] * 4)))


def test_the_slow_path_applies_the_limits_too() -> None:
    # NaN in the scan sends the decoder down its per-key path; the zero
    # quaternion (checked first, in key order) is still caught there.
    frames = frames_with(
        lambda meta: meta.update(imu_orientation_xyzw=[0.0] * 4, height_scan=[NAN] * SCAN)
    )
    with pytest.raises(ExtensionError, match='imu_orientation_xyzw: expected a unit quaternion'):
        decode(frames)


def test_the_encoder_leaves_plausibility_to_the_reader() -> None:
    # A simulator whose physics diverges keeps publishing; its client rejects.
    extensions = dict(good_extensions(), imu_angular_velocity=[0.0, 0.0, 1e6])
    frames = small_frames(7, extensions=extensions)
    with pytest.raises(ExtensionError, match='imu_angular_velocity'):
        decode(frames)
    # Protocol violations are still refused when encoding.
    with pytest.raises(ExtensionError, match='foot_contacts'):
        small_frames(7, extensions=dict(good_extensions(), foot_contacts=[2, 0, 0, 0]))
    with pytest.raises(ExtensionError, match='height_scan'):
        encode_observation(
            7,
            np.zeros(18),
            np.zeros((1, 1, 3), np.uint8),
            np.zeros((1, 1, 3), np.uint8),
            np.zeros((1, 1)),
            np.zeros((1, 1)),
            {'height_scan': [NAN]},
        )
