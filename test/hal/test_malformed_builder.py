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


"""The shared builder of malformed messages (test/support/malformed.py) on every message shape."""

import numpy as np
import pytest

from krabby_parkour_ros.hal.codec import decode_observation
from krabby_parkour_ros.hal.errors import DECODER_REJECTION_REASONS, HalProtocolError
from krabby_parkour_ros.hal.scripted_hal import ObservationTemplate

from .helpers import small_frames
from ..support import malformed

CASES = malformed.PROTOCOL_CASES
#: The messages the tests edit: the HAL tests' 4x5 without extensions, and the
#: scripted HAL's 16x24 (drills) and 2x3 (fuzzing) with every extension key.
GOOD = {
    'small_4x5': lambda stamp: small_frames(stamp),
    'template_16x24': ObservationTemplate(16, 24).frames,
    'template_2x3': ObservationTemplate(2, 3).frames,
}


def _reason(frames: list[bytes], **decode: object) -> str | None:
    try:
        decode_observation(frames, **decode)  # type: ignore[arg-type]
    except HalProtocolError as exc:
        return exc.reason
    return None


def test_case_ids_are_unique_and_cover_every_decoder_reason() -> None:
    ids = [c.case_id for c in (*CASES, malformed.OVERSIZE_CASE)]
    assert len(ids) == len(set(ids))
    reasons = {c.reason for c in (*CASES, malformed.OVERSIZE_CASE)}
    assert reasons == set(DECODER_REJECTION_REASONS)


@pytest.mark.parametrize('message', sorted(GOOD))
@pytest.mark.parametrize('case', CASES, ids=[c.case_id for c in CASES])
def test_each_protocol_case_is_rejected_under_its_reason(
    case: malformed.MalformedCase, message: str
) -> None:
    good = GOOD[message](1_000)
    assert _reason(good) is None
    assert _reason(case.build(good)) == case.reason
    assert case.build(good) != good


@pytest.mark.parametrize('message', sorted(GOOD))
def test_the_oversize_case_grows_every_image_consistently(message: str) -> None:
    good = GOOD[message](1_000)
    height, width = decode_observation(good).depth_map.shape
    grown = malformed.OVERSIZE_CASE.build(good)
    observation = decode_observation(grown)  # otherwise valid
    factor = malformed.OVERSIZE_FACTOR
    assert observation.depth_map.shape == (height * factor, width * factor)
    assert observation.rgb_camera_1.shape == (height * factor, width * factor, 3)
    assert np.array_equal(
        observation.depth_map[:height, :width], decode_observation(good).depth_map
    )
    camera_bytes = height * factor * width * factor * 3
    assert _reason(grown, max_image_bytes=camera_bytes - 1) == 'oversize'
    assert _reason(good, max_image_bytes=camera_bytes - 1) is None


def test_the_extension_cases_need_the_deployment_lengths() -> None:
    good = ObservationTemplate(16, 24).frames(1_000)
    cases = malformed.extension_cases(132, foot_count=4)
    assert [c.case_id for c in cases] == [
        'height_scan_short',
        'foot_contacts_short',
        'quaternion_zero',
        'quaternion_huge',
        'quaternion_not_unit',
        'height_scan_nan',
        'joint_velocities_nan',
        'foot_contact_2',
        'angular_velocity_huge',
    ]
    for case in cases:
        frames = case.build(good)
        assert _reason(frames, height_scan_length=132, foot_count=4) == 'extension', case.case_id
    # The length cases are valid for a decoder that does not know the deployment.
    assert _reason(cases[0].build(good)) is None
    assert _reason(cases[1].build(good)) is None


def test_an_unknown_case_id_names_the_known_ones() -> None:
    assert malformed.case('oversize') is malformed.OVERSIZE_CASE
    assert malformed.case('topic').reason == 'topic'
    with pytest.raises(KeyError, match="got 'nope'"):
        malformed.case('nope')
