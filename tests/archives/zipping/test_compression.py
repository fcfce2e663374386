"""What is worth deflating: one rule for samples and whole members, and blocks that join
into one deflate stream."""

from __future__ import annotations

import io
import random
import zlib

from archives.zipping.compression import (
    MIN_SAVING,
    SAMPLE,
    compresses_well,
    deflate_block,
    is_compressible,
    sample_offsets,
    saves_enough,
)


def test_deflate_is_worth_it_only_when_it_saves_the_minimum_share() -> None:
    assert saves_enough(1000, int(1000 * (1 - MIN_SAVING)))
    assert not saves_enough(1000, int(1000 * (1 - MIN_SAVING)) + 1)
    assert not saves_enough(0, 0)


def test_samples_of_text_compress_and_samples_of_noise_do_not() -> None:
    noise = random.Random(7).randbytes(SAMPLE)
    assert compresses_well([b"hello world\n" * 5000], level=6)
    assert not compresses_well([noise], level=6)


def test_a_large_member_is_sampled_at_its_start_middle_and_end() -> None:
    assert sample_offsets(3 * SAMPLE) == [0]
    assert sample_offsets(10 * SAMPLE) == [0, 5 * SAMPLE, 9 * SAMPLE]


def test_the_guess_from_a_file_leaves_it_at_its_start() -> None:
    noise = io.BytesIO(random.Random(8).randbytes(5 * SAMPLE))
    assert not is_compressible(noise, size=5 * SAMPLE, level=6)
    assert noise.tell() == 0


def test_blocks_primed_with_their_predecessor_join_into_one_stream() -> None:
    data = b"".join(b"line %d of the log\n" % n for n in range(50_000))
    first, second = data[: len(data) // 2], data[len(data) // 2 :]
    stream = deflate_block(first, dictionary=None, is_last=False, level=6) + deflate_block(
        second, dictionary=first[-32 * 1024 :], is_last=True, level=6
    )
    assert zlib.decompress(stream, -15) == data
