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
The ``offered_qos_profiles`` channel metadata of the MCAP ``ros2`` profile.

rosbag2 stores, on every MCAP channel, the QoS profiles the topic's
publishers offered, as a YAML list (``rosbag2_storage``'s
``serialize_rclcpp_qos_vector``); ``ros2 bag play`` publishes each topic
with a QoS adapted from them (a latched ``transient_local`` status topic
stays latched). A file without rosbag2's own metadata record is read with
the integer policy values of metadata version 8, which every ROS 2
distribution from Humble on and ``rosbags`` understand, so this module
writes those::

    - history: 1              # 1 keep_last, 2 keep_all (rmw enum values)
      depth: 10
      reliability: 1          # 1 reliable, 2 best_effort
      durability: 2           # 1 transient_local, 2 volatile
      deadline: {sec: 0, nsec: 0}        # 0: the default (none)
      lifespan: {sec: 0, nsec: 0}
      liveliness: 0           # 0 system default, 1 automatic, 3 manual_by_topic
      liveliness_lease_duration: {sec: 0, nsec: 0}
      avoid_ros_namespace_conventions: false

Plain Python (PyYAML): rclpy is only needed to convert an rclpy
``QoSProfile`` (:func:`qos_from_profile` reads its attributes, no import).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

#: rmw_qos_history_policy_e values.
HISTORY_KEEP_LAST = 1
HISTORY_KEEP_ALL = 2
#: rmw_qos_reliability_policy_e values.
RELIABILITY_RELIABLE = 1
RELIABILITY_BEST_EFFORT = 2
#: rmw_qos_durability_policy_e values.
DURABILITY_TRANSIENT_LOCAL = 1
DURABILITY_VOLATILE = 2
#: rmw_qos_liveliness_policy_e values (rclpy profiles default to system default).
LIVELINESS_SYSTEM_DEFAULT = 0
LIVELINESS_AUTOMATIC = 1
_NS_PER_S = 1_000_000_000


class QosFormatError(ValueError):
    """An ``offered_qos_profiles`` text or a QoS profile cannot be converted."""


