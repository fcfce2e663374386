"""The multipart parser of the API: uploads streamed to disk in large blocks.

Each file part goes to a temporary file (``FILE_UPLOAD_TEMP_DIR``) that storage then
renames into place, so a large upload is received once (``core.bodies``) and written
once to disk, a block of up to ``READ_BYTES`` at a time, and memory stays flat.

Fields, files and their names follow Django's multipart parser, and so do its limits
(``DATA_UPLOAD_MAX_NUMBER_FILES``, ``DATA_UPLOAD_MAX_NUMBER_FIELDS``,
``DATA_UPLOAD_MAX_MEMORY_SIZE``); a body cut short of its ``Content-Length`` is refused,
where Django's parser would keep the parts it had read.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, DataAndFiles

from core.bodies import READ_BYTES, BodySource, body_source

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# A part's header lines, all together, and a boundary line.
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_LINES = 16
# What Django accepts as a boundary.
MAX_BOUNDARY_LENGTH = 200


class CutShort(Exception):
    """The body ended before the multipart data did."""


class _Reader:
    """A window on the body, refilled from ``source`` as it is consumed."""

    def __init__(self, source: BodySource) -> None:
        self._source = source
        # A multipart body starts with a boundary line, and every boundary is preceded
        # by CRLF but the first: one CRLF in front makes them all alike.
        self._buffer = bytearray(READ_BYTES)
        self._buffer[:2] = b"\r\n"
        self._view = memoryview(self._buffer)
        self._start = 0
        self._end = 2

    def _fill(self) -> None:
        if self._end == len(self._buffer):
            kept = self._end - self._start
            if self._start == 0:
                raise ParseError("A line of the multipart body is too long.")
            self._buffer[:kept] = self._buffer[self._start : self._end]
            self._start, self._end = 0, kept
        count = self._source.readinto(self._view[self._end :])
        if not count:
            raise CutShort
        self._end += count

    def line(self, *, limit: int) -> bytes:
        """The bytes up to the next CRLF, which is consumed too."""
        while True:
            found = self._buffer.find(b"\r\n", self._start, self._end)
            if found >= 0:
                if found - self._start > limit:
                    break
                line = bytes(self._buffer[self._start : found])
                self._start = found + 2
                return line
            if self._end - self._start > limit:
                break
            self._fill()
        raise ParseError("A header line of the multipart body is too long.")

    def copy_until(self, delimiter: bytes, sink: Callable[[memoryview], None]) -> None:
        """Hand ``sink`` every byte before ``delimiter``, in blocks; consume both."""
        keep = len(delimiter) - 1
        while True:
            found = self._buffer.find(delimiter, self._start, self._end)
            if found >= 0:
                if found > self._start:
                    sink(self._view[self._start : found])
                self._start = found + len(delimiter)
                return
            safe = self._end - keep
            if safe > self._start:
                sink(self._view[self._start : safe])
                self._start = safe
            self._fill()

    def release(self) -> None:
        self._view.release()


class _TextBudget:
    """What the text fields may take in all (``DATA_UPLOAD_MAX_MEMORY_SIZE``, None for no
    limit), counting names and values as Django's parser does."""

    def __init__(self, limit: int | None) -> None:
        self._left = limit

    def spend(self, count: int) -> None:
        if self._left is None:
            return
        self._left -= count
        if self._left < 0:
            raise RequestDataTooBig


class _Field:
    """A text field's bytes, within the request's budget for text."""

    def __init__(self, budget: _TextBudget, name: str) -> None:
        self._budget = budget
        self._budget.spend(len(name) + 2)
        self._data = bytearray()

    def write(self, data: memoryview) -> None:
        self._budget.spend(len(data))
        self._data += data

    def text(self, encoding: str) -> str:
        return self._data.decode(encoding, errors="replace")


class _File:
    """A file part, written through to its temporary file."""

    def __init__(self, upload: TemporaryUploadedFile) -> None:
        self._fd = upload.fileno()
        self.size = 0

    def write(self, data: memoryview) -> None:
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
            self.size += written


def _discard(data: memoryview) -> None:
    return None


