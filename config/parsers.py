"""Request body parsers that refuse a body cut short."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, cast

from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import BinaryIO


class _CountingStream:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


class CompleteMultiPartParser(MultiPartParser):
    """Multipart, refusing a body shorter than its ``Content-Length``.

    Django's parser accepts a body that ends early (a client or proxy that gave up, a
    wrong length) as long as the parts read so far parse; the upload would then be
    stored incomplete.
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {}).get("request")
        meta = getattr(request, "META", {})
        try:
            expected = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError as exc:
            raise ParseError("The Content-Length header is not a number.") from exc
        counted = _CountingStream(stream)
        # Django's parser only calls read(); the wrapper is a stream for its purposes.
        result = super().parse(cast("IO[Any]", counted), media_type, parser_context)
        if counted.count < expected:
            raise ParseError(
                f"The request body ended after {counted.count} of its {expected} bytes: "
                "the upload was cut off. Send it again."
            )
        return result
