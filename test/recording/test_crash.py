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

"""A recording survives its writer being killed: readable up to the last chunk."""

import os
from pathlib import Path
import signal
import subprocess
import sys
import textwrap
import time

from mcap.reader import make_reader
import pytest

from krabby_parkour_ros.recording.reader import RecordingReader

from .test_recorder import write_sample

REPO = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repo!r})
    from krabby_parkour_ros.recording.recorder import HalRecorder
    from test.recording.test_recorder import observation_frames
    recorder = HalRecorder({path!r}, chunk_size=4096, compression={compression!r})
    index = 0
    while True:
        recorder.record_observation(observation_frames(index))
        index += 1
        if index % 50 == 0:
            print(index, flush=True)
        time.sleep(0.0005)
""")


def _timestamps(path: Path) -> list:
    reader = RecordingReader(path)
    stamps = [o.observation().timestamp_ns - 1_000_000 for o in reader.observations()]
    return stamps, reader


@pytest.mark.parametrize('compression', ['lz4', 'none'])
def test_sigkill_leaves_a_readable_prefix(tmp_path: Path, compression: str) -> None:
    path = tmp_path / 'killed.mcap'
    script = WRITER.format(repo=str(REPO), path=str(path), compression=compression)
    process = subprocess.Popen(
        [sys.executable, '-c', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_size > 40_000:
                break
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.05)
        else:
            pytest.fail('the writer did not write 40 kB in 60 s')
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10.0)
    assert process.returncode == -signal.SIGKILL
    stamps, reader = _timestamps(path)
    assert len(stamps) > 20
    assert stamps == list(range(len(stamps)))  # a clean prefix, nothing corrupt
    assert reader.truncated
    assert 'probably killed' in reader.problems[0]
    # The standard reader, which needs the footer, cannot open it.
    with open(path, 'rb') as stream, pytest.raises(Exception):  # noqa: B017 (any reader error)
        list(make_reader(stream).iter_messages())


def test_every_cut_of_a_file_reads_as_a_prefix(tmp_path: Path) -> None:
    path = tmp_path / 'full.mcap'
    write_sample(path, count=40, chunk_size=2048)
    data = path.read_bytes()
    full, _ = _timestamps(path)
    assert full == list(range(40))
    previous = 0
    for cut in range(0, len(data), max(1, len(data) // 97)):
        torn = tmp_path / (f'cut_{int(cut)}.mcap')
        torn.write_bytes(data[:cut])
        stamps, reader = _timestamps(torn)
        assert stamps == list(range(len(stamps)))
        assert len(stamps) >= previous  # a longer file never reads less
        assert reader.truncated
        previous = len(stamps)
        os.remove(torn)
    assert previous > 30
