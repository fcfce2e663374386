"""Deflate for ZIP members: whether it pays off, and blocks that join into one stream.

Already-compressed data (photos, videos, archives) is stored, not deflated again for
nothing: a member is deflated only when deflate saves at least ``MIN_SAVING``, judged
first from samples and, for a member compressed whole, from the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

try:
    from zlib_ng import zlib_ng as deflate
except ImportError:  # pragma: no cover - zlib-ng is a dependency; stdlib zlib is the fallback
    import zlib as deflate

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import BinaryIO

# Deflate's window: the most a block can refer back into the block before it.
WINDOW: Final = 32 * 1024
SAMPLE: Final = 64 * 1024
# Deflate must save at least this share to be worth it.
MIN_SAVING: Final = 0.03

crc32 = deflate.crc32


def saves_enough(raw: int, compressed: int) -> bool:
    """Whether ``raw`` bytes deflated to ``compressed`` bytes are worth storing deflated:
    the one test of "worth compressing", for samples and for whole members alike."""
    return raw > 0 and compressed <= raw * (1 - MIN_SAVING)


def compress(data: bytes, *, level: int) -> bytes:
    """Raw deflate (no zlib header, as ZIP stores it) of ``data`` at ``level``."""
    return deflate.compress(data, level, -15)


def compresses_well(samples: Iterable[bytes], *, level: int) -> bool:
    """Whether deflate at ``level`` saves enough (``saves_enough``) on ``samples``."""
    raw = compressed = 0
    for sample in samples:
        raw += len(sample)
        compressed += len(compress(sample, level=level))
    return saves_enough(raw, compressed)


def sample_offsets(size: int) -> list[int]:
    """Where the samples of a member of ``size`` bytes start: the start alone for a small
    member, else the start, the middle and the end."""
    return [0] if size <= 3 * SAMPLE else [0, size // 2, size - SAMPLE]


def is_compressible(source: BinaryIO, *, size: int, level: int) -> bool:
    """Guess from up to three samples (start, middle, end) whether deflate pays off.

    Leaves ``source`` at its start.
    """
    samples = []
    for offset in sample_offsets(size):
        source.seek(offset)
        samples.append(source.read(SAMPLE))
    source.seek(0)
    return compresses_well(samples, level=level)


def deflate_block(data: bytes, *, dictionary: bytes | None, is_last: bool, level: int) -> bytes:
    """Raw deflate of one block of a member, joinable with its neighbours.

    ``dictionary`` is the end of the previous block, so matches may reach back into it
    as in one long stream; a non-last block ends with a sync flush (byte-aligned, no final
    bit), the last one with the final block.
    """
    if dictionary:
        compressor = deflate.compressobj(
            level, deflate.DEFLATED, -15, 8, deflate.Z_DEFAULT_STRATEGY, dictionary
        )
    else:
        compressor = deflate.compressobj(level, deflate.DEFLATED, -15)
    flush = deflate.Z_FINISH if is_last else deflate.Z_SYNC_FLUSH
    return compressor.compress(data) + compressor.flush(flush)
