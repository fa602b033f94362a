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
Strict, typed reading of one mapping of a policy card.

:class:`CardReader` is how :func:`~krabby_parkour_ros.policy.card.card_from_dict`
reads ``policy_card.yaml``: every field present and of its type, unknown
fields refused, each error naming the field's dotted path and what was found.
"""

from __future__ import annotations

import math
from typing import Any

from krabby_parkour_ros.policy.errors import PolicyCardError


class CardReader:
    """
    Typed, strict access to one mapping of a card (errors name the field path).

    :param data: the mapping (anything else is refused).
    :param where: the card's origin (path), first in every message.
    :param section: the mapping's dotted path in the card; '' for the top.
    :raises PolicyCardError: when ``data`` is not a mapping.
    """

    def __init__(self, data: Any, where: str, section: str) -> None:
        if not isinstance(data, dict):
            raise PolicyCardError(
                f'{where}: {section or "the card"} must be a mapping, got {type(data).__name__}'
            )
        self.data = data
        self.where = where
        self.section = section
        self.used: set[str] = set()

    def _name(self, key: str) -> str:
        return f'{self.section}.{key}' if self.section else key

    def get(self, key: str) -> Any:
        """Return a required field as it is."""
        if key not in self.data:
            raise PolicyCardError(f'{self.where}: missing field {self._name(key)!r}')
        self.used.add(key)
        return self.data[key]

    def optional(self, key: str, default: Any) -> Any:
        """Return a field, or ``default`` when it is absent."""
        if key not in self.data:
            return default
        return self.get(key)

    def integer(self, key: str, minimum: int = 0) -> int:
        """Return a required integer >= ``minimum`` (booleans refused)."""
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be an integer >= {int(minimum)}, got'
                f' {value!r}'
            )
        return value

    def number(self, key: str, positive: bool = False) -> float:
        """Return a required finite number as a float; > 0 with ``positive``."""
        value = self.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or (positive and value <= 0)
        ):
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be a finite'
                f' {"positive " if positive else ""}number, got {value!r}'
            )
        return float(value)

    def boolean(self, key: str) -> bool:
        """Return a required true/false."""
        value = self.get(key)
        if not isinstance(value, bool):
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be true or false, got {value!r}'
            )
        return value

    def text(self, key: str, default: str | None = None) -> str:
        """Return a string field; required unless ``default`` is given."""
        value = self.get(key) if default is None else self.optional(key, default)
        if not isinstance(value, str):
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be a string, got {value!r}'
            )
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        """Return a required list of strings as a tuple."""
        value = self.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be a list of strings, got {value!r}'
            )
        return tuple(value)

    def numbers(self, key: str, length: int) -> tuple[float, ...]:
        """Return a required list of finite numbers, one per joint: ``length`` of them."""
        value = self.get(key)
        ok = isinstance(value, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
        if not ok or len(value) != length:
            raise PolicyCardError(
                f'{self.where}: {self._name(key)} must be a list of {int(length)} finite numbers'
                f' (one per joint), got {value!r}'
            )
        return tuple(float(v) for v in value)

    def section_reader(self, key: str) -> CardReader:
        """Return the reader of a required nested mapping."""
        return CardReader(self.get(key), self.where, self._name(key))

    def finish(self) -> None:
        """Refuse the fields of this mapping that no accessor read (misspelt names)."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise PolicyCardError(
                f'{self.where}: unknown field(s) {", ".join(self._name(k) for k in unknown)} in'
                f' {self.section or "the card"} (misspelt?)'
            )
