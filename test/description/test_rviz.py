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

"""config/parkour.rviz: the displays and topics the node and the URDF provide."""

from pathlib import Path

import yaml

from krabby_parkour_ros.description import urdf

RVIZ = Path(__file__).resolve().parents[2] / 'config' / 'parkour.rviz'


def _displays() -> dict:
    config = yaml.safe_load(RVIZ.read_text(encoding='utf-8'))
    manager = config['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'odom'
    assert manager['Views']['Current']['Target Frame'] == urdf.ROOT_LINK
    return {d['Class'].split('/')[-1]: d for d in manager['Displays']}


def test_displays_and_topics() -> None:
    displays = _displays()
    assert set(displays) == {'Grid', 'RobotModel', 'TF', 'PointCloud2', 'MarkerArray', 'Odometry'}
    assert displays['Odometry']['Topic']['Value'] == '/odom'
    assert displays['Odometry']['Topic']['Reliability Policy'] == 'Reliable'
    model = displays['RobotModel']
    assert model['Description Source'] == 'Topic'
    assert model['Description Topic']['Value'] == '/robot_description'
    assert model['Description Topic']['Durability Policy'] == 'Transient Local'
    assert displays['PointCloud2']['Topic']['Value'] == '/parkour_node/height_scan'
    assert displays['MarkerArray']['Topic']['Value'] == '/parkour_node/markers'
    for name in ('PointCloud2', 'MarkerArray'):
        assert displays[name]['Topic']['Reliability Policy'] == 'Best Effort'
        assert displays[name]['Enabled'] is True


def test_the_view_follows_the_urdf_root() -> None:
    assert urdf.ROOT_LINK == 'base_link'
    assert '<link name="base_link">' in urdf.build_urdf()
