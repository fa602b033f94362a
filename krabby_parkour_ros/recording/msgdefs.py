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
Complete ROS 2 message definitions (``ros2msg``) for the MCAP schemas.

rosbag2 stores, for every topic type, the ``.msg`` text of the type followed
by the text of every type it uses (recursively), each preceded by a line of
80 ``=`` and a line ``MSG: <package>/msg/<Type>`` (rosbag2
``docs/message_definition_encoding.md``). Tools that decode messages at run
time (Foxglove, ``rosbags``, ``mcap-ros2-support``) build their CDR decoder
from that text. This module builds the same text from the ``.msg`` files
that every installed ROS message package ships in
``<prefix>/share/<package>/msg/`` (the ament index), found through
``AMENT_PREFIX_PATH``, the Python prefix (ROS wheels in a virtual
environment) and the prefix of the package's Python module.
"""

from __future__ import annotations

from collections.abc import Iterable
import functools
import importlib
import logging
import os
from pathlib import Path
import re
import sys
from typing import Any

logger = logging.getLogger(__name__)

#: Primitive field types of the ROS 2 interface definition language.
PRIMITIVE_TYPES = frozenset(
    (
        'bool',
        'byte',
        'char',
        'float32',
        'float64',
        'int8',
        'uint8',
        'int16',
        'uint16',
        'int32',
        'uint32',
        'int64',
        'uint64',
        'string',
        'wstring',
    )
)
DELIMITER = '=' * 80
_TYPE_NAME = re.compile(r'^([A-Za-z][A-Za-z0-9_]*)/(?:msg/)?([A-Za-z][A-Za-z0-9_]*)$')
_BOUND = re.compile(r'<=\d+$')


class MessageDefinitionError(LookupError):
    """The definition of a ROS message type (or of a type it uses) was not found."""


def message_type_name(msg: Any) -> str:
    """
    Return the ROS 2 type name (``pkg/msg/Type``) of an rclpy message object or class.

    :raises MessageDefinitionError: if ``msg`` is not a generated ROS message.
    """
    cls = msg if isinstance(msg, type) else type(msg)
    module = cls.__module__.split('.')
    if len(module) < 3 or module[1] != 'msg' or not hasattr(cls, 'get_fields_and_field_types'):
        raise MessageDefinitionError(
            f'msg: expected a generated ROS 2 message object, got {cls.__module__}.{cls.__name__}'
        )
    return f'{module[0]}/msg/{cls.__name__}'


def normalize_type_name(name: str) -> tuple[str, str]:
    """
    Split ``pkg/Type`` or ``pkg/msg/Type`` into ``(pkg, Type)``.

    :raises MessageDefinitionError: for any other form.
    """
    match = _TYPE_NAME.match(name)
    if match is None:
        raise MessageDefinitionError(
            f"type name: expected 'pkg/msg/Type' or 'pkg/Type', got {name!r}"
        )
    return match.group(1), match.group(2)


def _prefixes(package: str) -> list[Path]:
    """Return the install prefixes to search for ``share/<package>/msg``, in order."""
    prefixes: list[Path] = []
    for entry in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        if entry:
            prefixes.append(Path(entry))
    prefixes.append(Path(sys.prefix))
    try:
        module = importlib.import_module(package)
    except ImportError:
        module = None
    module_file = getattr(module, '__file__', None)
    if module_file:
        # <prefix>/lib/pythonX.Y/site-packages/<package>/__init__.py
        prefixes.extend(Path(module_file).resolve().parents[1:5])
    return prefixes


@functools.cache
def find_msg_file(package: str, type_name: str) -> Path:
    """
    Return the path of ``share/<package>/msg/<type_name>.msg``.

    :raises MessageDefinitionError: if no prefix holds it.
    """
    searched = []
    for prefix in _prefixes(package):
        candidate = prefix / 'share' / package / 'msg' / f'{type_name}.msg'
        searched.append(str(candidate.parent))
        if candidate.is_file():
            return candidate
    raise MessageDefinitionError(
        f'{package}/msg/{type_name}: expected a .msg file in one of {searched}, found none (is the'
        ' ROS package installed and AMENT_PREFIX_PATH set?)'
    )


def _field_types(text: str) -> Iterable[str]:
    """Yield the non-primitive field type names of a .msg text (no constants)."""
    for raw in text.splitlines():
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        field_type, rest = parts
        if '=' in rest.split(None, 1)[0]:
            continue  # constant: NAME=value
        base = field_type.split('[', 1)[0]
        base = _BOUND.sub('', base)
        if base in PRIMITIVE_TYPES:
            continue
        yield base


def _resolve(field_type: str, package: str) -> tuple[str, str]:
    if '/' in field_type:
        return normalize_type_name(field_type)
    if field_type == 'Header':  # ROS 1 spelling, still accepted by rosidl
        return 'std_msgs', 'Header'
    return package, field_type


@functools.cache
def full_message_definition(type_name: str) -> str:
    """
    Return the complete ``ros2msg`` definition text of a message type.

    :param type_name: ``pkg/msg/Type`` (or ``pkg/Type``).
    :return: the type's .msg text, then every dependency (depth first, each
        once) after a delimiter line and ``MSG: pkg/msg/Type``.
    :raises MessageDefinitionError: if a .msg file is missing.
    """
    package, name = normalize_type_name(type_name)
    top = find_msg_file(package, name).read_text(encoding='utf-8')
    seen: dict[tuple[str, str], str] = {}
    stack: list[tuple[str, str]] = [(package, top)]  # (package, .msg text) to expand
    order: list[tuple[str, str]] = []
    while stack:
        pkg, text = stack.pop()
        for field_type in _field_types(text):
            key = _resolve(field_type, pkg)
            if key in seen or key == (package, name):
                continue
            dep_text = find_msg_file(*key).read_text(encoding='utf-8')
            seen[key] = dep_text
            order.append(key)
            stack.append((key[0], dep_text))
    parts = [top.rstrip('\n')]
    for key in order:
        body = seen[key].rstrip('\n')
        parts.append(f'{DELIMITER}\nMSG: {key[0]}/msg/{key[1]}\n{body}')
    return '\n'.join(parts) + '\n'
