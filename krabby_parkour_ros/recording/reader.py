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
Read a recording (all its parts), including one cut short by a crash.

:class:`RecordingReader` walks the MCAP files record by record in the order
they were written; it does not need the summary at the end of a file, so
a file whose writer was killed reads up to its last complete chunk (a torn
chunk fails its CRC or its decompression and ends the part; the reader
reports it in :attr:`RecordingReader.problems` instead of raising).

- :meth:`~RecordingReader.observations` and :meth:`~RecordingReader.commands`
  yield :class:`RecordedFrames` (the raw frames and local times), which
  decode through the project's codec (:meth:`RecordedFrames.observation`,
  :meth:`RecordedFrames.command`);
- :meth:`~RecordingReader.ros_messages` yields :class:`RecordedRosMessage`
  (CDR bytes; :meth:`RecordedRosMessage.decode` returns the rclpy message,
  or a plain namespace when the message package is not installed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
import json
import logging
import os
from pathlib import Path
import struct
from typing import Any

from mcap.exceptions import McapError
from mcap.records import Channel, Chunk, Footer, Message, Metadata, Schema
from mcap.stream_reader import breakup_chunk, StreamReader

from krabby_parkour_ros.hal.codec import decode_command, decode_observation
from krabby_parkour_ros.hal.messages import HalCommand, HalObservation
from krabby_parkour_ros.recording.format import decode_hal_frames, HAL_FRAMES_TYPE
from krabby_parkour_ros.recording.recorder import (
    COMMAND_TOPIC,
    METADATA_NAME,
    OBSERVATION_TOPIC,
    recording_parts,
)

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]
#: Errors that mean "the file ends in a torn record" (the writer was killed).
_TORN_RECORD_ERRORS = (McapError, struct.error, ValueError, EOFError, RuntimeError)


@dataclass(frozen=True)
class RecordedMessage:
    """
    One MCAP message of a recording, undecoded.

    :param topic: channel topic.
    :param type_name: schema name (``pkg/msg/Type``).
    :param log_time_ns: MCAP log time (local wall clock, ns since the epoch).
    :param sequence: per-channel counter of the writer.
    :param data: the CDR bytes.
    :param part: index of the file among the recording's parts.
    :param schema: the schema record (its ``ros2msg`` text).
    """

    topic: str
    type_name: str
    log_time_ns: int
    sequence: int
    data: bytes
    part: int
    schema: Schema | None = None


@dataclass(frozen=True)
class RecordedFrames:
    """
    One recorded HAL message: the frames byte for byte and the local times.

    :param topic: ``/hal/observation`` or ``/hal/command`` (or another
        HalFrames channel).
    :param monotonic_time_ns: local ``time.monotonic_ns()`` at receipt or send.
    :param wall_time_ns: local ``time.time_ns()`` at receipt or send.
    :param frames: the frames (read-only views into the record).
    :param part: index of the file among the recording's parts.
    """

    topic: str
    monotonic_time_ns: int
    wall_time_ns: int
    frames: tuple[memoryview, ...]
    part: int = 0

    def frame_bytes(self) -> list[bytes]:
        """Return the frames as ``bytes`` (copies)."""
        return [bytes(f) for f in self.frames]

    def metadata(self) -> dict[str, Any]:
        """
        Return the parsed JSON metadata frame (frame 2 of an observation, 0 of a command).

        :raises ValueError: if the frame is not a JSON object.
        """
        index = 2 if len(self.frames) == 8 else 0
        meta = json.loads(bytes(self.frames[index]).decode('utf-8'))
        if not isinstance(meta, dict):
            raise ValueError(
                f'{self.topic} metadata: expected a JSON object, got {type(meta).__name__}'
            )
        return meta

    def observation(self) -> HalObservation:
        """
        Return the frames decoded by the project codec as an observation, fully checked.

        :raises HalProtocolError: if the recorded message is malformed.
        """
        return decode_observation(self.frames, receive_time_ns=self.monotonic_time_ns)

    def command(self) -> HalCommand:
        """
        Return the frames decoded as a HAL command.

        :raises HalProtocolError: if the recorded message is malformed.
        """
        return decode_command(self.frames)


