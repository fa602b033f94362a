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
Recording, replay and reports of HAL traffic and node topics (no ROS node needed).

:class:`HalRecorder` writes MCAP files without blocking the caller,
:class:`RecordingReader` reads them (crash-cut files included),
``parkour_replay`` (:mod:`~krabby_parkour_ros.recording.replay`)
serves a recording through a HAL server and ``parkour_report``
(:mod:`~krabby_parkour_ros.recording.report`) plots it. The file layout is
documented in ``docs/recording.md``.
"""

from importlib import import_module
from typing import Any

#: Public name -> defining module. Imported on first use: the reader needs
#: the mcap package, which the rest of the package (the node without a
#: recording) does not.
_EXPORTS = {
    'COMMAND_TOPIC': 'recorder',
    'COMPRESSIONS': 'recorder',
    'decode_hal_frames': 'format',
    'DEFAULT_COMPRESSION': 'recorder',
    'encode_hal_frames': 'format',
    'HAL_FRAMES_MSGDEF': 'format',
    'HAL_FRAMES_TYPE': 'format',
    'HalFramesFormatError': 'format',
    'HalRecorder': 'recorder',
    'OBSERVATION_TOPIC': 'recorder',
    'offered_qos_profiles': 'qos',
    'parse_offered_qos_profiles': 'qos',
    'RecordedFrames': 'reader',
    'RecordedMessage': 'reader',
    'RecordedRosMessage': 'reader',
    'recording_parts': 'recorder',
    'RecordingError': 'recorder',
    'RecordingReader': 'reader',
    'TopicQos': 'qos',
}

__all__ = sorted(_EXPORTS, key=str.lower)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(import_module(f'{__name__}.{module}'), name)
    globals()[name] = value
    return value
