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
Exceptions of the Krabby HAL link.

Every malformed-message class of the wire protocol has its own
:class:`HalProtocolError` subclass with a stable short ``reason`` code; the
client and the server count rejections under that code.
"""


class HalProtocolError(ValueError):
    """
    Reject a message that does not follow the HAL wire protocol.

    :ivar reason: stable short code of the malformed class, used as the key
        of the rejection counters (``'frame_count'``, ``'topic'`` ...).
    """

    reason: str = 'protocol'

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FrameCountError(HalProtocolError):
    """Reject a message with the wrong number of frames."""

    reason = 'frame_count'


class TopicError(HalProtocolError):
    """Reject an observation whose topic frame is not ``observation``."""

    reason = 'topic'


class SchemaVersionError(HalProtocolError):
    """Reject a message whose schema version frame is not ``1.0``."""

    reason = 'schema_version'


class MetadataError(HalProtocolError):
    """Reject metadata that is not valid UTF-8 JSON or not a JSON object."""

    reason = 'json'


class MissingKeyError(HalProtocolError):
    """Reject metadata that lacks a required key."""

    reason = 'missing_key'


class ByteLengthError(HalProtocolError):
    """Reject an array frame whose length is not product(shape) * itemsize."""

    reason = 'byte_length'


class DtypeError(HalProtocolError):
    """Reject an array with an unsupported or inconsistent dtype."""

    reason = 'dtype'


class ShapeError(HalProtocolError):
    """Reject inconsistent shapes (cameras, depth, confidence) or joint counts."""

    reason = 'shape'


class NonFiniteError(HalProtocolError):
    """Reject an array that holds NaN or infinite values."""

    reason = 'non_finite'


class OversizeError(HalProtocolError):
    """Reject a frame or declared array larger than the configured limit."""

    reason = 'oversize'


class ExtensionError(HalProtocolError):
    """Reject an extension key with a bad length, type, non-finite or implausible value."""

    reason = 'extension'


class TimestampError(HalProtocolError):
    """Reject a missing, negative, non-integer or backwards timestamp."""

    reason = 'timestamp'


class TooOldError(TimestampError):
    """
    Reject an observation stamped longer ago than the client's maximum age.

    Raised by the client only (``HalClientConfig.max_observation_age_s``),
    comparing ``timestamp_ns`` with the local wall clock at reception.
    """

    reason = 'too_old'


class FutureTimestampError(TimestampError):
    """
    Reject an observation stamped further in the future than the maximum age.

    Raised by the client only, like :class:`TooOldError`: a HAL clock ahead
    of the local one by more than ``max_observation_age_s``.
    """

    reason = 'from_future'


#: Every rejection reason the decoder can report.
DECODER_ERROR_CLASSES: tuple[type[HalProtocolError], ...] = (
    FrameCountError,
    TopicError,
    SchemaVersionError,
    MetadataError,
    MissingKeyError,
    ByteLengthError,
    DtypeError,
    ShapeError,
    NonFiniteError,
    OversizeError,
    ExtensionError,
    TimestampError,
)
DECODER_REJECTION_REASONS: tuple[str, ...] = tuple(c.reason for c in DECODER_ERROR_CLASSES)
#: Every rejection reason a decoder or the client can report.
PROTOCOL_ERROR_CLASSES: tuple[type[HalProtocolError], ...] = DECODER_ERROR_CLASSES + (
    TooOldError,
    FutureTimestampError,
)
REJECTION_REASONS: tuple[str, ...] = tuple(c.reason for c in PROTOCOL_ERROR_CLASSES)


class CommandError(ValueError):
    """Refuse to encode or send a bad joint command (length, non-finite, not numeric)."""


class HalConfigError(ValueError):
    """Reject an invalid HAL client or server configuration; the message names the field."""


class HalNotConnectedError(RuntimeError):
    """Refuse an operation that needs a connected client or a bound server."""


class HalTransportError(RuntimeError):
    """Report a ZeroMQ socket that could not be created, bound or connected."""
