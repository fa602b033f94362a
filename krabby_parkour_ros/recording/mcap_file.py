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
The files of a recording: names, parts, and one open MCAP part.

Shared by the recorder (settings, paths) and its writer process (the only
place that writes). A part is written straight to the operating system
without a user-space buffer (:class:`DirectFile`), so a killed writer loses
only the chunk in progress.
"""

from __future__ import annotations

from collections.abc import Mapping
import os
from pathlib import Path
import time
from typing import Any

from krabby_parkour_ros.recording.qos import offered_qos_profiles, SENSOR_DATA_QOS, TopicQos

#: Channel of the received HAL observations (8 frames each).
OBSERVATION_TOPIC = '/hal/observation'
#: Channel of the sent HAL commands (2 frames each).
COMMAND_TOPIC = '/hal/command'
#: Version of the recording layout, stored in every file's metadata.
RECORDING_FORMAT_VERSION = '1'
#: Name of the MCAP metadata record describing the recording.
METADATA_NAME = 'krabby_parkour.recording'
#: Chunk compressions, by name (the ``record_compression`` parameter's choices).
COMPRESSIONS = ('none', 'lz4', 'zstd')
#: Default chunk compression: files of the simulated robot's traffic are
#: 4.8 times smaller than uncompressed (``docs/recording.md``).
DEFAULT_COMPRESSION = 'zstd'
#: Offered QoS recorded for the HAL channels (they are not ROS topics; a
#: replay publishes them as sensor data would be).
HAL_QOS = SENSOR_DATA_QOS
_LIBRARY = f'krabby_parkour recording {RECORDING_FORMAT_VERSION}'


class RecordingError(RuntimeError):
    """A recording cannot be created or written (path, settings, disk)."""


def check_settings(
    max_file_bytes: int,
    queue_size: int,
    max_queue_bytes: int,
    chunk_size: int,
    compression: str,
    flush_interval_s: float,
) -> None:
    """
    Refuse invalid recorder settings.

    :raises RecordingError: naming the first invalid setting, what it expects and what came.
    """
    checks = (
        ('max_file_bytes', max_file_bytes, 0),
        ('queue_size', queue_size, 1),
        ('max_queue_bytes', max_queue_bytes, 1),
        ('chunk_size', chunk_size, 1024),
    )
    for name, value, minimum in checks:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise RecordingError(f'{name}: expected an integer >= {int(minimum)}, got {value!r}')
    if compression not in COMPRESSIONS:
        raise RecordingError(
            f'compression: expected one of {", ".join(COMPRESSIONS)}, got {compression!r}'
        )
    if not isinstance(flush_interval_s, (int, float)) or not flush_interval_s > 0:
        raise RecordingError(f'flush_interval_s: expected a number > 0, got {flush_interval_s!r}')


def import_mcap_writer() -> Any:
    """Return ``mcap.writer`` (imported here: the rest of the package runs without it)."""
    try:
        from mcap import writer
    except ImportError as exc:  # pragma: no cover - mcap is installed with the package
        raise RecordingError(
            f'recording needs the mcap package (pip install mcap mcap-ros2-support): {exc}'
        ) from exc
    return writer


def part_path(base: Path, index: int) -> Path:
    """
    Return the path of part ``index`` of a recording.

    :param base: the first file (``run.mcap``).
    :param index: 0 for the first file, then 1, 2 ... (``run_001.mcap`` ...).
    """
    if index == 0:
        return base
    return base.with_name(f'{base.stem}_{int(index):03}{base.suffix}')


def recording_parts(path: str | os.PathLike) -> tuple[Path, ...]:
    """
    Return the existing parts of a recording, in order.

    :param path: the first file (``run.mcap``) or any part of it
        (``run_002.mcap``: the first file is ``run.mcap`` when that exists).
    :raises FileNotFoundError: if the file does not exist.
    """
    base = Path(path)
    stem = base.stem
    if len(stem) > 4 and stem[-4] == '_' and stem[-3:].isdigit():
        first = base.with_name(stem[:-4] + base.suffix)
        if first.is_file():
            base = first
    if not base.is_file():
        raise FileNotFoundError(f'recording: expected a file at {base}, found none')
    parts = [base]
    index = 1
    while part_path(base, index).is_file():
        parts.append(part_path(base, index))
        index += 1
    return tuple(parts)


def part_metadata(
    base: Path, index: int, created_wall_ns: int, extra: Mapping[str, str]
) -> dict[str, str]:
    """Return the metadata record of part ``index`` (``docs/recording.md``)."""
    metadata = dict(extra)
    metadata.update(
        {
            'format_version': RECORDING_FORMAT_VERSION,
            'hal_schema': '1.0',
            'part': str(index),
            'first_part': base.name,
            'created_wall_time_ns': str(created_wall_ns),
        }
    )
    return metadata


class DirectFile:
    """
    A write-only file without a user-space buffer, counting its bytes.

    The MCAP writer hands it whole records (a chunk and its indexes), so
    each write is one system call and lands in the operating system at once:
    a killed process loses nothing that was written.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._position = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Write all of ``data`` (one system call unless the kernel takes less)."""
        view = memoryview(data)
        total = view.nbytes
        while view.nbytes:
            written = os.write(self._fd, view)
            view = view[written:]
        self._position += total
        return total

    def tell(self) -> int:
        """Return the bytes written so far."""
        return self._position

    def flush(self) -> None:
        """Do nothing: every write already reached the operating system."""

    def fsync(self) -> None:
        """Push the file to the disk (power-loss safety)."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class McapFile:
    """One open part of a recording: the MCAP writer, its schemas and channels."""

    def __init__(
        self, path: Path, chunk_size: int, compression: str, metadata: Mapping[str, str]
    ) -> None:
        mcap_writer = import_mcap_writer()
        self.path = path
        self.stream = DirectFile(path)
        self.writer = mcap_writer.Writer(
            self.stream,
            chunk_size=chunk_size,
            compression=mcap_writer.CompressionType[compression.upper()],
        )
        self.writer.start(profile='ros2', library=_LIBRARY)
        self.writer.add_metadata(METADATA_NAME, dict(metadata))
        self.schemas: dict[str, int] = {}
        self.channels: dict[str, int] = {}
        self.channel_types: dict[str, str] = {}
        self.sequences: dict[int, int] = {}
        self.pending = 0
        self.pending_since_ns: int | None = None

    def channel(self, topic: str, type_name: str, definition: str, qos: TopicQos) -> int | None:
        """Return the topic's channel id (created now if new), None for another type."""
        channel_id = self.channels.get(topic)
        if channel_id is not None and self.channel_types[topic] != type_name:
            return None
        if channel_id is None:
            schema_id = self.schemas.get(type_name)
            if schema_id is None:
                schema_id = self.writer.register_schema(
                    type_name, 'ros2msg', definition.encode('utf-8')
                )
                self.schemas[type_name] = schema_id
            channel_id = self.writer.register_channel(
                topic, 'cdr', schema_id, {'offered_qos_profiles': offered_qos_profiles([qos])}
            )
            self.channels[topic] = channel_id
            self.channel_types[topic] = type_name
        return channel_id

    def add(self, channel_id: int, log_time: int, data: bytes) -> None:
        """Add one message; note when data starts waiting in an unfinished chunk."""
        before = self.stream.tell()
        sequence = self.sequences.get(channel_id, 0)
        self.sequences[channel_id] = sequence + 1
        self.writer.add_message(channel_id, log_time, data, log_time, sequence)
        if self.stream.tell() != before:
            self.pending = 0
            self.pending_since_ns = None
        else:
            if self.pending_since_ns is None:
                self.pending_since_ns = time.monotonic_ns()
            self.pending += len(data)

    def flush(self) -> None:
        """Complete the chunk in progress (it reaches the operating system)."""
        self.writer.flush()
        self.pending = 0
        self.pending_since_ns = None

    def finish(self, fsync: bool) -> None:
        """Write the indexes and the summary, optionally fsync, and close."""
        try:
            self.writer.finish()
            if fsync:
                self.stream.fsync()
        finally:
            self.stream.close()