@dataclass(frozen=True)
class RecordedRosMessage:
    """
    One recorded ROS message.

    :param topic: the ROS topic.
    :param type_name: ``pkg/msg/Type``.
    :param log_time_ns: the stamp given to the recorder (ns since the epoch).
    :param data: the CDR bytes (encapsulation header included).
    :param schema: the ``ros2msg`` schema record.
    """

    topic: str
    type_name: str
    log_time_ns: int
    data: bytes
    schema: Schema | None = None

    def decode(self) -> Any:
        """
        Return the message: an rclpy object if its package is installed.

        Falls back to ``mcap-ros2-support``'s decoder built from the
        recorded definition (attribute access works the same way).
        """
        try:
            from rclpy.serialization import deserialize_message
            from rosidl_runtime_py.utilities import get_message

            cls = get_message(self.type_name)
        except (ImportError, AttributeError, ValueError, ModuleNotFoundError):
            cls = None
        if cls is not None:
            return deserialize_message(self.data, cls)
        if self.schema is None:
            raise LookupError(
                f'{self.topic}: no message class and no recorded definition for {self.type_name}'
            )
        from mcap_ros2.decoder import DecoderFactory

        decoder = DecoderFactory().decoder_for('cdr', self.schema)
        if decoder is None:
            raise LookupError(
                f'{self.topic}: cannot build a decoder for schema {self.schema.name}'
                f' ({self.schema.encoding})'
            )
        return decoder(self.data)


@dataclass
class PartReport:
    """What reading one part found."""

    path: str
    size: int
    messages: int = 0
    complete: bool = False
    problem: str | None = None
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)