@dataclass(frozen=True)
class TopicQos:
    """
    One offered QoS profile, as rosbag2 records it (rmw enum values).

    :param history: ``HISTORY_KEEP_LAST`` or ``HISTORY_KEEP_ALL``.
    :param depth: queue depth (keep_last).
    :param reliability: ``RELIABILITY_RELIABLE`` or ``RELIABILITY_BEST_EFFORT``.
    :param durability: ``DURABILITY_VOLATILE`` or ``DURABILITY_TRANSIENT_LOCAL``.
    :param deadline_ns: deadline; 0 for the default (none).
    :param lifespan_ns: lifespan; 0 for the default (none).
    :param liveliness: ``LIVELINESS_SYSTEM_DEFAULT`` (0, rclpy's default),
        ``LIVELINESS_AUTOMATIC`` (1) or manual by topic (3).
    :param liveliness_lease_duration_ns: lease duration; 0 for the default.
    :param avoid_ros_namespace_conventions: as the rmw profile field.
    """

    history: int = HISTORY_KEEP_LAST
    depth: int = 10
    reliability: int = RELIABILITY_RELIABLE
    durability: int = DURABILITY_VOLATILE
    deadline_ns: int = 0
    lifespan_ns: int = 0
    liveliness: int = LIVELINESS_SYSTEM_DEFAULT
    liveliness_lease_duration_ns: int = 0
    avoid_ros_namespace_conventions: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the rosbag2 YAML mapping of this profile."""
        return {
            'history': self.history,
            'depth': self.depth,
            'reliability': self.reliability,
            'durability': self.durability,
            'deadline': _duration(self.deadline_ns),
            'lifespan': _duration(self.lifespan_ns),
            'liveliness': self.liveliness,
            'liveliness_lease_duration': _duration(self.liveliness_lease_duration_ns),
            'avoid_ros_namespace_conventions': self.avoid_ros_namespace_conventions,
        }


#: rclpy's default publisher profile (``QoSProfile(depth=10)``).
DEFAULT_QOS = TopicQos()
#: rclpy's ``qos_profile_sensor_data``.
SENSOR_DATA_QOS = TopicQos(depth=5, reliability=RELIABILITY_BEST_EFFORT)
#: A latched status topic (reliable, transient local, depth 1).
LATCHED_QOS = TopicQos(depth=1, durability=DURABILITY_TRANSIENT_LOCAL)


def _duration(nanoseconds: int) -> dict[str, int]:
    seconds, rest = divmod(int(nanoseconds), _NS_PER_S)
    return {'sec': seconds, 'nsec': rest}


def _enum_value(profile: Any, name: str) -> int:
    value = getattr(profile, name)
    return int(getattr(value, 'value', value))


def _nanoseconds(profile: Any, name: str) -> int:
    value = getattr(profile, name, None)
    if value is None:
        return 0
    nanoseconds = getattr(value, 'nanoseconds', value)
    # rmw's "infinite" duration reads as the default (0) in a recording.
    return 0 if nanoseconds >= 2**63 - 1 else int(nanoseconds)


def qos_from_profile(profile: Any) -> TopicQos:
    """
    Return the :class:`TopicQos` of an rclpy ``QoSProfile`` (or a :class:`TopicQos`).

    :raises QosFormatError: if ``profile`` lacks a QoS policy attribute.
    """
    if isinstance(profile, TopicQos):
        return profile
    try:
        return TopicQos(
            history=_enum_value(profile, 'history'),
            depth=int(profile.depth),
            reliability=_enum_value(profile, 'reliability'),
            durability=_enum_value(profile, 'durability'),
            deadline_ns=_nanoseconds(profile, 'deadline'),
            lifespan_ns=_nanoseconds(profile, 'lifespan'),
            liveliness=_enum_value(profile, 'liveliness'),
            liveliness_lease_duration_ns=_nanoseconds(profile, 'liveliness_lease_duration'),
            avoid_ros_namespace_conventions=bool(
                getattr(profile, 'avoid_ros_namespace_conventions', False)
            ),
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise QosFormatError(
            f'qos: expected an rclpy QoSProfile or a TopicQos, got {profile!r} ({exc})'
        ) from exc


def offered_qos_profiles(profiles: Sequence[Any]) -> str:
    """
    Return the ``offered_qos_profiles`` YAML text of ``profiles``.

    :param profiles: rclpy ``QoSProfile`` or :class:`TopicQos` objects.
    """
    items = [qos_from_profile(p).as_dict() for p in profiles]
    return yaml.safe_dump(items, default_flow_style=False, sort_keys=False).rstrip('\n')


def parse_offered_qos_profiles(text: str) -> list[TopicQos]:
    """
    Parse an ``offered_qos_profiles`` text (integer or rosbag2 v9 string values).

    :raises QosFormatError: if the text is not a list of QoS mappings.
    """
    names = {
        'keep_last': 1,
        'keep_all': 2,
        'reliable': 1,
        'best_effort': 2,
        'transient_local': 1,
        'volatile': 2,
        'automatic': 1,
        'manual_by_topic': 3,
        'system_default': 0,
    }
    try:
        items = yaml.safe_load(text) if text else []
        result = []
        for item in items:
            enums = {
                key: item[key] if isinstance(item[key], int) else names[item[key]]
                for key in ('history', 'reliability', 'durability', 'liveliness')
            }
            times = {
                key: int(item[key]['sec']) * _NS_PER_S + int(item[key]['nsec'])
                for key in ('deadline', 'lifespan', 'liveliness_lease_duration')
            }
            result.append(
                TopicQos(
                    depth=int(item['depth']),
                    deadline_ns=times['deadline'],
                    lifespan_ns=times['lifespan'],
                    liveliness_lease_duration_ns=times['liveliness_lease_duration'],
                    avoid_ros_namespace_conventions=bool(item['avoid_ros_namespace_conventions']),
                    **enums,
                )
            )
        return result
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise QosFormatError(
            f'offered_qos_profiles: expected a YAML list of QoS mappings, got {text[:200]!r}'
            f' ({exc})'
        ) from exc
