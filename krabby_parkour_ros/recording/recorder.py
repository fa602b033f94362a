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
Record HAL traffic and ROS messages into MCAP files without blocking the caller.

:class:`HalRecorder` takes references to the frames of every HAL
observation and command and to serialized ROS messages, puts them on a
bounded in-memory queue and returns at once; a background thread writes
them into an MCAP file (``profile ros2``) that Foxglove, rosbag2 tools and
``rosbags`` open. When the queue is full (by count or by bytes) a record is
dropped and counted, never waited for. The file is written in chunks
straight to the operating system (no user-space buffer): if the process is
killed, everything up to the last completed chunk stays readable
(:mod:`~krabby_parkour_ros.recording.reader` reads such a file). A chunk
is completed at ``chunk_size`` bytes and at least every
``flush_interval_s`` while data is pending. Files rotate by size:
``run.mcap``, ``run_001.mcap``, ``run_002.mcap`` ...

Channels (``docs/recording.md``): ``/hal/observation`` and
``/hal/command`` carry :data:`~krabby_parkour_ros.recording.format.HAL_FRAMES_TYPE`
records (every frame byte for byte plus the local monotonic and wall
times); every ROS topic given to :meth:`HalRecorder.record_ros` carries its
CDR bytes with the complete ``ros2msg`` definition as schema. Every channel
carries the ``offered_qos_profiles`` metadata rosbag2 writes
(:mod:`~krabby_parkour_ros.recording.qos`): the profile given to
:meth:`HalRecorder.register_topic` (or the publisher's, through
:meth:`HalRecorder.record_published`), else rclpy's default profile.
Chunks are zstd-compressed by default (``compression``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import logging
import os
from pathlib import Path
import threading
import time
from typing import Any

try:  # ROS messages are optional: HAL traffic records without rclpy.
    from rclpy.serialization import serialize_message
except ImportError:  # pragma: no cover - rclpy is installed wherever the node runs
    serialize_message = None

from krabby_parkour_ros.recording.format import (
    encode_hal_frames,
    Frame,
    HAL_FRAMES_MSGDEF,
    HAL_FRAMES_TYPE,
    HalFramesFormatError,
)
from krabby_parkour_ros.recording.msgdefs import (
    full_message_definition,
    message_type_name,
    MessageDefinitionError,
    normalize_type_name,
)
from krabby_parkour_ros.recording.qos import (
    DEFAULT_QOS,
    offered_qos_profiles,
    qos_from_profile,
    QosFormatError,
    SENSOR_DATA_QOS,
    TopicQos,
)

logger = logging.getLogger(__name__)

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
_JOIN_TIMEOUT_S = 30.0
_KIND_HAL = 0
_KIND_ROS = 1
_KIND_DECLARE = 2


def _import_mcap_writer() -> Any:
    """Return ``mcap.writer`` (imported here: the rest of the package runs without it)."""
    try:
        from mcap import writer
    except ImportError as exc:  # pragma: no cover - mcap is installed with the package
        raise RecordingError(
            f'recording needs the mcap package (pip install mcap mcap-ros2-support): {exc}'
        ) from exc
    return writer


class RecordingError(RuntimeError):
    """A recording cannot be created or written (path, settings, disk)."""


def part_path(base: Path, index: int) -> Path:
    """
    Return the path of part ``index`` of a recording.

    :param base: the first file (``run.mcap``).
    :param index: 0 for the first file, then 1, 2 ... (``run_001.mcap`` ...).
    """
    if index == 0:
        return base
    return base.with_name(f'{base.stem}_{int(index):03}{base.suffix}')


class _DirectFile:
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
        view = memoryview(data)
        total = view.nbytes
        while view.nbytes:
            written = os.write(self._fd, view)
            view = view[written:]
        self._position += total
        return total

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Do nothing: every write already reached the operating system."""

    def fsync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclass
class _Item:
    """One queued record."""

    kind: int
    topic: str
    payload: Any
    nbytes: int
    monotonic_ns: int
    wall_ns: int
    type_name: str = HAL_FRAMES_TYPE
    msg_class: Any = None


@dataclass
class RecorderStats:
    """
    Counters of a :class:`HalRecorder` (a snapshot).

    :param enqueued: records accepted onto the queue.
    :param written: records written to a file.
    :param dropped: records refused (queue full, recorder closed or failed).
    :param dropped_bytes: payload bytes of the dropped records.
    :param queued: records waiting now.
    :param queued_bytes: payload bytes waiting now.
    :param max_queued: the most records that ever waited at once.
    :param bytes_written: bytes written to all files so far.
    :param files: every file of the recording, in order.
    :param per_topic: records written per topic.
    :param errors: records that could not be encoded (e.g. unknown type).
    :param error: why the writer stopped, if it failed.
    """

    enqueued: int = 0
    written: int = 0
    dropped: int = 0
    dropped_bytes: int = 0
    queued: int = 0
    queued_bytes: int = 0
    max_queued: int = 0
    bytes_written: int = 0
    files: list[str] = field(default_factory=list)
    per_topic: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as a JSON-ready dict."""
        return {
            'enqueued': self.enqueued,
            'written': self.written,
            'dropped': self.dropped,
            'dropped_bytes': self.dropped_bytes,
            'queued': self.queued,
            'queued_bytes': self.queued_bytes,
            'max_queued': self.max_queued,
            'bytes_written': self.bytes_written,
            'files': list(self.files),
            'per_topic': dict(self.per_topic),
            'errors': self.errors,
            'error': self.error,
        }


def _frames_nbytes(frames: Sequence[Frame]) -> int:
    total = 0
    for frame in frames:
        total += frame.nbytes if isinstance(frame, memoryview) else len(frame)
    return total


#: Records that wake the writer without a kick once kicks drive it (~0.3 s at 100 Hz).
_KICKED_BACKLOG = 64


class _McapFile:
    """One open part of a recording: the MCAP writer, its schemas and channels."""

    def __init__(
        self, path: Path, chunk_size: int, compression: str, metadata: Mapping[str, str]
    ) -> None:
        mcap_writer = _import_mcap_writer()
        self.path = path
        self.stream = _DirectFile(path)
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
        self.writer.flush()
        self.pending = 0
        self.pending_since_ns = None

    def finish(self, fsync: bool) -> None:
        try:
            self.writer.finish()
            if fsync:
                self.stream.fsync()
        finally:
            self.stream.close()


class HalRecorder:
    """
    Record HAL observations, HAL commands and ROS messages into MCAP files.

    Every ``record_*`` method is thread safe, never blocks on the disk and
    returns False when the record was dropped (queue full by count or
    bytes, recorder closed or failed); drops are counted in :meth:`stats`.
    Frames are queued by reference: pass immutable buffers (``bytes``,
    ``zmq.Frame`` received with ``copy=False``) or buffers that are not
    reused afterwards.

    :param path: the first file (``.mcap`` is appended when missing); it
        must not exist; further parts are ``<stem>_001.mcap`` ...
    :param max_file_bytes: rotate to a new part once a file reaches this
        size (at a chunk boundary); 0 for a single file.
    :param queue_size: most records waiting for the writer.
    :param max_queue_bytes: most payload bytes waiting for the writer.
    :param chunk_size: uncompressed bytes per MCAP chunk (a crash loses at
        most the chunk in progress).
    :param compression: per chunk: ``'zstd'`` (default), ``'lz4'`` or
        ``'none'`` (camera images barely compress and compression halves the
        writer's throughput for them, see ``benchmarks/bench_recording.py``).
    :param flush_interval_s: complete the chunk in progress at least this
        often while data waits in it.
    :param metadata: strings stored in every file's metadata record
        (robot, joint map, policy ...).
    :param fsync: call ``fsync`` when a file is finished (power-loss safety
        of finished files; a killed process needs no fsync).
    :raises RecordingError: if a setting is invalid or the file cannot be created.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        max_file_bytes: int = 2 * 1024**3,
        queue_size: int = 512,
        max_queue_bytes: int = 512 * 1024**2,
        chunk_size: int = 1024**2,
        compression: str = DEFAULT_COMPRESSION,
        flush_interval_s: float = 1.0,
        metadata: Mapping[str, str] | None = None,
        fsync: bool = True,
    ) -> None:
        base = Path(path)
        if base.suffix != '.mcap':
            base = base.with_name(base.name + '.mcap')
        self._check_settings(
            max_file_bytes, queue_size, max_queue_bytes, chunk_size, compression, flush_interval_s
        )
        self._base = base
        self._max_file_bytes = int(max_file_bytes)
        self._queue_size = int(queue_size)
        self._max_queue_bytes = int(max_queue_bytes)
        self._chunk_size = int(chunk_size)
        self._compression = compression
        self._flush_interval_ns = int(flush_interval_s * 1e9)
        self._fsync = bool(fsync)
        self._metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
        self._created_wall_ns = time.time_ns()
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._stats = RecorderStats()
        self._open = True
        self._failed = False
        # Once kick() is called, the writer wakes on kicks (after each control
        # tick) instead of on every record, so its GIL time falls between ticks.
        self._kicked = False
        self._type_names: dict[type, str] = {}
        #: topic -> (type name or None until the first message, offered QoS)
        self._topics: dict[str, tuple[str | None, TopicQos]] = {
            OBSERVATION_TOPIC: (HAL_FRAMES_TYPE, HAL_QOS),
            COMMAND_TOPIC: (HAL_FRAMES_TYPE, HAL_QOS),
        }
        self._definitions: dict[str, str] = {HAL_FRAMES_TYPE: HAL_FRAMES_MSGDEF}
        self._logged_errors: set[str] = set()
        self._part_index = 0
        self._finished_bytes = 0
        self._file_done = False
        self._file = self._open_part(0)
        self._thread = threading.Thread(target=self._run, name='krabby-hal-recorder', daemon=True)
        self._thread.start()

    @staticmethod
    def _check_settings(
        max_file_bytes: int,
        queue_size: int,
        max_queue_bytes: int,
        chunk_size: int,
        compression: str,
        flush_interval_s: float,
    ) -> None:
        checks = (
            ('max_file_bytes', max_file_bytes, 0),
            ('queue_size', queue_size, 1),
            ('max_queue_bytes', max_queue_bytes, 1),
            ('chunk_size', chunk_size, 1024),
        )
        for name, value, minimum in checks:
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise RecordingError(
                    f'{name}: expected an integer >= {int(minimum)}, got {value!r}'
                )
        if compression not in COMPRESSIONS:
            raise RecordingError(
                f'compression: expected one of {", ".join(COMPRESSIONS)}, got {compression!r}'
            )
        if not isinstance(flush_interval_s, (int, float)) or not flush_interval_s > 0:
            raise RecordingError(
                f'flush_interval_s: expected a number > 0, got {flush_interval_s!r}'
            )

    # -- public API ----------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """Return the first file of the recording."""
        return self._base

    def record_observation(
        self,
        frames: Sequence[Frame],
        receive_time_ns: int | None = None,
        receive_wall_time_ns: int | None = None,
    ) -> bool:
        """
        Queue one received HAL observation (its 8 frames as received).

        :param frames: the frames, by reference (not copied here).
        :param receive_time_ns: local ``time.monotonic_ns()`` at receipt
            (``HalObservation.receive_time_ns``); now when None.
        :param receive_wall_time_ns: local ``time.time_ns()`` at receipt; now
            when None. It is the MCAP log time of the record.
        :return: False if the record was dropped.
        """
        return self.record_frames(OBSERVATION_TOPIC, frames, receive_time_ns, receive_wall_time_ns)

    def record_command(
        self,
        frames: Sequence[Frame],
        send_time_ns: int | None = None,
        send_wall_time_ns: int | None = None,
    ) -> bool:
        """
        Queue one sent HAL command (its 2 frames as sent).

        :param frames: the frames, by reference.
        :param send_time_ns: local ``time.monotonic_ns()`` at send; now when None.
        :param send_wall_time_ns: local ``time.time_ns()`` at send; now when None.
        :return: False if the record was dropped.
        """
        return self.record_frames(COMMAND_TOPIC, frames, send_time_ns, send_wall_time_ns)

    def record_frames(
        self,
        topic: str,
        frames: Sequence[Frame],
        monotonic_time_ns: int | None = None,
        wall_time_ns: int | None = None,
    ) -> bool:
        """Queue any multipart ZeroMQ message on ``topic`` as a HalFrames record."""
        if monotonic_time_ns is None:
            monotonic_time_ns = time.monotonic_ns()
        if wall_time_ns is None:
            wall_time_ns = time.time_ns()
        frames = tuple(frames)
        return self._put(
            _Item(
                _KIND_HAL, topic, frames, _frames_nbytes(frames), monotonic_time_ns, wall_time_ns
            )
        )

    def register_topic(self, topic: str, msg_type: Any = None, qos: Any = None) -> None:
        """
        Declare a ROS topic: its type and the QoS its publisher offers.

        A registered topic with a known type gets its channel in every file
        of the recording at once (``ros2 bag info`` lists it with 0 messages
        until one arrives); its records carry ``qos`` as the channel's
        ``offered_qos_profiles``. Any topic may be recorded without
        registration (rclpy's default profile is recorded then). Call it
        before the topic's first record; a later call changes nothing for
        a channel already written.

        :param topic: fully qualified topic name (``/parkour_node/markers``).
        :param msg_type: a message class or object, ``'pkg/msg/Type'``, or
            None (the type of the first message).
        :param qos: an rclpy ``QoSProfile`` (``publisher.qos_profile``), a
            :class:`~krabby_parkour_ros.recording.qos.TopicQos`, or None for
            rclpy's default profile.
        :raises RecordingError: if the type or the profile is not one.
        """
        try:
            topic_qos = DEFAULT_QOS if qos is None else qos_from_profile(qos)
            type_name = None if msg_type is None else self._type_name_of(msg_type)
        except (MessageDefinitionError, QosFormatError) as exc:
            raise RecordingError(f'{topic}: {exc}') from exc
        with self._cond:
            self._topics[topic] = (type_name, topic_qos)
            # A declaration is not a record: it bypasses the limits and the counters.
            if type_name is not None and self._open and not self._failed:
                self._queue.append(_Item(_KIND_DECLARE, topic, None, 0, 0, 0, type_name))
                self._cond.notify()

    def record_published(self, publisher: Any, msg: Any, stamp_ns: int | None = None) -> bool:
        """
        Record ``msg`` under ``publisher``'s topic with the QoS it offers.

        The first call for a topic registers it (:meth:`register_topic`
        with ``publisher.qos_profile``); then it is :meth:`record_ros`.

        :param publisher: an rclpy (lifecycle) publisher.
        :param msg: the message just published.
        :param stamp_ns: MCAP log time (see :meth:`record_ros`).
        :return: False if the record was dropped.
        """
        topic = publisher.topic_name
        if topic not in self._topics:
            try:
                self.register_topic(topic, msg, getattr(publisher, 'qos_profile', None))
            except RecordingError as exc:
                self._count_error(str(exc))
                return False
        return self.record_ros(topic, msg, stamp_ns)

    def _type_name_of(self, msg_type: Any) -> str:
        if isinstance(msg_type, str):
            return '{}/msg/{}'.format(*normalize_type_name(msg_type))
        cls = msg_type if isinstance(msg_type, type) else type(msg_type)
        type_name = self._type_names.get(cls)
        if type_name is None:
            type_name = message_type_name(cls)
            self._type_names[cls] = type_name
        return type_name

    def record_ros(self, topic: str, msg: Any, stamp_ns: int | None = None) -> bool:
        """
        Serialize (CDR, here) and queue one ROS message.

        The message is serialized in the caller's thread (a few microseconds
        for the node's topics), so the caller may reuse ``msg`` at once. The
        writer stores the exact CDR bytes a subscriber receives
        (:mod:`~krabby_parkour_ros.recording.cdr`).

        :param topic: fully qualified topic name (``/parkour_node/mode``);
            any topic, registered (:meth:`register_topic`) or not.
        :param msg: an rclpy message object of any type with an installed
            ``.msg`` definition.
        :param stamp_ns: MCAP log time, nanoseconds since the epoch (the
            node clock's ``now().nanoseconds``); ``time.time_ns()`` when None.
        :return: False if the record was dropped or ``msg`` is not a ROS message.
        """
        if serialize_message is None:
            self._count_error('record_ros: rclpy is not installed; ROS messages are skipped')
            return False
        cls = type(msg)
        type_name = self._type_names.get(cls)
        if type_name is None:
            try:
                type_name = message_type_name(msg)
            except MessageDefinitionError as exc:
                self._count_error(str(exc))
                return False
            self._type_names[cls] = type_name
        data = serialize_message(msg)
        stamp = time.time_ns() if stamp_ns is None else int(stamp_ns)
        return self._put(_Item(_KIND_ROS, topic, data, len(data), 0, stamp, type_name, cls))

    def stats(self) -> dict[str, Any]:
        """Return a snapshot of the counters (see :class:`RecorderStats`) as a dict."""
        with self._cond:
            self._stats.queued = len(self._queue)
            return self._stats.as_dict()

    @property
    def closed(self) -> bool:
        """Return True after :meth:`close`."""
        return not self._open

    def close(self, timeout_s: float = _JOIN_TIMEOUT_S) -> dict[str, Any]:
        """
        Write everything queued, finish the file (indexes, summary) and stop.

        Idempotent. Records offered afterwards are dropped.

        :param timeout_s: longest wait for the writer to drain.
        :return: the final counters.
        """
        with self._cond:
            self._open = False
            self._cond.notify_all()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.error(
                'recorder: the writer did not finish within %.1f s; %s is left '
                'without its summary (still readable up to its last chunk)',
                timeout_s,
                self._file.path if self._file else self._base,
            )
        return self.stats()

    def __enter__(self) -> HalRecorder:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- queue ---------------------------------------------------------------------------

    def _put(self, item: _Item) -> bool:
        with self._cond:
            stats = self._stats
            if (
                not self._open
                or self._failed
                or len(self._queue) >= self._queue_size
                or stats.queued_bytes + item.nbytes > self._max_queue_bytes
            ):
                stats.dropped += 1
                stats.dropped_bytes += item.nbytes
                return False
            self._queue.append(item)
            stats.enqueued += 1
            stats.queued_bytes += item.nbytes
            depth = len(self._queue)
            if depth > stats.max_queued:
                stats.max_queued = depth
            if (depth == 1 and not self._kicked) or depth == _KICKED_BACKLOG:
                self._cond.notify()
        return True

    def kick(self) -> None:
        """
        Wake the writer now; from the first kick on, records no longer wake it.

        The control loop kicks right after a tick's command went out, so the
        writer's Python work (encoding, MCAP framing) holds the GIL between
        ticks instead of competing with the tick that answers an
        observation. Without kicks the writer still wakes at a backlog of
        :data:`_KICKED_BACKLOG` records and at the flush interval.
        """
        with self._cond:
            self._kicked = True
            if self._queue:
                self._cond.notify()

    def _count_error(self, message: str) -> None:
        with self._cond:
            self._stats.errors += 1
            first = message not in self._logged_errors
            self._logged_errors.add(message)
        if first:
            logger.error('recorder: %s', message)

    # -- writer thread -------------------------------------------------------------------

    def _open_part(self, index: int) -> _McapFile:
        path = part_path(self._base, index)
        metadata = dict(self._metadata)
        metadata.update(
            {
                'format_version': RECORDING_FORMAT_VERSION,
                'hal_schema': '1.0',
                'part': str(index),
                'first_part': self._base.name,
                'created_wall_time_ns': str(self._created_wall_ns),
            }
        )
        try:
            mcap_file = _McapFile(path, self._chunk_size, self._compression, metadata)
        except FileExistsError as exc:
            raise RecordingError(f'path: expected a new file, got existing {path}') from exc
        except OSError as exc:
            raise RecordingError(f'path: could not create {path}: {exc}') from exc
        with self._cond:
            self._stats.files.append(str(path))
        logger.info('recording to %s', path)
        return mcap_file

    def _next_item(self) -> tuple[_Item | None, bool]:
        """Return ``(item or None, finished)``, waiting at most until the flush deadline."""
        with self._cond:
            if not self._queue:
                if not self._open:
                    return None, True
                pending_since = self._file.pending_since_ns
                if pending_since is None:
                    timeout = self._flush_interval_ns / 1e9
                else:
                    deadline = pending_since + self._flush_interval_ns
                    timeout = max(0.0, (deadline - time.monotonic_ns()) / 1e9)
                self._cond.wait(timeout)
            if not self._queue:
                return None, False
            return self._queue.popleft(), False

    def _run(self) -> None:
        try:
            while True:
                item, finished = self._next_item()
                if finished:
                    break
                if item is not None:
                    try:
                        self._write(item)
                    finally:
                        with self._cond:
                            self._stats.queued_bytes -= item.nbytes
                pending_since = self._file.pending_since_ns
                if (
                    pending_since is not None
                    and time.monotonic_ns() - pending_since >= self._flush_interval_ns
                ):
                    self._file.flush()
                self._update_size()
            self._file.finish(self._fsync)
            self._finished_bytes += self._file.stream.tell()
            self._file_done = True
            self._update_size()
        except Exception as exc:  # noqa: B902 - any writer failure must stop recording cleanly
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        logger.exception('recorder: writing %s failed; recording stopped', self._file.path)
        with self._cond:
            self._failed = True
            self._stats.error = f'{type(exc).__name__}: {exc}'
            self._stats.dropped += len(self._queue)
            self._stats.dropped_bytes += sum(i.nbytes for i in self._queue)
            self._queue.clear()
            self._stats.queued_bytes = 0
        try:
            self._file.stream.close()
        except OSError:
            pass

    def _definition(self, type_name: str) -> str | None:
        definition = self._definitions.get(type_name)
        if definition is None:
            try:
                definition = full_message_definition(type_name)
            except MessageDefinitionError as exc:
                self._count_error(f'{exc} (records of this type are skipped)')
                return None
            self._definitions[type_name] = definition
        return definition

    def _topic_qos(self, topic: str, type_name: str) -> TopicQos | None:
        """Return the topic's QoS, or None (counted) if it was registered with another type."""
        with self._cond:
            registered_type, qos = self._topics.get(topic, (None, DEFAULT_QOS))
        if registered_type is not None and registered_type != type_name:
            self._count_error(
                f'{topic}: expected {registered_type} records (as registered), got {type_name};'
                ' skipped'
            )
            return None
        return qos

    def _declare_registered(self) -> None:
        """Create the channel of every registered ROS topic in the current file."""
        with self._cond:
            topics = [
                (t, n, q)
                for t, (n, q) in self._topics.items()
                if n is not None and n != HAL_FRAMES_TYPE
            ]
        for topic, type_name, qos in topics:
            definition = self._definition(type_name)
            if definition is not None:
                self._file.channel(topic, type_name, definition, qos)

    def _write(self, item: _Item) -> None:
        definition = self._definition(item.type_name)
        if definition is None:
            return
        qos = self._topic_qos(item.topic, item.type_name)
        if qos is None:
            return
        if item.kind == _KIND_DECLARE:
            if item.topic not in self._file.channels:
                self._file.channel(item.topic, item.type_name, definition, qos)
            return
        if item.kind == _KIND_HAL:
            try:
                data = encode_hal_frames(item.payload, item.monotonic_ns, item.wall_ns)
            except HalFramesFormatError as exc:
                self._count_error(f'{item.topic}: {exc}')
                return
        else:
            # ROS message tooling only when a ROS message is recorded (the
            # library records HAL frames without rosidl installed).
            from krabby_parkour_ros.recording.cdr import trim_serialized

            data = trim_serialized(item.payload, item.msg_class)
            if data is None:
                self._count_error(
                    f'{item.topic}: could not measure the CDR length of {item.type_name}; stored'
                    ' the serializer buffer as is'
                )
                data = item.payload
        self._maybe_rotate(len(data))
        channel_id = self._file.channel(item.topic, item.type_name, definition, qos)
        if channel_id is None:
            self._count_error(
                f'{item.topic}: expected {self._file.channel_types[item.topic]} records (the type'
                f' of the channel), got {item.type_name}; skipped'
            )
            return
        self._file.add(channel_id, item.wall_ns, data)
        with self._cond:
            self._stats.written += 1
            self._stats.per_topic[item.topic] = self._stats.per_topic.get(item.topic, 0) + 1

    def _maybe_rotate(self, next_bytes: int) -> None:
        if not self._max_file_bytes:
            return
        current = self._file
        size = current.stream.tell() + current.pending
        if not current.channels or size + next_bytes <= self._max_file_bytes:
            return
        current.finish(self._fsync)
        self._finished_bytes += current.stream.tell()
        self._part_index += 1
        self._file = self._open_part(self._part_index)
        self._declare_registered()

    def _update_size(self) -> None:
        current = 0 if self._file_done else self._file.stream.tell()
        with self._cond:
            self._stats.bytes_written = self._finished_bytes + current


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