class RecordingReader:
    """
    Iterate the messages of a recording, part after part, in write order.

    :param path: the first file of the recording (``run.mcap``) or a
        single part; every following part (``run_001.mcap`` ...) is read too.
    :param validate_crcs: check every chunk's CRC (a torn chunk of an
        uncompressed file is detected by it).
    :raises FileNotFoundError: if the first file does not exist.
    """

    def __init__(self, path: str | os.PathLike, validate_crcs: bool = True) -> None:
        self.parts: tuple[Path, ...] = recording_parts(path)
        self._validate_crcs = validate_crcs
        self.reports: list[PartReport] = []

    @property
    def total_bytes(self) -> int:
        """Return the size of all parts together."""
        return sum(p.stat().st_size for p in self.parts)

    @property
    def problems(self) -> list[str]:
        """Return one line per part that ended early (after the last read)."""
        return [f'{r.path}: {r.problem}' for r in self.reports if r.problem]

    @property
    def truncated(self) -> bool:
        """Return True when a part of the last read had no complete end."""
        return any(not r.complete for r in self.reports)

    def messages(
        self, topics: Iterable[str] | None = None, progress: ProgressCallback | None = None
    ) -> Iterator[RecordedMessage]:
        """
        Yield every message (optionally of some topics only), in write order.

        :param topics: topics to keep; None for all.
        :param progress: called with the fraction of bytes read (0..1) after
            each message and at the end of each part.
        """
        wanted = None if topics is None else set(topics)
        self.reports = []
        total = max(1, self.total_bytes)
        done = 0
        for index, path in enumerate(self.parts):
            report = PartReport(str(path), path.stat().st_size)
            self.reports.append(report)
            with open(path, 'rb') as stream:
                for message in self._read_part(stream, index, report, wanted):
                    yield message
                    if progress is not None:
                        progress((done + stream.tell()) / total)
            done += report.size
            if progress is not None:
                progress(done / total)

    def _read_part(
        self, stream: Any, index: int, report: PartReport, wanted: set | None
    ) -> Iterator[RecordedMessage]:
        schemas: dict[int, Schema] = {}
        channels: dict[int, Channel] = {}
        reader = StreamReader(stream, emit_chunks=True, validate_crcs=False)
        records = reader.records
        while True:
            try:
                record = next(records)
                inner = self._unpack(record) if isinstance(record, Chunk) else [record]
            except StopIteration:
                break
            except _TORN_RECORD_ERRORS as exc:
                report.problem = (
                    f'ends in a torn or unreadable record after {int(report.messages)} messages'
                    f' ({type(exc).__name__}: {exc or "end of file"}); the writer was probably'
                    ' killed'
                )
                logger.warning('recording part %s %s', report.path, report.problem)
                return
            for item in inner:
                if isinstance(item, Schema):
                    schemas[item.id] = item
                elif isinstance(item, Channel):
                    channels[item.id] = item
                elif isinstance(item, Message):
                    message = self._message(item, schemas, channels, index, wanted)
                    if message is not None:
                        report.messages += 1
                        yield message
                elif isinstance(item, Metadata):
                    report.metadata[item.name] = dict(item.metadata)
                elif isinstance(item, Footer):
                    report.complete = True

    def _unpack(self, chunk: Chunk) -> list[Any]:
        """Return the records of a chunk; raise for a torn one."""
        if chunk.compression == '' and len(chunk.data) != chunk.uncompressed_size:
            raise McapError(
                f'chunk: expected {int(chunk.uncompressed_size)} bytes, got {len(chunk.data)} (cut'
                ' short)'
            )
        return breakup_chunk(chunk, validate_crc=self._validate_crcs)

    @staticmethod
    def _message(
        item: Message,
        schemas: dict[int, Schema],
        channels: dict[int, Channel],
        index: int,
        wanted: set | None,
    ) -> RecordedMessage | None:
        channel = channels.get(item.channel_id)
        if channel is None:
            logger.warning('recording: message on unknown channel %d skipped', item.channel_id)
            return None
        if wanted is not None and channel.topic not in wanted:
            return None
        schema = schemas.get(channel.schema_id)
        return RecordedMessage(
            channel.topic,
            schema.name if schema else '',
            item.log_time,
            item.sequence,
            item.data,
            index,
            schema,
        )

    def metadata(self) -> dict[str, str]:
        """Return the recording metadata of the first part (reads its beginning)."""
        with open(self.parts[0], 'rb') as stream:
            reader = StreamReader(stream, emit_chunks=True)
            try:
                for record in reader.records:
                    if isinstance(record, Metadata) and record.name == METADATA_NAME:
                        return dict(record.metadata)
                    if isinstance(record, Chunk):
                        break
            except _TORN_RECORD_ERRORS:
                pass
        return {}

    def frames(
        self, topic: str, progress: ProgressCallback | None = None
    ) -> Iterator[RecordedFrames]:
        """Yield the HalFrames records of one topic."""
        for message in self.messages([topic], progress):
            if message.type_name != HAL_FRAMES_TYPE:
                continue
            monotonic_ns, wall_ns, frames = decode_hal_frames(message.data)
            yield RecordedFrames(topic, monotonic_ns, wall_ns, tuple(frames), message.part)

    def observations(self, progress: ProgressCallback | None = None) -> Iterator[RecordedFrames]:
        """Yield the recorded HAL observations in order."""
        return self.frames(OBSERVATION_TOPIC, progress)

    def commands(self, progress: ProgressCallback | None = None) -> Iterator[RecordedFrames]:
        """Yield the recorded HAL commands in order."""
        return self.frames(COMMAND_TOPIC, progress)

    def ros_messages(
        self, topics: Iterable[str] | None = None, progress: ProgressCallback | None = None
    ) -> Iterator[RecordedRosMessage]:
        """Yield the recorded ROS messages (every non-HalFrames channel) in order."""
        for message in self.messages(topics, progress):
            if message.type_name == HAL_FRAMES_TYPE:
                continue
            yield RecordedRosMessage(
                message.topic, message.type_name, message.log_time_ns, message.data, message.schema
            )

    def topics(self) -> dict[str, str]:
        """Return ``{topic: type name}`` of every channel (reads every part)."""
        found: dict[str, str] = {}
        for message in self.messages():
            found.setdefault(message.topic, message.type_name)
        return found
