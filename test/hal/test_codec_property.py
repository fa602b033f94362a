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

"""Property: encode -> decode -> encode is the identity for random valid observations."""

from typing import Any

from hypothesis import given, HealthCheck, settings, strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np

from krabby_parkour_ros.hal.codec import (
    decode_command,
    decode_observation,
    encode_command,
    encode_observation,
    EXTENSION_LIMITS,
)
from krabby_parkour_ros.hal.messages import EXTENSION_KEYS

FINITE_32 = st.floats(-1e6, 1e6, allow_nan=False, width=32)


def _within(key: str) -> st.SearchStrategy:
    """Return finite floats inside the decoder's plausibility limit of ``key``."""
    limit = EXTENSION_LIMITS[key]
    return st.floats(-limit, limit, allow_nan=False)


def _unit_quaternion(values: Any) -> Any:
    norm = float(np.linalg.norm(values))
    return [v / norm for v in values]


EXTENSION_STRATEGIES = {
    # Any direction, normalised: the decoder requires a unit quaternion.
    'imu_orientation_xyzw': st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4)
    .filter(lambda q: np.linalg.norm(q) > 0.1)
    .map(_unit_quaternion),
    'imu_angular_velocity': st.lists(_within('imu_angular_velocity'), min_size=3, max_size=3),
    'joint_velocities': st.lists(_within('joint_velocities'), min_size=18, max_size=18),
    'base_linear_velocity': st.lists(_within('base_linear_velocity'), min_size=3, max_size=3),
    'foot_contacts': st.lists(st.sampled_from([0, 1]), min_size=1, max_size=8),
    'height_scan': st.lists(_within('height_scan'), min_size=1, max_size=40),
    'base_position': st.lists(_within('base_position'), min_size=3, max_size=3),
}


@st.composite
def observations(draw: Any) -> dict[str, Any]:
    height, width = draw(st.integers(1, 6)), draw(st.integers(1, 7))
    dtype = draw(st.sampled_from(['uint8', 'uint16', 'float32']))
    elements = FINITE_32 if dtype == 'float32' else None
    image = hnp.arrays(dtype, (height, width, 3), elements=elements)
    plane = hnp.arrays(np.float32, (height, width), elements=FINITE_32)
    keys = draw(st.lists(st.sampled_from(EXTENSION_KEYS), unique=True))
    return {
        'timestamp_ns': draw(st.integers(0, 2**63 - 1)),
        'joint_positions': draw(hnp.arrays(np.float32, 18, elements=FINITE_32)),
        'rgb_camera_1': draw(image),
        'rgb_camera_2': draw(image),
        'depth_map': draw(plane),
        'confidence_map': draw(plane),
        'extensions': {key: draw(EXTENSION_STRATEGIES[key]) for key in keys},
    }


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observations())
def test_observation_round_trip(inputs: dict[str, Any]) -> None:
    frames = encode_observation(**inputs)
    observation = decode_observation(frames)
    assert observation.timestamp_ns == inputs['timestamp_ns']
    for key in ('joint_positions', 'rgb_camera_1', 'rgb_camera_2', 'depth_map', 'confidence_map'):
        decoded = getattr(observation, key)
        assert decoded.dtype == inputs[key].dtype
        np.testing.assert_array_equal(decoded, inputs[key])
    for key in EXTENSION_KEYS:
        value = getattr(observation.extensions, key)
        if key in inputs['extensions']:
            np.testing.assert_array_equal(value, np.asarray(inputs['extensions'][key], float))
        else:
            assert value is None
    again = encode_observation(
        observation.timestamp_ns,
        observation.joint_positions,
        observation.rgb_camera_1,
        observation.rgb_camera_2,
        observation.depth_map,
        observation.confidence_map,
        observation.extensions,
    )
    assert again == frames


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(np.float32, 18, elements=FINITE_32),
    st.integers(0, 2**63 - 1),
    st.integers(0, 2**63 - 1),
)
def test_command_round_trip(joints: np.ndarray, observation_ns: int, sent_ns: int) -> None:
    frames = encode_command(joints, observation_ns, sent_ns)
    command = decode_command(frames)
    np.testing.assert_array_equal(command.joint_positions, joints)
    assert (command.observation_timestamp_ns, command.timestamp_ns) == (observation_ns, sent_ns)
    assert encode_command(command.joint_positions, observation_ns, sent_ns) == frames
