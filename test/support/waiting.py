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

"""Event-style waiting for tests: poll a predicate until it holds or a deadline passes."""

from collections.abc import Callable
import time


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, step_s: float = 0.005) -> bool:
    """
    Poll ``predicate`` until it holds or ``timeout`` seconds pass; return its last value.

    Deadlines are generous on purpose: a loaded machine makes things late,
    never wrong, and a passing predicate returns at once.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
