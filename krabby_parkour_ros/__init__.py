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
krabby_parkour: run extreme-parkour RL policies on the Krabby robot.

Subpackages, each usable without ROS except :mod:`krabby_parkour_ros.node`:

- :mod:`krabby_parkour_ros.hal`: Krabby HAL wire protocol (codec, client, server).
- :mod:`krabby_parkour_ros.policy`: checkpoint loading and inference.
- :mod:`krabby_parkour_ros.mapping`: observation builder and action mapper.
- :mod:`krabby_parkour_ros.control`: the shared control step and the
  ROS-free inference client thread.
- :mod:`krabby_parkour_ros.sim`: MuJoCo simulated HAL.
- :mod:`krabby_parkour_ros.node`: the ROS 2 lifecycle node.
"""

__version__ = '0.1.0'
