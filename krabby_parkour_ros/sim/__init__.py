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
MuJoCo simulated Unitree Go2 behind the Krabby HAL wire protocol.

Needs the ``mujoco`` Python bindings (the package's ``sim`` extra). Modules:
:mod:`~krabby_parkour_ros.sim.go2_model` (robot table and MJCF generator),
:mod:`~krabby_parkour_ros.sim.motor` (PD + DC-motor torque),
:mod:`~krabby_parkour_ros.sim.scenarios` (terrain layouts, reset pose),
:mod:`~krabby_parkour_ros.sim.sensors` (height scan and depth camera),
:mod:`~krabby_parkour_ros.sim.robot` (:class:`SimulatedRobot`),
:mod:`~krabby_parkour_ros.sim.hal_server` (:class:`SimHal`) and the
``krabby-parkour-sim`` command line (:mod:`krabby_parkour_ros.sim.__main__`).
"""

from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig
from krabby_parkour_ros.sim.robot import HardwareLayout, SimulatedRobot
from krabby_parkour_ros.sim.scenarios import make_scenario, Scenario

__all__ = [
    'HardwareLayout',
    'make_scenario',
    'Scenario',
    'SimHal',
    'SimHalConfig',
    'SimulatedRobot',
]
