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
The writer process of a recording: receives records, writes the MCAP parts.

Started by :class:`~krabby_parkour_ros.recording.recorder.HalRecorder`
(``python -c`` calling :func:`main` with the settings as JSON). Everything
that costs CPU while recording (the HalFrames encoding, the ROS CDR
trimming, MCAP framing, compression, system calls) runs here, under its
own interpreter lock and at a lower CPU priority (``nice``), so the
control process only hands the frames over.

It stops cleanly (remaining records written, summary, ``fsync``) on the
recorder's close record, on SIGTERM, and when the recorder's process dies
(its end of the pipe on our stdin closes): it never outlives the recorder.
SIGINT is ignored: a Ctrl-C in a terminal reaches the whole process group,
and the recorder's own close must find the writer alive.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from pathlib import Path
import signal
import sys
import threading
import time
from typing import Any

import zmq

from krabby_parkour_ros.recording import wire
from krabby_parkour_ros.recording.channels import ChannelRegistry
from krabby_parkour_ros.recording.format import encode_hal_frames, HalFramesFormatError
from krabby_parkour_ros.recording.mcap_file import McapFile, part_metadata, part_path

logger = logging.getLogger('krabby_parkour_ros.recording.writer')

#: Most records handled between two looks at the flush deadline and the parent.
_BATCH = 256
#: How often the JSON snapshot (files, records per topic) is refreshed while writing.
_SNAPSHOT_INTERVAL_NS = 200_000_000
#: How long records still in flight are awaited once the recorder's process is gone.
_ORPHAN_DRAIN_S = 0.2


