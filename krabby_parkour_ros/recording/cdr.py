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
Exact CDR length of an rclpy message.

``rclpy.serialization.serialize_message`` (rmw_fastrtps) returns a buffer
of the *estimated* serialized size: when a message ends with empty
sequences of 8-byte types (a ``JointState`` without velocities), the
buffer carries up to several bytes of uninitialised memory after the last
field. DDS sends only the real length, and strict readers (``rosbags``)
reject the longer buffer. :func:`cdr_length` walks the message's field
types (``SLOT_TYPES``) and returns the real length, so the recorder stores
exactly the bytes a subscriber would receive. The alignment padding
inside such a buffer is uninitialised too; :func:`trim_serialized` sets it
to zero, as every other CDR writer does.
"""

from __future__ import annotations

from typing import Any

#: Bytes of each primitive type in CDR.
PRIMITIVE_SIZES = {
    'boolean': 1,
    'octet': 1,
    'char': 1,
    'uint8': 1,
    'int8': 1,
    'uint16': 2,
    'int16': 2,
    'uint32': 4,
    'int32': 4,
    'uint64': 8,
    'int64': 8,
    'float': 4,
    'double': 8,
    'long double': 16,
}
#: Bytes of the CDR encapsulation header.
HEADER_BYTES = 4


class UnsupportedCdrTypeError(TypeError):
    """A field type has no supported CDR length rule (wide strings)."""


Pads = list[tuple[int, int]]


def _types() -> Any:
    """Return rosidl's type classes, imported on first use: this module loads without ROS."""
    from rosidl_parser import definition

    return definition


def _align(offset: int, size: int, pads: Pads) -> int:
    aligned = offset + (-offset % size)
    if aligned != offset:
        pads.append((offset, aligned))
    return aligned


def _elements(offset: int, value_type: Any, values: Any, pads: Pads) -> int:
    count = len(values)
    definition = _types()
    if isinstance(value_type, definition.BasicType):
        size = PRIMITIVE_SIZES[value_type.typename]
        return _align(offset, size, pads) + count * size if count else offset
    for item in values:
        offset = _field(offset, value_type, item, pads)
    return offset


def _field(offset: int, slot_type: Any, value: Any, pads: Pads) -> int:
    definition = _types()
    if isinstance(slot_type, definition.BasicType):
        size = PRIMITIVE_SIZES.get(slot_type.typename)
        if size is None:
            raise UnsupportedCdrTypeError(
                f'CDR length: type {slot_type.typename!r} is not supported'
            )
        return _align(offset, size, pads) + size
    if isinstance(slot_type, definition.AbstractString):
        if isinstance(slot_type, definition.AbstractWString):
            raise UnsupportedCdrTypeError('CDR length: wstring is not supported')
        return _align(offset, 4, pads) + 4 + len(value.encode('utf-8')) + 1
    if isinstance(slot_type, definition.NamespacedType):
        return _message(offset, value, pads)
    if isinstance(slot_type, definition.Array):
        return _elements(offset, slot_type.value_type, value, pads)
    if isinstance(slot_type, definition.AbstractSequence):
        return _elements(_align(offset, 4, pads) + 4, slot_type.value_type, value, pads)
    raise UnsupportedCdrTypeError(
        f'CDR length: field type {type(slot_type).__name__} is not supported'
    )


def _message(offset: int, msg: Any, pads: Pads) -> int:
    cls = type(msg)
    names = cls.get_fields_and_field_types()
    for name, slot_type in zip(names, cls.SLOT_TYPES):
        offset = _field(offset, slot_type, getattr(msg, name), pads)
    if not names:
        offset += 1  # an empty struct is serialized as one dummy uint8
    return offset


def cdr_layout(msg: Any) -> tuple[int, Pads]:
    """
    Return the CDR length of an rclpy message and its padding ranges.

    :return: ``(length, pads)``: the length includes the 4-byte
        encapsulation header; ``pads`` are ``(start, end)`` byte ranges of
        alignment padding, offsets counted after the header.
    :raises UnsupportedCdrTypeError: for field types without a rule here.
    """
    pads: Pads = []
    return HEADER_BYTES + _message(0, msg, pads), pads


def cdr_length(msg: Any) -> int:
    """
    Return the CDR length of an rclpy message, encapsulation header included.

    :raises UnsupportedCdrTypeError: for field types without a rule here.
    """
    return cdr_layout(msg)[0]


def trim_serialized(data: bytes, msg_class: Any) -> bytes | None:
    """
    Return ``data`` cut to its real CDR length with zeroed padding.

    :param data: bytes from ``rclpy.serialization.serialize_message``.
    :param msg_class: the message class (used to deserialize a private copy).
    :return: the exact bytes, or None if the length cannot be measured
        (unsupported field type) or exceeds ``data``.
    """
    from rclpy.serialization import deserialize_message

    try:
        length, pads = cdr_layout(deserialize_message(data, msg_class))
    except UnsupportedCdrTypeError:
        return None
    if length > len(data):
        return None
    exact = bytearray(data[:length])
    for start, end in pads:
        exact[HEADER_BYTES + start : HEADER_BYTES + end] = bytes(end - start)
    return bytes(exact)