def _sanitize_file_name(name: str) -> str | None:
    """The base name of an uploaded file as Django's parser makes it (its method reads
    nothing of the parser)."""
    return DjangoMultiPartParser.sanitize_file_name(cast("DjangoMultiPartParser", None), name)


def _headers(reader: _Reader) -> dict[str, str]:
    headers: dict[str, str] = {}
    budget = MAX_HEADER_BYTES
    for _ in range(MAX_HEADER_LINES + 1):
        line = reader.line(limit=budget)
        if not line:
            return headers
        budget -= len(line)
        name, colon, value = line.decode("utf-8", errors="replace").partition(":")
        if not colon:
            raise ParseError("A part of the multipart body has a malformed header line.")
        headers[name.strip().lower()] = value.strip()
    raise ParseError("A part of the multipart body has too many header lines.")


def parse_multipart(
    source: BodySource, boundary: bytes, *, encoding: str
) -> tuple[QueryDict, MultiValueDict[str, TemporaryUploadedFile]]:
    """The fields and files of a multipart body; raises ``ParseError`` when it is not
    one, ``CutShort`` when it ends early, and Django's limit errors over a limit."""
    data = QueryDict(mutable=True)
    files: MultiValueDict[str, TemporaryUploadedFile] = MultiValueDict()
    opened: list[TemporaryUploadedFile] = []
    reader = _Reader(source)
    delimiter = b"\r\n--" + boundary
    text_budget = _TextBudget(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    max_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    max_files = settings.DATA_UPLOAD_MAX_NUMBER_FILES
    fields = 0
    file_parts = 0
    try:
        reader.copy_until(delimiter, _discard)  # the preamble
        while True:
            rest = reader.line(limit=MAX_HEADER_BYTES).rstrip(b" \t")
            if rest == b"--":
                break
            if rest:
                raise ParseError("A boundary line of the multipart body is malformed.")
            headers = _headers(reader)
            kind, params = parse_header_parameters(headers.get("content-disposition", ""))
            name = params.get("name", "").strip()
            if kind != "form-data" or not name:
                raise ParseError("A part of the multipart body has no form-data name.")
            if not params.get("filename"):
                # A field; so is a file input left empty, as Django has it.
                fields += 1
                if max_fields is not None and fields > max_fields:
                    raise TooManyFieldsSent
                field = _Field(text_budget, name)
                reader.copy_until(delimiter, field.write)
                data.appendlist(name, field.text(encoding))
                continue
            file_parts += 1
            if max_files is not None and file_parts > max_files:
                raise TooManyFilesSent
            file_name = _sanitize_file_name(params["filename"])
            if not file_name:
                reader.copy_until(delimiter, _discard)
                continue
            content_type, type_params = parse_header_parameters(headers.get("content-type", ""))
            upload = TemporaryUploadedFile(file_name, content_type, 0, type_params.get("charset"))
            opened.append(upload)
            target = _File(upload)
            reader.copy_until(delimiter, target.write)
            upload.size = target.size
            upload.seek(0)
            files.appendlist(name, upload)
    except BaseException:
        for upload in opened:
            upload.close()
        raise
    finally:
        reader.release()
    data._mutable = False
    return data, files


class StreamingMultiPartParser(BaseParser):
    """``multipart/form-data`` for DRF views, through ``parse_multipart``."""

    media_type = "multipart/form-data"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> DataAndFiles:
        context = parser_context or {}
        request = context["request"]
        meta = request.META
        try:
            expected = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError as exc:
            raise ParseError("The Content-Length header is not a number.") from exc
        _, params = parse_header_parameters(media_type or "")
        boundary = params.get("boundary", "")
        if not boundary or len(boundary) > MAX_BOUNDARY_LENGTH or not boundary.isascii():
            raise ParseError("The multipart body has no valid boundary in its Content-Type.")
        source = body_source(getattr(request, "_request", request), stream, length=expected)
        encoding = context.get("encoding") or settings.DEFAULT_CHARSET
        try:
            data, files = parse_multipart(source, boundary.encode(), encoding=encoding)
        except CutShort:
            raise ParseError(
                f"The request body ended before its {expected} bytes were all there: "
                "the upload was cut off. Send it again."
            ) from None
        finally:
            source.finish()
        return DataAndFiles(data, files)
