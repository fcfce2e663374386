"""The parsers of the API: JSON with a nesting limit, and multipart with uploads streamed
to disk in large blocks.

A JSON body nested deeper than ``JSON_MAX_DEPTH``, or holding a string that is no Unicode
text (a lone surrogate escape such as ``"\\ud800"``), is a ``ParseError`` like any JSON
that cannot be read: the API answers 400 with a ``detail``. Python's decoder recurses
once per level, so without the limit a body of 100,000 ``[`` ended the request in a
``RecursionError``, a 500.

The multipart parser is Django's parser, with uploads streamed to disk in large blocks.

Each file part goes to a temporary file (``FILE_UPLOAD_TEMP_DIR``) that storage then
renames into place, so a large upload is written once to disk, up to ``READ_BYTES`` at a
time, and memory stays flat. Fields, files, names and limits are Django's
(``DATA_UPLOAD_MAX_NUMBER_FILES``, ``DATA_UPLOAD_MAX_NUMBER_FIELDS``,
``DATA_UPLOAD_MAX_MEMORY_SIZE``), but a body cut short is refused where Django's parser
keeps the parts it had read, a file name's ``%22`` is read as the ``"`` that HTML forms
encode so, and a file part whose name names no file is refused where Django's parser
drops it without a word.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, DataAndFiles, JSONParser

from core.limits import LimitExceeded
from core.media import raising_storage_full

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from django.core.files.uploadedfile import UploadedFile
    from django.http import HttpRequest, HttpResponse, QueryDict
    from django.utils.datastructures import MultiValueDict

# Bytes read from the body, and written to a file, at a time: a sixteenth of the calls
# through the server's reader, Django's parser and the file that Django's default, 64 KiB,
# makes; the same as gunicorn's largest receive.
READ_BYTES = 1024 * 1024
# A " in a file name as browsers send it: the HTML standard's multipart/form-data
# encoding writes it %22 (and a line break %0A or %0D, which a file name cannot hold),
# and leaves a % as it is.
FORM_ENCODED_QUOTE = "%22"
# What is left of a name that names no file once no one can see what is left out.
NO_FILE_NAMES = frozenset({"", ".", ".."})
# Levels of arrays and objects a JSON body may nest. The API's bodies are objects of
# scalars and lists (two levels); the margin is for clients that wrap them. Python's
# decoder reaches its recursion limit at about 1,000 levels, less the stack in use.
JSON_MAX_DEPTH = 32
# A UTF-16 surrogate on its own: JSON's \u escapes can write one, but it is no character,
# and the database and UTF-8 encoders refuse it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyStream(Protocol):
    def read(self, size: int, /) -> bytes: ...


class _CountedStream:
    """The body as the parser reads it, counting the bytes received."""

    def __init__(self, stream: BodyStream, *, expected: int) -> None:
        self._stream = stream
        self._expected = expected
        self.received = 0
        self.has_ended_early = False

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.received += len(data)
        if not data and size and self.received < self._expected:
            self.has_ended_early = True
        return data

    def __iter__(self) -> Iterator[bytes]:
        # What Django reads to drain the body once it is done with the parts.
        return iter(lambda: self.read(READ_BYTES), b"")


class UploadLimits(Protocol):
    """What a view that takes uploads hands the parser (``upload_limits(request)``), so
    the body is refused as soon as it cannot fit: each raises the error to answer."""

    def check_length(self, content_length: int, /) -> None: ...

    def check_received(self, sizes: list[int], /) -> None: ...


class TidyTemporaryFileHandler(TemporaryFileUploadHandler):
    """Django's handler of file parts spooled to a temporary file, which it removes when
    writing fails (a full disk): Django's parser then closes only the files it finished,
    and the one being written would stay until the process ends."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        try:
            return super().receive_data_chunk(raw_data, start)
        except BaseException:
            self._remove_file()
            raise

    def file_complete(self, file_size: int) -> UploadedFile | None:
        try:
            # Flushes what the file still buffers, which may not fit either.
            return super().file_complete(file_size)
        except BaseException:
            self._remove_file()
            raise

    def _remove_file(self) -> None:
        # Closing removes the file, even when the flush of its buffer fails again.
        with contextlib.suppress(OSError):
            self.file.close()


class TemporaryFileHandler(TidyTemporaryFileHandler):
    """Every file part to a temporary file, ``READ_BYTES`` at a time; remembers whether
    the body ended inside a file part (Django then drops that part and goes on), and
    checks the bytes received so far against ``limits`` after every block."""

    chunk_size = READ_BYTES

    def __init__(self, limits: UploadLimits | None = None) -> None:
        super().__init__(None)
        self.is_interrupted = False
        self._limits = limits
        self._sizes: list[int] = []
        self._open: list[UploadedFile] = []

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._sizes.append(0)
        self._open.append(self.file)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._sizes[-1] += len(raw_data)
        if self._limits is not None:
            self._limits.check_received(self._sizes)
        return super().receive_data_chunk(raw_data, start)

    def discard_files(self) -> None:
        """Close (so remove) every temporary file this handler made."""
        for upload in self._open:
            upload.close()

    def upload_interrupted(self) -> None:
        self.is_interrupted = True
        super().upload_interrupted()


