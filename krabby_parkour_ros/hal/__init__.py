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

"""Krabby HAL wire protocol: messages, codec, client and server (no ROS)."""

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.codec import (
    decode_command,
    decode_observation,
    encode_command,
    encode_observation,
)
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.errors import (
    ByteLengthError,
    CommandError,
    DtypeError,
    ExtensionError,
    FrameCountError,
    HalConfigError,
    HalNotConnectedError,
    HalProtocolError,
    HalTransportError,
    MetadataError,
    MissingKeyError,
    NonFiniteError,
    OversizeError,
    REJECTION_REASONS,
    SchemaVersionError,
    ShapeError,
    TimestampError,
    TopicError,
)
from krabby_parkour_ros.hal.messages import (
    EXTENSION_KEYS,
    HalCommand,
    HalObservation,
    JOINT_COUNT,
    ObservationExtensions,
)
from krabby_parkour_ros.hal.server import HalServer

__all__ = [
    'ByteLengthError',
    'CommandError',
    'DtypeError',
    'EXTENSION_KEYS',
    'ExtensionError',
    'FrameCountError',
    'HalClient',
    'HalClientConfig',
    'HalCommand',
    'HalConfigError',
    'HalNotConnectedError',
    'HalObservation',
    'HalProtocolError',
    'HalServer',
    'HalServerConfig',
    'HalTransportError',
    'JOINT_COUNT',
    'MetadataError',
    'MissingKeyError',
    'NonFiniteError',
    'ObservationExtensions',
    'OversizeError',
    'REJECTION_REASONS',
    'SchemaVersionError',
    'ShapeError',
    'TimestampError',
    'TopicError',
    'decode_command',
    'decode_observation',
    'encode_command',
    'encode_observation',
]
