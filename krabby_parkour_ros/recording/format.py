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
The byte layout of recorded HAL messages (``krabby_parkour/msg/HalFrames``).

A recording stores every HAL message (observation: 8 frames, command: 2
frames) byte for byte as one MCAP message whose schema is a ROS 2 message
definition (``ros2msg``) and whose encoding is CDR, so that Foxglove,
rosbag2 tools and ``rosbags`` list and decode it like any ROS topic::

    int64 monotonic_time_ns   # local time.monotonic_ns() at receipt / send
    int64 wall_time_ns        # local time.time_ns() at receipt / send
    uint32[] frame_lengths    # byte length of every ZeroMQ frame, in order
    uint8[] data              # all frames concatenated, in order

The CDR bytes of that definition (little endian; offsets after the 4-byte
encapsulation header ``00 01 00 00``) are: ``monotonic_time_ns`` at 0,
``wall_time_ns`` at 8, the frame count ``n`` (uint32) at 16, ``n`` uint32
lengths from 20, then the data length (uint32, the sum of the lengths) and
the data. Every field is naturally aligned without padding, so a reader
needs nothing but this paragraph (``docs/recording.md`` repeats it).
"""

from __future__ import annotations

from collections.abc import Sequence
import struct

import zmq

Frame = bytes | bytearray | memoryview | zmq.Frame

#: Type name of the HAL frame records (package resource name of ROS 2).
HAL_FRAMES_TYPE = 'krabby_parkour/msg/HalFrames'
#: ROS 2 message definition of :data:`HAL_FRAMES_TYPE` (``ros2msg`` schema text).
HAL_FRAMES_MSGDEF = (
    '# One Krabby HAL ZeroMQ message, every frame byte for byte.\n'
    '# Observations (8 frames) and commands (2 frames) of schema 1.0 use it.\n'
    'int64 monotonic_time_ns   # local time.monotonic_ns() at receipt (observation) or send\n'
    'int64 wall_time_ns        # local time.time_ns() at receipt (observation) or send\n'
    'uint32[] frame_lengths    # byte length of every frame, in order\n'
    'uint8[] data              # all frames concatenated, in order\n'
)
#: CDR encapsulation header: plain CDR, little endian.
CDR_LE_HEADER = b'\x00\x01\x00\x00'
_TIMES = struct.Struct('<qqI')
_UINT32 = struct.Struct('<I')
_FRAME_LIMIT = 2**32 - 1


class HalFramesFormatError(ValueError):
    """A recorded HAL frame record is truncated or inconsistent."""


def _nbytes(frame: Frame) -> int:
    if isinstance(frame, zmq.Frame):
        return len(frame.buffer)
    if isinstance(frame, memoryview):
        return frame.nbytes
    return len(frame)


def _buffer(frame: Frame) -> bytes | bytearray | memoryview:
    if isinstance(frame, zmq.Frame):
        return frame.buffer
    return frame


def encode_hal_frames(frames: Sequence[Frame], monotonic_time_ns: int, wall_time_ns: int) -> bytes:
    """
    Return the CDR bytes of one :data:`HAL_FRAMES_TYPE` record.

    The frame bytes are copied exactly once (into the returned buffer).

    :param frames: the ZeroMQ frames (bytes, memoryview or ``zmq.Frame``).
    :param monotonic_time_ns: local monotonic time of receipt or send.
    :param wall_time_ns: local wall-clock time of receipt or send.
    :raises HalFramesFormatError: if a frame or the total is 4 GiB or more.
    """
    buffers = [_buffer(f) for f in frames]
    lengths = [_nbytes(f) for f in frames]
    total = sum(lengths)
    if total > _FRAME_LIMIT:
        raise HalFramesFormatError(
            f'frames: expected at most {int(_FRAME_LIMIT)} bytes in total, got {int(total)}'
        )
    head: list[bytes | bytearray | memoryview] = [
        CDR_LE_HEADER,
        _TIMES.pack(monotonic_time_ns, wall_time_ns, len(lengths)),
        struct.pack(f'<{len(lengths)}I', *lengths),
        _UINT32.pack(total),
    ]
    return b''.join(head + buffers)


def decode_hal_frames(data: bytes | memoryview) -> tuple[int, int, list[memoryview]]:
    """
    Split one :data:`HAL_FRAMES_TYPE` record into its times and frames.

    :param data: the CDR bytes of the record.
    :return: ``(monotonic_time_ns, wall_time_ns, frames)``; each frame is a
        read-only memoryview into ``data`` (no copy).
    :raises HalFramesFormatError: if the record is truncated, not little
        endian CDR, or its lengths disagree.
    """
    view = memoryview(data).toreadonly()
    if view.nbytes < 4 + _TIMES.size or bytes(view[:4]) != CDR_LE_HEADER:
        raise HalFramesFormatError(
            f'HalFrames header: expected {CDR_LE_HEADER!r} and at least {int(4 + _TIMES.size)}'
            f' bytes, got {bytes(view[:4])!r} and {int(view.nbytes)} bytes'
        )
    monotonic_ns, wall_ns, count = _TIMES.unpack_from(view, 4)
    offset = 4 + _TIMES.size
    end_of_lengths = offset + 4 * count + 4
    if view.nbytes < end_of_lengths:
        raise HalFramesFormatError(
            f'HalFrames frame_lengths: expected {int(count)} lengths ({int(end_of_lengths)}'
            f' bytes), got a record of {int(view.nbytes)} bytes'
        )
    lengths = struct.unpack_from(f'<{int(count)}I', view, offset)
    (total,) = _UINT32.unpack_from(view, offset + 4 * count)
    start = end_of_lengths
    if total != sum(lengths) or view.nbytes != start + total:
        raise HalFramesFormatError(
            f'HalFrames data: expected {int(sum(lengths))} bytes (sum of the frame lengths'
            f' {int(sum(lengths))}), got {int(total)} declared and {int(view.nbytes - start)}'
            ' present'
        )
    frames = []
    for length in lengths:
        frames.append(view[start : start + length])
        start += length
    return monotonic_ns, wall_ns, frames
