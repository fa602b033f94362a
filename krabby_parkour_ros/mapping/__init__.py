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
Observation builder and action mapper (pure Python + numpy, no ROS).

- :mod:`~krabby_parkour_ros.mapping.navigation`: the user's navigation
  command and its limits.
- :mod:`~krabby_parkour_ros.mapping.joint_map`: policy joints and feet onto
  the 18 hardware slots of the wire (configuration, checked at start-up).
- :mod:`~krabby_parkour_ros.mapping.joint_order`: the one joint-order check
  (joint maps and policy-card deployment checks both ask it).
- :mod:`~krabby_parkour_ros.mapping.observation`: HAL observation to the
  training observation vector (``docs/observation.md``); its settings and
  errors in :mod:`~krabby_parkour_ros.mapping.observation_config`, the input
  checks in :mod:`~krabby_parkour_ros.mapping.observation_checks`, the
  heading target in :mod:`~krabby_parkour_ros.mapping.heading` and the
  proprio history in :mod:`~krabby_parkour_ros.mapping.history`.
- :mod:`~krabby_parkour_ros.mapping.checks`: allocation-free finiteness and
  range checks shared by the builder and the mapper.
- :mod:`~krabby_parkour_ros.mapping.action`: raw policy action to 18 safe
  hardware joint targets.
- :mod:`~krabby_parkour_ros.mapping.rotation`: the angle conventions of
  training (Isaac Lab ``euler_xyz_from_quat`` and ``wrap_to_pi``).
"""
