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
Attach a :class:`HalRecorder` to a HAL client (used by the node and the library client).

Every received observation (all frames, as received, before decoding) and
every sent command go to the recorder from the HAL client's own threads; the
recorder never blocks them (bounded queue, drops counted).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
import time
from typing import Any, TYPE_CHECKING

from krabby_parkour_ros.recording.recorder import DEFAULT_COMPRESSION, HalRecorder

if TYPE_CHECKING:
    from krabby_parkour_ros.hal.client import HalClient


def recording_file(path: str) -> Path:
    """Return the .mcap file for ``path``: itself, or a timestamped file in a folder."""
    target = Path(path).expanduser()
    if target.suffix == '.mcap':
        target.parent.mkdir(parents=True, exist_ok=True)
        return target
    target.mkdir(parents=True, exist_ok=True)
    return target / time.strftime('parkour_%Y%m%d_%H%M%S.mcap')


def open_recorder(
    path: str,
    max_file_bytes: int,
    metadata: Mapping[str, str] | None = None,
    compression: str = DEFAULT_COMPRESSION,
) -> HalRecorder:
    """
    Create a recorder at ``path`` (pass it to ControlRuntime.build to tap the HAL).

    :param path: a ``.mcap`` file or a folder (a timestamped file in it).
    :param max_file_bytes: rotate past this size (0: one file).
    :param metadata: strings stored in every file's metadata record.
    :param compression: chunk compression, one of
        :data:`~krabby_parkour_ros.recording.recorder.COMPRESSIONS`.
    :raises RecordingError: if a setting is invalid or the file cannot be created.
    """
    return HalRecorder(
        recording_file(path),
        max_file_bytes=max_file_bytes,
        metadata=dict(metadata or {}),
        compression=compression,
    )


def detach_recorder(hal: HalClient | None, recorder: HalRecorder) -> dict[str, Any]:
    """Stop tapping, flush and close; return the recorder's final statistics."""
    if hal is not None:
        hal.set_taps(observation=None, command=None)
    return recorder.close()
