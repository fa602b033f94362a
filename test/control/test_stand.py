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

"""StandGate: threshold, hysteresis and dwell on the navigation command."""

from krabby_parkour_ros.control.stand import command_magnitude, StandGate
from krabby_parkour_ros.mapping.navigation import NavigationCommand

MS = 1_000_000


def test_magnitude_is_the_largest_component() -> None:
    assert command_magnitude(NavigationCommand(vx=0.05, vy=0.0, yaw_rate=-0.3)) == 0.3


def test_dwell_then_hysteresis() -> None:
    gate = StandGate(True, threshold=0.1, hysteresis=0.05, dwell_s=0.2)
    zero = NavigationCommand()
    assert not gate.should_stand(zero, 0, standing=False)
    assert not gate.should_stand(zero, 199 * MS, standing=False)
    assert gate.should_stand(zero, 200 * MS, standing=False)
    assert gate.should_stand(NavigationCommand(vx=0.14), 300 * MS, standing=True)
    assert not gate.should_stand(NavigationCommand(vx=0.16), 310 * MS, standing=True)
    # A command above the threshold restarts the dwell.
    assert not gate.should_stand(zero, 400 * MS, standing=False)
    assert not gate.should_stand(NavigationCommand(yaw_rate=0.2), 500 * MS, standing=False)
    assert not gate.should_stand(zero, 600 * MS, standing=False)
    assert gate.should_stand(zero, 800 * MS, standing=False)


def test_disabled_never_stands() -> None:
    gate = StandGate(False, threshold=0.1, hysteresis=0.05, dwell_s=0.0)
    assert not gate.should_stand(NavigationCommand(), 10**12, standing=False)
