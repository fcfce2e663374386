"""The tus checksum extension: the algorithms offered, the ``Upload-Checksum`` header, and
the digest of a request body taken while it streams to the partial file."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from resumable.partials import BodyStream


class Digest(Protocol):
    """What ``hashlib`` returns: fed block by block, read once at the end."""

    @property
    def digest_size(self) -> int: ...

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


# Announced in Tus-Checksum-Algorithm, in this order; tus asks for sha1 at least.
ALGORITHMS: dict[str, Callable[[], Digest]] = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


class UnusableChecksum(Exception):
    """``Upload-Checksum`` names an algorithm not offered or is malformed (400)."""


class ChecksumMismatch(Exception):
    """The body received does not match ``Upload-Checksum`` (tus: 460); nothing of it was
    kept."""


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


def parse_checksum(header: str) -> Checksum:
    """Read ``Upload-Checksum: <algorithm> <base64 digest>``. Raises ``UnusableChecksum``
    for an algorithm not in ``ALGORITHMS``, a digest that is not base64 or not of the
    algorithm's size."""
    algorithm, _, encoded = header.strip().partition(" ")
    new_digest = ALGORITHMS.get(algorithm)
    if new_digest is None:
        offered = ", ".join(ALGORITHMS)
        raise UnusableChecksum(
            f"Upload-Checksum: the algorithm {algorithm!r} is not supported; use one of {offered}."
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise UnusableChecksum("Upload-Checksum: the checksum is not base64.") from exc
    size = new_digest().digest_size
    if len(digest) != size:
        raise UnusableChecksum(
            f"Upload-Checksum: a {algorithm} checksum has {size} bytes, not {len(digest)}."
        )
    return Checksum(algorithm=algorithm, digest=digest)


class DigestingBody:
    """A request body that hashes every block read from it, so the checksum is known when
    the last block is written, without reading the body twice."""

    def __init__(self, body: BodyStream, checksum: Checksum) -> None:
        self._body = body
        self._checksum = checksum
        self._digest = ALGORITHMS[checksum.algorithm]()

    def read(self, size: int, /) -> bytes:
        block = self._body.read(size)
        self._digest.update(block)
        return block

    def matches(self) -> bool:
        """Whether what was read so far is the body the checksum was made of."""
        return hmac.compare_digest(self._digest.digest(), self._checksum.digest)
