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

:class:`HalRecorder` hands every HAL observation and command (its frames
by reference) and every serialized ROS message to a writer process
(:mod:`~krabby_parkour_ros.recording.writer_process`) and returns at once:
the encoding, the MCAP framing, the compression and the disk run there,
under their own interpreter lock, never beside the control thread. At most
``queue_size`` records (and ``max_queue_bytes``) are in flight; past that
a record is dropped and counted, never waited for. The writer writes
chunks straight to the operating system (no user-space buffer): if it is
killed, everything up to the last completed chunk stays readable
(:mod:`~krabby_parkour_ros.recording.reader` reads such a file); if the
recording process dies, the writer writes what it received and finishes
the file. A chunk is completed at ``chunk_size`` bytes and at least every
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

Length: about 520 lines, beyond the usual ~450. The recorder API has one
method per kind of record (HAL frames, ROS topics, published messages,
QoS registration) plus their counters; the writer process, file and wire
formats live in their own modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import logging
import os
from pathlib import Path
import threading
import time
from typing import Any

try:  # ROS messages are optional: HAL traffic records without rclpy.
    from rclpy.serialization import serialize_message
except ImportError:  # pragma: no cover - rclpy is installed wherever the node runs
    serialize_message = None  # type: ignore[assignment]

from krabby_parkour_ros.recording import wire
from krabby_parkour_ros.recording.format import Frame, HAL_FRAMES_TYPE
from krabby_parkour_ros.recording.handover import WriterProcess
from krabby_parkour_ros.recording.mcap_file import (
    check_settings,
    COMMAND_TOPIC,
    COMPRESSIONS,
    DEFAULT_COMPRESSION,
    HAL_QOS,
    import_mcap_writer,
    METADATA_NAME,
    OBSERVATION_TOPIC,
    part_path,
    RECORDING_FORMAT_VERSION,
    recording_parts,
    RecordingError,
)
from krabby_parkour_ros.recording.msgdefs import (
    message_type_name,
    MessageDefinitionError,
    normalize_type_name,
)
from krabby_parkour_ros.recording.qos import (
    DEFAULT_QOS,
    qos_from_profile,
    QosFormatError,
)
from krabby_parkour_ros.recording.recorder_stats import RecorderStats

__all__ = [
    'COMMAND_TOPIC',
    'COMPRESSIONS',
    'DEFAULT_COMPRESSION',
    'HAL_QOS',
    'HalRecorder',
    'METADATA_NAME',
    'OBSERVATION_TOPIC',
    'part_path',
    'RECORDING_FORMAT_VERSION',
    'RecorderStats',
    'recording_parts',
    'RecordingError',
    'WRITER_NICE',
]

logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S = 30.0
_START_TIMEOUT_S = 30.0
#: CPU priority increment of the writer process (``nice``; 0: as this process). A
#: niced writer starved on a loaded 2-core machine and dropped records (issue #16).
WRITER_NICE = 0
#: A record offered within this long after a kick waits for the next kick (the
#: control loop kicks every tick); later, or without kicks, it is sent at once.
#: Records still waiting when kicks stop go out with the next record,
#: :meth:`HalRecorder.stats` (the node's diagnostics call it every period) or
#: :meth:`HalRecorder.close`.
_KICK_WINDOW_NS = 50_000_000
#: Most records waiting for a kick; one more sends them all at once.
_KICKED_BACKLOG = 64


def _frames_nbytes(frames: Sequence[Frame]) -> int:
    total = 0
    for frame in frames:
        total += frame.nbytes if isinstance(frame, memoryview) else len(frame)
    return total


