"""Upload-Checksum: the algorithms offered, the header read strictly, a body's digest
taken as it is read."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest

from resumable.checksums import (
    ALGORITHMS,
    Checksum,
    DigestingBody,
    UnusableChecksum,
    parse_checksum,
)


def test_sha1_and_sha256_are_offered() -> None:
    assert list(ALGORITHMS) == ["sha1", "sha256"]


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_header_names_its_algorithm_and_digest(algorithm: str) -> None:
    digest = hashlib.new(algorithm, b"hello world").digest()

    parsed = parse_checksum(f"{algorithm} {base64.b64encode(digest).decode()}")

    assert parsed == Checksum(algorithm=algorithm, digest=digest)


def test_the_example_of_the_protocol_is_read() -> None:
    parsed = parse_checksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")

    assert parsed.digest == hashlib.sha1(b"hello world").digest()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("md5 XrY7u+Ae7tCTyyK7j1rNww==", "'md5' is not supported; use one of sha1, sha256"),
        ("SHA1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", "'SHA1' is not supported"),
        ("sha1 Kq5s*NclPz7QV2+lfQIuc6R7oRu0=", "not base64"),
        ("sha256 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", "32 bytes, not 20"),
        ("", "'' is not supported"),
    ],
)
def test_an_unusable_header_says_what_is_wrong(header: str, message: str) -> None:
    with pytest.raises(UnusableChecksum, match=message):
        parse_checksum(header)


def test_a_digesting_body_hands_on_the_blocks_and_matches_them_all() -> None:
    data = b"0123456789"
    body = DigestingBody(io.BytesIO(data), Checksum("sha256", hashlib.sha256(data).digest()))

    blocks = [body.read(4), body.read(4)]
    assert blocks == [b"0123", b"4567"]
    assert not body.matches()

    assert body.read(4) == b"89"
    assert body.matches()


def test_a_digesting_body_of_other_bytes_does_not_match() -> None:
    body = DigestingBody(io.BytesIO(b"hullo"), Checksum("sha1", hashlib.sha1(b"hello").digest()))

    assert body.read(100) == b"hullo"
    assert not body.matches()