def serve_form_uploads(
    request: HttpRequest,
    limits: UploadLimits | None,
    page: Callable[[], HttpResponse],
    refused: Callable[[LimitExceeded], HttpResponse],
) -> HttpResponse:
    """``page()``, with the files of a page's multipart POST streamed in under ``limits``:
    the ``Content-Length`` is checked first, the files after every block received, so a
    body over a limit is refused by ``refused(error)`` before it is stored, and what was
    received of it is removed.

    ``page`` must be the first to read ``request.POST`` or ``request.FILES``. The CSRF
    check reads them, so the view is ``csrf_exempt`` and ``page`` is ``csrf_protect``-ed,
    as Django's documentation of upload handlers says."""
    handler = None
    try:
        if limits is not None and request.method == "POST":
            try:
                content_length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                content_length = 0
            limits.check_length(content_length)
            handler = TemporaryFileHandler(limits)
            request.upload_handlers = [handler]
        return page()
    except LimitExceeded as exc:
        if handler is not None:
            handler.discard_files()
        return refused(exc)


def _is_visible(char: str) -> bool:
    # Not whitespace, and not what Python will not print: control and format characters
    # (zero-width spaces and joiners, direction marks), separators, unassigned ones.
    return char.isprintable() and not char.isspace()


class _FormDataParser(MultiPartParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file_parts = 0

    def sanitize_file_name(self, file_name: str) -> str:
        """The base name Django keeps of a part's file name, with HTML's ``%22`` read as
        ``"``. Django calls it once for every file part, in order, and drops the part
        when it returns None; raises ``ParseError`` naming the part instead when the name
        is ``..``, ``.`` or nothing visible."""
        self._file_parts += 1
        name = super().sanitize_file_name(file_name.replace(FORM_ENCODED_QUOTE, '"'))
        if name is None or "".join(filter(_is_visible, name)) in NO_FILE_NAMES:
            raise ParseError(
                f"File {self._file_parts} of the upload is named {file_name!r}, which names "
                "no file: name it with a visible character besides dots."
            )
        return name


def _cut_short(expected: int) -> ParseError:
    return ParseError(
        f"The request body ended before its {expected} bytes were all there: "
        "the upload was cut off. Send it again."
    )


def parse_multipart(
    stream: BodyStream,
    *,
    content_type: str,
    content_length: int,
    encoding: str,
    limits: UploadLimits | None = None,
) -> tuple[QueryDict, MultiValueDict[str, UploadedFile]]:
    """The fields and files of the multipart body that ``stream`` gives (its
    ``Content-Type`` and ``Content-Length`` as given), every file in a temporary file.

    Raises ``ParseError`` when the body is not multipart, ends early (before its length,
    or inside a file part) or has a file part named ``..``, ``.`` or nothing visible,
    Django's ``TooManyFilesSent``, ``TooManyFieldsSent`` or ``RequestDataTooBig`` over a
    limit, ``StorageFull`` when the temporary files' disk is full, and what ``limits``
    raise: before reading for the ``Content-Length``, then the moment the files received
    pass a limit, leaving the rest of the body unread. After an error no temporary file
    is left.
    """
    if limits is not None:
        limits.check_length(content_length)
    counted = _CountedStream(stream, expected=content_length)
    handler = TemporaryFileHandler(limits)
    meta = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(content_length)}
    try:
        # A temporary file on a full disk is the server's failure, not the client's.
        with raising_storage_full():
            # Django's parser reads its input with read() and drains it by iterating.
            parser = _FormDataParser(meta, cast("Any", counted), [handler], encoding)
            data, files = parser.parse()
    except MultiPartParserError as exc:
        handler.discard_files()
        if counted.has_ended_early:
            raise _cut_short(content_length) from None
        raise ParseError(f"The multipart body cannot be read: {exc}") from None
    except BaseException:
        handler.discard_files()
        raise
    if counted.received < content_length or handler.is_interrupted:
        handler.discard_files()
        raise _cut_short(content_length)
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
        # DRF hands a stream only for a body with a valid, non-zero Content-Length.
        context = parser_context or {}
        request = context["request"]
        # A view that takes uploads says what may be received (``upload_limits``).
        view_limits = getattr(context.get("view"), "upload_limits", None)
        data, files = parse_multipart(
            stream,
            content_type=media_type or "",
            content_length=int(request.META.get("CONTENT_LENGTH") or 0),
            encoding=context.get("encoding") or settings.DEFAULT_CHARSET,
            limits=view_limits(request) if view_limits is not None else None,
        )
        return DataAndFiles(data, files)


def _check_json_value(value: object) -> None:
    """Raise ``ParseError`` when ``value``, as decoded from JSON, nests deeper than
    ``JSON_MAX_DEPTH`` or holds a string (key or value) with a lone surrogate."""
    # A walk with its own stack: the value may nest nearly as deep as the decoder could go.
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                raise ParseError(
                    "JSON parse error - a string holds a lone surrogate escape, "
                    "which is no Unicode character."
                )
            continue
        if isinstance(item, dict):
            children: list[object] = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= JSON_MAX_DEPTH:
            raise _too_deep()
        pending.extend((child, depth + 1) for child in children)


def _too_deep() -> ParseError:
    return ParseError(
        f"JSON parse error - the body is nested deeper than {JSON_MAX_DEPTH} levels "
        "of arrays and objects."
    )


class JSONBodyParser(JSONParser):
    """``application/json`` for DRF views: DRF's parser, with ``ParseError`` also for
    bodies nested past ``JSON_MAX_DEPTH`` and strings with lone surrogates."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """The decoded body; raises ``ParseError`` for any body that is not JSON within
        the limits above."""
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # Far deeper than the limit; the decoder unwound its stack before raising.
            raise _too_deep() from None
        _check_json_value(data)
        return data
