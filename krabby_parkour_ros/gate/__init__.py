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
Policy acceptance gate: every checkpoint through the real controller before the robot.

Training terrains (:mod:`~krabby_parkour_ros.gate.terrains`) x difficulty x
perturbations (:mod:`~krabby_parkour_ros.gate.perturbations`) x seeds
(:mod:`~krabby_parkour_ros.gate.matrix`), each episode the real control
runtime against the simulated HAL in lockstep
(:mod:`~krabby_parkour_ros.gate.episode`), on local processes or Ray
(:mod:`~krabby_parkour_ros.gate.runner`), summarised in a scorecard with an
HTML report (:mod:`~krabby_parkour_ros.gate.scorecard`,
:mod:`~krabby_parkour_ros.gate.report`). Command line:
``python -m krabby_parkour_ros.gate`` (``docs/gate.md``).
"""
