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

"""HalClientConfig / HalServerConfig validation: every bad field is named."""

import dataclasses
from typing import Any

import pytest

from krabby_parkour_ros.hal.config import (
    DEFAULT_MAX_MESSAGE_BYTES,
    HalClientConfig,
    HalServerConfig,
    validate_endpoint,
)
from krabby_parkour_ros.hal.errors import HalConfigError


def test_defaults_are_loopback_and_match_the_protocol() -> None:
    client, server = HalClientConfig(), HalServerConfig()
    assert client.observation_endpoint == server.observation_endpoint == 'tcp://127.0.0.1:6001'
    assert client.command_endpoint == server.command_endpoint == 'tcp://127.0.0.1:6002'
    assert client.max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES == 0  # derived
    assert (client.max_camera_height, client.max_camera_width) == (480, 640)
    assert client.max_command_age_s == 0.1
    assert client.command_send_hwm == 5 and client.require_monotonic_timestamps
    assert client.timestamp_resync_count == 20
    assert server.observation_sndhwm == 1 and server.command_rcvhwm == 5


def test_configs_are_frozen_and_replace_validates() -> None:
    config = HalClientConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.command_send_hwm = 3  # type: ignore[misc]
    assert dataclasses.replace(config, command_send_hwm=3).command_send_hwm == 3
    with pytest.raises(HalConfigError, match='command_send_hwm'):
        dataclasses.replace(config, command_send_hwm=0)


@pytest.mark.parametrize(
    'endpoint',
    [
        'inproc://hal_observation',
        'tcp://127.0.0.1:6001',
        'tcp://robot.local:1',
        'tcp://[::1]:65535',
        'tcp://192.168.1.20:6001',
    ],
)
def test_valid_client_endpoints(endpoint: str) -> None:
    validate_endpoint('observation_endpoint', endpoint, bind=False)


@pytest.mark.parametrize(
    'endpoint',
    [
        'tcp://*:6001',
        'tcp://127.0.0.1:*',
        'tcp://127.0.0.1:0',
        'tcp://127.0.0.1:65536',
        'tcp://127.0.0.1',
        'tcp://:6001',
        'ipc:///tmp/hal',
        'inproc://',
        'udp://1.2.3.4:5',
        'tcp://127.0.0.1:6001 ',
        'tcp://127.0.0.1:6001\n',
        'inproc://a\n',
        6001,
        None,
    ],
)
def test_invalid_client_endpoints(endpoint: Any) -> None:
    with pytest.raises(HalConfigError, match='^observation_endpoint: expected'):
        validate_endpoint('observation_endpoint', endpoint, bind=False)


@pytest.mark.parametrize(
    'endpoint',
    ['tcp://*:6001', 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:0', 'tcp://*:*', 'inproc://x'],
)
def test_valid_server_endpoints(endpoint: str) -> None:
    validate_endpoint('observation_endpoint', endpoint, bind=True)


@pytest.mark.parametrize(
    'field, value',
    [
        ('observation_endpoint', 'tcp://*:6001'),
        ('command_endpoint', 'tcp://localhost'),
        ('command_endpoint', 'tcp://127.0.0.1:6001'),  # same as the observation endpoint
        ('max_message_bytes', 100),
        ('max_message_bytes', 2.5e6),
        ('command_send_hwm', 0),
        ('command_send_hwm', True),
        ('require_monotonic_timestamps', 1),
        ('timestamp_resync_count', 0),
        ('connect_timeout_s', 0.0),
        ('connect_timeout_s', float('inf')),
        ('connect_timeout_s', '1'),
        ('observation_rcvhwm', 0),
        ('max_camera_height', 0),
        ('max_camera_width', 2.5),
        ('max_command_age_s', 0.0),
        ('max_command_age_s', float('nan')),
    ],
)
def test_client_config_names_the_bad_field(field: str, value: Any) -> None:
    with pytest.raises(HalConfigError, match=f'^{field}: expected') as info:
        HalClientConfig(**{field: value})
    assert repr(value) in str(info.value) or str(value) in str(info.value)


def test_frame_limit_is_the_largest_legal_frame_of_the_camera_size_plus_a_margin() -> None:
    # 480 x 640 float32 RGB (12 bytes a pixel) is the largest legal frame, plus 64 KiB.
    assert HalClientConfig().frame_limit_bytes == 480 * 640 * 12 + 65536 == 3_751_936
    assert (
        HalClientConfig(max_camera_height=1080, max_camera_width=1920).frame_limit_bytes
        == 1080 * 1920 * 12 + 65536
    )
    # Tiny cameras: the 1 MiB metadata bound is then the largest legal frame.
    assert (
        HalClientConfig(max_camera_height=58, max_camera_width=87).frame_limit_bytes
        == (1 << 20) + 65536
    )
    # An explicit max_message_bytes overrides the derivation.
    assert HalClientConfig(max_message_bytes=5000).frame_limit_bytes == 5000


@pytest.mark.parametrize(
    'kwargs, field',
    [
        ({'observation_endpoint': 'tcp://*:6001:1'}, 'observation_endpoint'),
        ({'command_endpoint': 'tcp://*:70000'}, 'command_endpoint'),
        (
            {'observation_endpoint': 'inproc://a', 'command_endpoint': 'inproc://a'},
            'command_endpoint',
        ),
        ({'observation_sndhwm': 0}, 'observation_sndhwm'),
        ({'command_rcvhwm': -1}, 'command_rcvhwm'),
        ({'max_command_bytes': 10}, 'max_command_bytes'),
    ],
)
def test_server_config_names_the_bad_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(HalConfigError, match=f'^{field}: expected'):
        HalServerConfig(**kwargs)


def test_server_allows_wildcards_and_two_random_ports() -> None:
    config = HalServerConfig('tcp://*:6001', 'tcp://*:6002')
    assert config.observation_endpoint == 'tcp://*:6001'
    assert HalServerConfig('tcp://127.0.0.1:*', 'tcp://127.0.0.1:*').command_rcvhwm == 5
