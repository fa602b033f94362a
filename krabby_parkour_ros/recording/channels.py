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
Topics, schemas and channels of a recording (kept by the writer process).

:class:`ChannelRegistry` knows every topic declared so far (its type, once
known, and the QoS its publisher offers), the complete ``ros2msg``
definition of every type seen, and creates the channels of an MCAP part:
at once for declared topics (so ``ros2 bag info`` lists them before their
first message), else on a topic's first record.
"""

from __future__ import annotations

from collections.abc import Callable

from krabby_parkour_ros.recording.format import HAL_FRAMES_MSGDEF, HAL_FRAMES_TYPE
from krabby_parkour_ros.recording.mcap_file import (
    COMMAND_TOPIC,
    HAL_QOS,
    McapFile,
    OBSERVATION_TOPIC,
)
from krabby_parkour_ros.recording.msgdefs import full_message_definition, MessageDefinitionError
from krabby_parkour_ros.recording.qos import DEFAULT_QOS, TopicQos

ErrorCallback = Callable[[str], None]


class ChannelRegistry:
    """
    Declared topics and known definitions; channels of the current part.

    :param on_error: called with a message for every record that cannot be
        written (unknown definition, a type other than the registered one).
    """

    def __init__(self, on_error: ErrorCallback) -> None:
        self._on_error = on_error
        #: topic -> (type name or None until the first message, offered QoS)
        self._topics: dict[str, tuple[str | None, TopicQos]] = {
            OBSERVATION_TOPIC: (HAL_FRAMES_TYPE, HAL_QOS),
            COMMAND_TOPIC: (HAL_FRAMES_TYPE, HAL_QOS),
        }
        self._definitions: dict[str, str] = {HAL_FRAMES_TYPE: HAL_FRAMES_MSGDEF}

    def declare(self, topic: str, type_name: str | None, qos: TopicQos, part: McapFile) -> None:
        """Register a topic; create its channel in ``part`` now when its type is known."""
        self._topics[topic] = (type_name, qos)
        if type_name is None or topic in part.channels:
            return
        definition = self.definition(type_name)
        if definition is not None:
            part.channel(topic, type_name, definition, qos)

    def declare_all(self, part: McapFile) -> None:
        """Create the channel of every declared ROS topic in a new part."""
        for topic, (type_name, qos) in list(self._topics.items()):
            if type_name is None or type_name == HAL_FRAMES_TYPE:
                continue
            definition = self.definition(type_name)
            if definition is not None:
                part.channel(topic, type_name, definition, qos)

    def definition(self, type_name: str) -> str | None:
        """Return the complete definition of a type, None (reported) if it has none."""
        definition = self._definitions.get(type_name)
        if definition is None:
            try:
                definition = full_message_definition(type_name)
            except MessageDefinitionError as exc:
                self._on_error(f'{exc} (records of this type are skipped)')
                return None
            self._definitions[type_name] = definition
        return definition

    def topic_qos(self, topic: str, type_name: str) -> TopicQos | None:
        """Return the topic's QoS, or None (reported) if it was declared with another type."""
        registered_type, qos = self._topics.get(topic, (None, DEFAULT_QOS))
        if registered_type is not None and registered_type != type_name:
            self._on_error(
                f'{topic}: expected {registered_type} records (as registered), got {type_name};'
                ' skipped'
            )
            return None
        return qos

    def channel_for(self, part: McapFile, topic: str, type_name: str) -> int | None:
        """Return the channel of a record in ``part``, None (reported) if it cannot be written."""
        definition = self.definition(type_name)
        if definition is None:
            return None
        qos = self.topic_qos(topic, type_name)
        if qos is None:
            return None
        channel_id = part.channel(topic, type_name, definition, qos)
        if channel_id is None:
            self._on_error(
                f'{topic}: expected {part.channel_types[topic]} records (the type of the'
                f' channel), got {type_name}; skipped'
            )
        return channel_id
