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
``krabby-parkour-replay`` (:mod:`~krabby_parkour_ros.recording.replay`)
serves a recording through a HAL server and ``krabby-parkour-report``
(:mod:`~krabby_parkour_ros.recording.report`) plots it. The file layout is
documented in ``docs/recording.md``.
"""

from krabby_parkour_ros.recording.format import (
    decode_hal_frames, encode_hal_frames, HAL_FRAMES_MSGDEF, HAL_FRAMES_TYPE,
    HalFramesFormatError)
from krabby_parkour_ros.recording.reader import (
    RecordedFrames, RecordedMessage, RecordedRosMessage, RecordingReader)
from krabby_parkour_ros.recording.recorder import (
    COMMAND_TOPIC, HalRecorder, OBSERVATION_TOPIC, recording_parts, RecordingError)

__all__ = [
    'COMMAND_TOPIC', 'decode_hal_frames', 'encode_hal_frames', 'HAL_FRAMES_MSGDEF',
    'HAL_FRAMES_TYPE', 'HalFramesFormatError', 'HalRecorder', 'OBSERVATION_TOPIC',
    'RecordedFrames', 'RecordedMessage', 'RecordedRosMessage', 'recording_parts',
    'RecordingError', 'RecordingReader',
]
