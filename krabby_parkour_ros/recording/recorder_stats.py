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

"""Counters of a recorder, as :meth:`HalRecorder.stats` returns them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecorderStats:
    """
    Counters of a :class:`HalRecorder` (a snapshot).

    :param enqueued: records handed to the writer process.
    :param written: records written to a file.
    :param dropped: records refused (queue full, recorder closed or failed)
        or lost (writer failed or killed).
    :param dropped_bytes: payload bytes of the dropped records.
    :param queued: records handed over and not yet written.
    :param queued_bytes: payload bytes handed over and not yet written.
    :param max_queued: the most records that ever waited at once.
    :param bytes_written: bytes written to all files so far.
    :param files: every file of the recording, in order.
    :param per_topic: records written per topic (refreshed every 0.2 s
        while recording, exact after :meth:`HalRecorder.close`).
    :param errors: records that could not be encoded (e.g. unknown type).
    :param error: why the writer stopped, if it failed.
    """

    enqueued: int = 0
    written: int = 0
    dropped: int = 0
    dropped_bytes: int = 0
    queued: int = 0
    queued_bytes: int = 0
    max_queued: int = 0
    bytes_written: int = 0
    files: list[str] = field(default_factory=list)
    per_topic: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as a JSON-ready dict."""
        return {
            'enqueued': self.enqueued,
            'written': self.written,
            'dropped': self.dropped,
            'dropped_bytes': self.dropped_bytes,
            'queued': self.queued,
            'queued_bytes': self.queued_bytes,
            'max_queued': self.max_queued,
            'bytes_written': self.bytes_written,
            'files': list(self.files),
            'per_topic': dict(self.per_topic),
            'errors': self.errors,
            'error': self.error,
        }
