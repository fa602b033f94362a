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
What the recorder and its writer process share: the record layout and the counters.

Records travel as multipart ZeroMQ messages over ``ipc://`` (the recorder
PUSHes, the writer process PULLs). Frame 0 is a header
(:func:`pack_header`): kind, monotonic and wall time, topic and type name;
the following frames are the payload (a HAL record's frames as they are,
a ROS message's serialized bytes, a declaration's QoS as JSON).

The writer reports back through :class:`SharedStatus`, a small shared memory
block (``memfd``) that only the writer writes: 64-bit counters the recorder
reads without a lock or a system call (records consumed, written ...), and
a JSON snapshot of the rest (files, records per topic, the error) behind a
sequence number.
"""

from __future__ import annotations

from dataclasses import asdict
import json
import mmap
import os
import struct
from typing import Any

from krabby_parkour_ros.recording.qos import TopicQos

#: Record kinds (header byte 0).
KIND_HAL = 0
KIND_ROS = 1
KIND_DECLARE = 2
KIND_CLOSE = 3
_HEADER = struct.Struct('<Bqq')
_SEPARATOR = b'\x00'

#: Writer states (slot :data:`STATE`).
STARTING = 0
READY = 1
FAILED = 2
FINISHED = 3

#: Counter slots (int64 each). The first three are read together on every record.
CONSUMED = 0
CONSUMED_BYTES = 1
STATE = 2
WRITTEN = 3
BYTES_WRITTEN = 4
ERRORS = 5
DROPPED = 6
DROPPED_BYTES = 7
_SEQUENCE = 8
_LENGTH = 9
_SLOTS = 16
_PROGRESS = struct.Struct('<3q')
_COUNTERS = struct.Struct(f'<{_SLOTS}q')
_SLOT = struct.Struct('<q')
_JSON_OFFSET = _SLOTS * 8
#: Size of the shared block (counters, then the JSON snapshot).
STATUS_BYTES = 64 * 1024


def pack_header(kind: int, topic: str, type_name: str, monotonic_ns: int, wall_ns: int) -> bytes:
    """Return frame 0 of a record."""
    names = f'{topic}\x00{type_name}'.encode()
    return _HEADER.pack(kind, monotonic_ns, wall_ns) + names


def header_suffix(topic: str, type_name: str) -> bytes:
    """Return the names part of a header, to prebuild the constant part of frequent records."""
    return f'{topic}\x00{type_name}'.encode()


def pack_times(kind: int, monotonic_ns: int, wall_ns: int) -> bytes:
    """Return the fixed part of a header (join it with :func:`header_suffix`)."""
    return _HEADER.pack(kind, monotonic_ns, wall_ns)


def unpack_header(data: bytes | memoryview) -> tuple[int, str, str, int, int]:
    """Return ``(kind, topic, type name, monotonic ns, wall ns)`` of frame 0."""
    kind, monotonic_ns, wall_ns = _HEADER.unpack_from(data)
    topic, _, type_name = bytes(data[_HEADER.size :]).partition(_SEPARATOR)
    return kind, topic.decode(), type_name.decode(), monotonic_ns, wall_ns


def qos_to_bytes(qos: TopicQos) -> bytes:
    """Return a QoS profile as the payload of a declaration."""
    return json.dumps(asdict(qos)).encode()


def qos_from_bytes(data: bytes | memoryview) -> TopicQos:
    """Return the QoS profile of a declaration's payload."""
    return TopicQos(**json.loads(bytes(data)))


class SharedStatus:
    """
    The writer's counters and status snapshot in shared memory.

    One writer (the writer process), any number of readers (the recorder).
    Counters are naturally aligned 64-bit words, so a reader never sees a
    torn value; the JSON snapshot is guarded by a sequence number (odd
    while it is being written).

    :param fd: a descriptor of the shared block (``memfd``).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._map = mmap.mmap(fd, STATUS_BYTES)

    @classmethod
    def create(cls) -> SharedStatus:
        """Create a zeroed block (the descriptor is passed to the writer process)."""
        fd = os.memfd_create('krabby-recorder-status', 0)
        os.ftruncate(fd, STATUS_BYTES)
        return cls(fd)

    def progress(self) -> tuple[int, int, int]:
        """Return ``(records consumed, bytes consumed, state)``: one read."""
        return _PROGRESS.unpack_from(self._map, 0)

    def counters(self) -> tuple[int, ...]:
        """Return every counter slot."""
        return _COUNTERS.unpack_from(self._map, 0)

    def get(self, slot: int) -> int:
        """Return one counter."""
        return _SLOT.unpack_from(self._map, slot * 8)[0]

    def store(self, slot: int, value: int) -> None:
        """Set one counter (writer only)."""
        _SLOT.pack_into(self._map, slot * 8, value)

    def add(self, slot: int, delta: int) -> None:
        """Add to one counter (writer only: a read and a write, no atomicity needed)."""
        _SLOT.pack_into(self._map, slot * 8, self.get(slot) + delta)

    def write_snapshot(self, snapshot: dict[str, Any]) -> None:
        """Publish the JSON snapshot (writer only); cut to fit, dropping ``per_topic``."""
        data = json.dumps(snapshot).encode()
        if len(data) > STATUS_BYTES - _JSON_OFFSET:
            data = json.dumps({**snapshot, 'per_topic': {}}).encode()
            data = data[: STATUS_BYTES - _JSON_OFFSET]
        sequence = self.get(_SEQUENCE)
        self.store(_SEQUENCE, sequence + 1)
        self._map[_JSON_OFFSET : _JSON_OFFSET + len(data)] = data
        self.store(_LENGTH, len(data))
        self.store(_SEQUENCE, sequence + 2)

    def read_snapshot(self) -> dict[str, Any]:
        """Return the latest complete JSON snapshot ({} before the first one)."""
        for _ in range(1000):
            sequence = self.get(_SEQUENCE)
            if sequence % 2:
                continue
            length = self.get(_LENGTH)
            data = self._map[_JSON_OFFSET : _JSON_OFFSET + length]
            if self.get(_SEQUENCE) == sequence:
                try:
                    return json.loads(data) if data else {}
                except ValueError:
                    return {}
        return {}

    def close(self) -> None:
        """Unmap and close the descriptor (idempotent)."""
        if not self._map.closed:
            self._map.close()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