class HalRecorder:
    """
    Record HAL observations, HAL commands and ROS messages into MCAP files.

    Every ``record_*`` method is thread safe, never blocks on the disk and
    returns False when the record was dropped (queue full by count or
    bytes, recorder closed or failed); drops are counted in :meth:`stats`.
    A record is handed to the writer process at once (libzmq copies its
    frames, or shares a received ``zmq.Frame``), so the caller may reuse
    its buffers afterwards.

    :param path: the first file (``.mcap`` is appended when missing); it
        must not exist; further parts are ``<stem>_001.mcap`` ...
    :param max_file_bytes: rotate to a new part once a file reaches this
        size (at a chunk boundary); 0 for a single file.
    :param queue_size: most records handed over and not yet written.
    :param max_queue_bytes: most payload bytes handed over and not yet written.
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
    :param writer_nice: CPU priority increment of the writer process
        (``nice``; 0 keeps this process's).
    :raises RecordingError: if a setting is invalid, the file cannot be
        created or the writer process cannot start.
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
        writer_nice: int = WRITER_NICE,
    ) -> None:
        base = Path(path)
        if base.suffix != '.mcap':
            base = base.with_name(base.name + '.mcap')
        check_settings(
            max_file_bytes, queue_size, max_queue_bytes, chunk_size, compression, flush_interval_s
        )
        # Fail here, not in the writer, when mcap is missing (the writer needs it).
        import_mcap_writer()
        self._base = base
        self._queue_size = int(queue_size)
        self._max_queue_bytes = int(max_queue_bytes)
        self._lock = threading.Lock()
        self._stats = RecorderStats()
        self._enqueued_bytes = 0
        self._open = True
        self._lost: str | None = None
        self._final: tuple[tuple[int, ...], dict[str, Any]] | None = None
        self._type_names: dict[type, str] = {}
        self._topics: set[str] = {OBSERVATION_TOPIC, COMMAND_TOPIC}
        self._suffixes: dict[str, bytes] = {}
        self._logged_errors: set[str] = set()
        self._deferred: list[tuple[list[Any], int]] = []
        self._last_kick_ns = 0
        settings = {
            'path': str(base),
            'max_file_bytes': int(max_file_bytes),
            'chunk_size': int(chunk_size),
            'compression': compression,
            'flush_interval_s': float(flush_interval_s),
            'fsync': bool(fsync),
            'metadata': {str(k): str(v) for k, v in (metadata or {}).items()},
            'created_wall_ns': time.time_ns(),
            'nice': int(writer_nice),
            'log_level': logger.getEffectiveLevel(),
            'preload_ros': serialize_message is not None,
        }
        self._writer = WriterProcess(settings, _START_TIMEOUT_S)

    # -- public API ----------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """Return the first file of the recording."""
        return self._base

    @property
    def writer_pid(self) -> int:
        """Return the process id of the writer process."""
        return self._writer.pid

    def record_observation(
        self,
        frames: Sequence[Frame],
        receive_time_ns: int | None = None,
        receive_wall_time_ns: int | None = None,
    ) -> bool:
        """
        Hand one received HAL observation over (its 8 frames as received).

        :param frames: the frames (``zmq.Frame`` received with ``copy=False``
            are shared with the writer, not copied).
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
        Hand one sent HAL command over (its 2 frames as sent).

        :param frames: the frames.
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
        """Hand any multipart ZeroMQ message over as a HalFrames record on ``topic``."""
        if monotonic_time_ns is None:
            monotonic_time_ns = time.monotonic_ns()
        if wall_time_ns is None:
            wall_time_ns = time.time_ns()
        suffix = self._suffixes.get(topic)
        if suffix is None:
            suffix = self._suffixes[topic] = wire.header_suffix(topic, HAL_FRAMES_TYPE)
        header = wire.pack_times(wire.KIND_HAL, monotonic_time_ns, wall_time_ns) + suffix
        return self._put(header, frames, _frames_nbytes(frames))

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
        header = wire.pack_header(wire.KIND_DECLARE, topic, type_name or '', 0, 0)
        with self._lock:
            self._topics.add(topic)
            # A declaration is not a record: it bypasses the limits and the counters.
            if self._open:
                self._writer.send([header, wire.qos_to_bytes(topic_qos)])

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
        Serialize (CDR, here) and hand one ROS message over.

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
        header = wire.pack_header(wire.KIND_ROS, topic, type_name, 0, stamp)
        return self._put(header, (data,), len(data))

    def stats(self) -> dict[str, Any]:
        """
        Return a snapshot of the counters (see :class:`RecorderStats`) as a dict.

        Also hands over records that waited longer than the kick window for a
        kick that did not come.
        """
        with self._lock:
            if self._final is not None:
                counters, snapshot = self._final
            else:
                if self._deferred and time.monotonic_ns() - self._last_kick_ns >= _KICK_WINDOW_NS:
                    # The kick these records waited for never came (the loop
                    # stopped): hand them over now.
                    self._send_deferred()
                counters, snapshot = self._writer.status.counters(), {}
                if self._open and self._lost is None and not self._writer.alive():
                    self._lost = f'writer process exited with code {self._writer.exit_code()}'
                    logger.error('recorder: the %s; recording stopped', self._lost)
            return self._snapshot(counters, snapshot or self._writer.status.read_snapshot())

    def _snapshot(self, counters: tuple[int, ...], snapshot: dict[str, Any]) -> dict[str, Any]:
        own = self._stats
        return RecorderStats(
            enqueued=own.enqueued,
            written=counters[wire.WRITTEN],
            dropped=own.dropped + counters[wire.DROPPED],
            dropped_bytes=own.dropped_bytes + counters[wire.DROPPED_BYTES],
            queued=max(0, own.enqueued - counters[wire.CONSUMED]),
            queued_bytes=max(0, self._enqueued_bytes - counters[wire.CONSUMED_BYTES]),
            max_queued=own.max_queued,
            bytes_written=counters[wire.BYTES_WRITTEN],
            files=list(snapshot.get('files') or []),
            per_topic=dict(snapshot.get('per_topic') or {}),
            errors=own.errors + counters[wire.ERRORS],
            error=snapshot.get('error') or self._lost,
        ).as_dict()

    @property
    def closed(self) -> bool:
        """Return True after :meth:`close`."""
        return not self._open

    def close(self, timeout_s: float = _JOIN_TIMEOUT_S) -> dict[str, Any]:
        """
        Write everything handed over, finish the file (indexes, summary) and stop the writer.

        Idempotent. Records offered afterwards are dropped.

        :param timeout_s: longest wait for the writer to finish; it is
            killed then (the file stays readable up to its last chunk).
        :return: the final counters.
        """
        with self._lock:
            if not self._open:
                return self._snapshot(*self._final) if self._final else self._stats.as_dict()
            self._open = False
            self._send_deferred()
            self._writer.send_close()
        if not self._writer.wait(timeout_s):
            logger.error(
                'recorder: the writer did not finish within %.1f s; %s is left '
                'without its summary (still readable up to its last chunk)',
                timeout_s,
                self._base,
            )
        with self._lock:
            counters = self._writer.status.counters()
            snapshot = self._writer.status.read_snapshot()
            lost = self._stats.enqueued - counters[wire.CONSUMED]
            if lost > 0:
                # Handed over, never written: the writer was killed or did not finish.
                self._stats.dropped += lost
                self._stats.dropped_bytes += self._enqueued_bytes - counters[wire.CONSUMED_BYTES]
                self._stats.enqueued -= lost
                self._enqueued_bytes = counters[wire.CONSUMED_BYTES]
                self._lost = self._lost or 'writer process stopped before writing everything'
            self._final = (counters, snapshot)
            self._writer.release()
        return self.stats()

    def __enter__(self) -> HalRecorder:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def kick(self) -> None:
        """
        Hand the records offered since the last kick over now (call after each control tick).

        Sending a record costs tens of microseconds (libzmq copies its
        frames); the control loop kicks right after a tick's command went
        out, so records offered during the tick (the observation it
        answers, its command) are sent between ticks instead of on the
        observation -> command path. Without a kick for
        :data:`_KICK_WINDOW_NS`, records are sent as they come.
        """
        with self._lock:
            self._last_kick_ns = time.monotonic_ns()
            self._send_deferred()

    # -- hand-over -----------------------------------------------------------------------

    def _put(self, header: bytes, payload: Sequence[Any], nbytes: int) -> bool:
        with self._lock:
            stats = self._stats
            consumed, consumed_bytes, state = (
                self._writer.status.progress() if self._open else (0, 0, wire.FINISHED)
            )
            depth = stats.enqueued - consumed
            if (
                not self._open
                or state == wire.FAILED
                or self._lost is not None
                or depth >= self._queue_size
                or self._enqueued_bytes - consumed_bytes + nbytes > self._max_queue_bytes
            ):
                stats.dropped += 1
                stats.dropped_bytes += nbytes
                return False
            stats.enqueued += 1
            self._enqueued_bytes += nbytes
            if depth >= stats.max_queued:
                stats.max_queued = depth + 1
            parts = [header, *payload]
            kicked = time.monotonic_ns() - self._last_kick_ns < _KICK_WINDOW_NS
            if kicked and len(self._deferred) < _KICKED_BACKLOG:
                self._deferred.append((parts, nbytes))
                return True
            self._send_deferred()
            return self._send(parts, nbytes)

    def _send_deferred(self) -> None:
        """Send the records waiting for a kick, in order (holding the lock)."""
        deferred, self._deferred = self._deferred, []
        for parts, nbytes in deferred:
            self._send(parts, nbytes)

    def _send(self, parts: list[Any], nbytes: int) -> bool:
        """Send one admitted record (holding the lock); a refusal turns it into a drop."""
        if self._writer.send(parts):
            return True
        stats = self._stats
        stats.enqueued -= 1
        self._enqueued_bytes -= nbytes
        stats.dropped += 1
        stats.dropped_bytes += nbytes
        return False

    def _count_error(self, message: str) -> None:
        with self._lock:
            self._stats.errors += 1
            first = message not in self._logged_errors
            self._logged_errors.add(message)
        if first:
            logger.error('recorder: %s', message)