class RecordingWriter:
    """
    Write records into the parts of one recording; report through shared counters.

    :param settings: the recorder's settings (see ``HalRecorder._writer_settings``).
    :param status: the shared counters and snapshot.
    :raises OSError: if the first part cannot be created.
    """

    def __init__(self, settings: dict[str, Any], status: wire.SharedStatus) -> None:
        self._base = Path(settings['path'])
        self._max_file_bytes = int(settings['max_file_bytes'])
        self._chunk_size = int(settings['chunk_size'])
        self._compression = str(settings['compression'])
        self._flush_interval_ns = int(settings['flush_interval_s'] * 1e9)
        self._fsync = bool(settings['fsync'])
        self._metadata = dict(settings['metadata'])
        self._created_wall_ns = int(settings['created_wall_ns'])
        self._status = status
        self._registry = ChannelRegistry(self._count_error)
        self._classes: dict[str, Any] = {}
        self._logged_errors: set[str] = set()
        self._files: list[str] = []
        self._per_topic: dict[str, int] = {}
        self._error: str | None = None
        self._written = 0
        self._errors = 0
        self._part_index = 0
        self._finished_bytes = 0
        self._snapshot_due_ns = 0
        self._part = self._open_part(0)

    @property
    def failed(self) -> bool:
        """Return True once writing stopped on an error (records are dropped and counted)."""
        return self._error is not None

    # -- records -------------------------------------------------------------------------

    def handle(self, parts: list[zmq.Frame]) -> bool:
        """Handle one received record; return True for the close record."""
        kind, topic, type_name, monotonic_ns, wall_ns = wire.unpack_header(parts[0].buffer)
        if kind == wire.KIND_CLOSE:
            return True
        if kind == wire.KIND_DECLARE:
            if not self.failed:
                qos = wire.qos_from_bytes(parts[1].buffer)
                self._registry.declare(topic, type_name or None, qos, self._part)
            return False
        payload = parts[1:]
        nbytes = sum(len(frame) for frame in payload)
        if self.failed:
            self._status.add(wire.DROPPED, 1)
            self._status.add(wire.DROPPED_BYTES, nbytes)
        else:
            try:
                self._write(kind, topic, type_name, payload, monotonic_ns, wall_ns)
            except Exception as exc:  # noqa: B902 - any writer failure must stop recording cleanly
                self._fail(exc)
        self._status.add(wire.CONSUMED, 1)
        self._status.add(wire.CONSUMED_BYTES, nbytes)
        return False

    def _write(
        self,
        kind: int,
        topic: str,
        type_name: str,
        payload: list[zmq.Frame],
        monotonic_ns: int,
        wall_ns: int,
    ) -> None:
        registry = self._registry
        if registry.definition(type_name) is None or registry.topic_qos(topic, type_name) is None:
            return
        if kind == wire.KIND_HAL:
            try:
                data = encode_hal_frames(payload, monotonic_ns, wall_ns)
            except HalFramesFormatError as exc:
                self._count_error(f'{topic}: {exc}')
                return
        else:
            data = self._exact_cdr(topic, type_name, payload[0].bytes)
        self._maybe_rotate(len(data))
        channel_id = registry.channel_for(self._part, topic, type_name)
        if channel_id is None:
            return
        self._part.add(channel_id, wall_ns, data)
        self._written += 1
        self._per_topic[topic] = self._per_topic.get(topic, 0) + 1
        self._status.store(wire.WRITTEN, self._written)
        self._status.store(wire.BYTES_WRITTEN, self._finished_bytes + self._part.stream.tell())

    def _exact_cdr(self, topic: str, type_name: str, data: bytes) -> bytes:
        """Return the real CDR bytes of a serialized ROS message (``recording/cdr.py``)."""
        # ROS message tooling only when a ROS message is recorded (HAL frames
        # record without rosidl installed).
        from krabby_parkour_ros.recording.cdr import trim_serialized

        msg_class = self._message_class(type_name)
        exact = None if msg_class is None else trim_serialized(data, msg_class)
        if exact is None:
            self._count_error(
                f'{topic}: could not measure the CDR length of {type_name}; stored the'
                ' serializer buffer as is'
            )
            return data
        return exact

    def _message_class(self, type_name: str) -> Any:
        if type_name not in self._classes:
            package, _, name = type_name.rpartition('/')
            try:
                module = importlib.import_module(package.replace('/', '.'))
                self._classes[type_name] = getattr(module, name)
            except (ImportError, AttributeError):
                self._classes[type_name] = None
        return self._classes[type_name]

    # -- parts ---------------------------------------------------------------------------

    def _open_part(self, index: int) -> McapFile:
        path = part_path(self._base, index)
        metadata = part_metadata(self._base, index, self._created_wall_ns, self._metadata)
        part = McapFile(path, self._chunk_size, self._compression, metadata)
        self._files.append(str(path))
        self._publish_snapshot()
        logger.info('recording to %s', path)
        return part

    def _maybe_rotate(self, next_bytes: int) -> None:
        if not self._max_file_bytes:
            return
        current = self._part
        size = current.stream.tell() + current.pending
        if not current.channels or size + next_bytes <= self._max_file_bytes:
            return
        current.finish(self._fsync)
        self._finished_bytes += current.stream.tell()
        self._part_index += 1
        self._part = self._open_part(self._part_index)
        self._registry.declare_all(self._part)

    def wait_ms(self) -> int:
        """Return how long to wait for records before the chunk in progress must be flushed."""
        pending_since = None if self.failed else self._part.pending_since_ns
        if pending_since is None:
            return max(1, self._flush_interval_ns // 1_000_000)
        remaining = pending_since + self._flush_interval_ns - time.monotonic_ns()
        return max(0, remaining // 1_000_000)

    def tick(self) -> None:
        """Flush the chunk in progress when it is due; refresh the snapshot now and then."""
        if self.failed:
            return
        pending_since = self._part.pending_since_ns
        if (
            pending_since is not None
            and time.monotonic_ns() - pending_since >= self._flush_interval_ns
        ):
            try:
                self._part.flush()
            except Exception as exc:  # noqa: B902 - any writer failure must stop recording cleanly
                self._fail(exc)
                return
            self._status.store(wire.BYTES_WRITTEN, self._finished_bytes + self._part.stream.tell())
        if time.monotonic_ns() >= self._snapshot_due_ns:
            self._publish_snapshot()

    def finish(self) -> None:
        """Finish the current part (indexes, summary, fsync) and publish the final state."""
        if not self.failed:
            try:
                self._part.finish(self._fsync)
                self._finished_bytes += self._part.stream.tell()
                self._status.store(wire.BYTES_WRITTEN, self._finished_bytes)
            except Exception as exc:  # noqa: B902 - report, as any writer failure
                self._fail(exc)
        self._publish_snapshot()
        if not self.failed:
            self._status.store(wire.STATE, wire.FINISHED)

    # -- errors and status ---------------------------------------------------------------

    def _count_error(self, message: str) -> None:
        self._errors += 1
        self._status.store(wire.ERRORS, self._errors)
        if message not in self._logged_errors:
            self._logged_errors.add(message)
            logger.error('recorder: %s', message)

    def _fail(self, exc: Exception) -> None:
        logger.exception('recorder: writing %s failed; recording stopped', self._part.path)
        self._error = f'{type(exc).__name__}: {exc}'
        self._status.store(wire.STATE, wire.FAILED)
        try:
            self._part.stream.close()
        except OSError:
            pass
        self._publish_snapshot()

    def _publish_snapshot(self) -> None:
        self._snapshot_due_ns = time.monotonic_ns() + _SNAPSHOT_INTERVAL_NS
        self._status.write_snapshot(
            {'files': self._files, 'per_topic': self._per_topic, 'error': self._error}
        )


def _drain(writer: RecordingWriter, pull: zmq.Socket) -> bool:
    """Handle the records waiting now (a batch at most); return True after the close record."""
    for _ in range(_BATCH):
        try:
            parts = pull.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return False
        if writer.handle(parts):
            return True
    return False


def serve(writer: RecordingWriter, pull: zmq.Socket, parent_fd: int, stop: list[bool]) -> None:
    """Write records until the close record, SIGTERM (``stop``) or the recorder's death."""
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    poller.register(parent_fd, zmq.POLLIN)
    while not stop[0]:
        events = dict(poller.poll(writer.wait_ms()))
        if pull in events and _drain(writer, pull):
            return
        if parent_fd in events:
            # EOF: the recorder's process is gone. Keep what it sent, then finish.
            deadline = time.monotonic() + _ORPHAN_DRAIN_S
            while time.monotonic() < deadline:
                if pull.poll(20) and _drain(writer, pull):
                    break
            logger.warning('recorder: the recording process is gone; finishing the recording')
            return
        writer.tick()


def _preload_ros() -> None:
    """Import the ROS message tooling now, not at the first ROS record (a second's backlog)."""
    try:
        import rclpy.serialization  # noqa: F401

        from krabby_parkour_ros.recording import cdr  # noqa: F401
    except ImportError:  # pragma: no cover - only HAL records come then
        pass


def _start(settings: dict[str, Any], status: wire.SharedStatus) -> RecordingWriter | None:
    path = part_path(Path(settings['path']), 0)
    try:
        return RecordingWriter(settings, status)
    except FileExistsError:
        message = f'path: expected a new file, got existing {path}'
    except OSError as exc:
        message = f'path: could not create {path}: {exc}'
    except Exception as exc:  # noqa: B902 - reported to the recorder as a RecordingError
        message = str(exc)
    status.write_snapshot({'files': [], 'per_topic': {}, 'error': message, 'start_error': message})
    status.store(wire.STATE, wire.FAILED)
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the writer process: ``argv[0]`` is the settings as JSON."""
    settings = json.loads((sys.argv[1:] if argv is None else argv)[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = [False]

    def on_term(signum: int, frame: Any) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_term)
    logging.basicConfig(
        level=int(settings.get('log_level', logging.INFO)),
        format='[%(levelname)s] [recording writer %(process)d] %(message)s',
    )
    if settings.get('nice'):
        try:
            os.nice(int(settings['nice']))
        except OSError:  # pragma: no cover - lowering priority is always allowed
            pass
    status = wire.SharedStatus(int(settings['status_fd']))
    writer = _start(settings, status)
    if writer is None:
        return 1
    if settings.get('preload_ros'):
        threading.Thread(target=_preload_ros, name='preload-ros', daemon=True).start()
    context = zmq.Context(1)
    pull = context.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 0)
    pull.setsockopt(zmq.LINGER, 0)
    try:
        pull.bind(settings['endpoint'])
        status.store(wire.STATE, wire.READY)
        serve(writer, pull, sys.stdin.fileno(), stop)
    finally:
        writer.finish()
        pull.close(linger=0)
        context.term()
    return 0
