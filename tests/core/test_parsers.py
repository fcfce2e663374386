"""The API's multipart parser: Django's fields and files, in any block sizes, every file
on disk, and refusals for bodies cut short or over a limit, with nothing kept."""

from __future__ import annotations

import io
import random
import select
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from rest_framework.exceptions import ParseError

from accounts.services import issue_token
from archives import storage
from archives.models import Archive
from core.parsers import (
    JSON_MAX_DEPTH,
    READ_BYTES,
    BodyStream,
    JSONBodyParser,
    parse_multipart,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer
    from rest_framework.test import APIClient

    from accounts.models import User

BOUNDARY = "b0undary-7Xq"


def part(disposition: str, data: bytes, content_type: str | None = None) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data + b"\r\n"


def body_of(*parts: bytes, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    return preamble + b"".join(parts) + f"--{BOUNDARY}--\r\n".encode() + epilogue


def tricky_bytes(size: int, seed: int) -> bytes:
    """Random bytes sprinkled with near-misses of the delimiter."""
    rng = random.Random(seed)
    near = [f"\r\n--{BOUNDARY}"[:cut].encode() for cut in range(1, len(BOUNDARY) + 4)]
    chunks: list[bytes] = []
    total = 0
    while total < size:
        chunk = rng.randbytes(rng.randrange(1, 4096)) + rng.choice(near)
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)[:size]


SAMPLE = body_of(
    part('name="name"', "Отчёт за год".encode()),
    part('name="description"', b"two\r\nlines"),
    part('name="paths"', b"docs/a.txt"),
    part('name="paths"', b"docs/b.bin"),
    part('name="files"; filename="a.txt"', b"alpha\n", "text/plain"),
    part('name="files"; filename="../../etc/b.bin"', tricky_bytes(300_000, 1)),
    part("name=\"files\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf", b"%PDF"),
    part('name="files"; filename=""', b"", "application/octet-stream"),  # an empty input
    part('name="files"; filename="empty.txt"', b""),
    part('name="latin"', "café".encode("latin-1"), "text/plain; charset=latin-1"),
    preamble=b"ignored preamble\r\n",
    epilogue=b"ignored epilogue",
)


class Trickle:
    """A body handed over in small, uneven pieces."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = io.BytesIO(data)
        self._rng = random.Random(seed)

    def read(self, size: int, /) -> bytes:
        return self._data.read(min(size, self._rng.randrange(1, 50)))


def ours(
    body: bytes, *, stream: BodyStream | None = None, length: int | None = None
) -> tuple[dict[str, list[str]], list[tuple[str, str, bytes]]]:
    """What ``parse_multipart`` finds in ``body`` (given by ``stream`` if not whole), of
    ``length`` bytes by its Content-Length (its own length if not given)."""
    data, files = parse_multipart(
        io.BytesIO(body) if stream is None else stream,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        content_length=len(body) if length is None else length,
        encoding="utf-8",
    )
    uploads = [
        (field, upload.name or "", upload.read())
        for field, values in files.lists()
        for upload in values
    ]
    assert all(
        isinstance(upload, TemporaryUploadedFile)
        for _, values in files.lists()
        for upload in values
    )
    return {key: data.getlist(key) for key in data}, uploads


def djangos(body: bytes) -> tuple[dict[str, list[str]], list[tuple[str, str, bytes]]]:
    meta = {
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(len(body)),
    }
    data, files = MultiPartParser(meta, io.BytesIO(body), [TemporaryFileUploadHandler()]).parse()
    uploads = [
        (field, upload.name or "", upload.read())
        for field, values in files.lists()
        for upload in values
    ]
    return {key: data.getlist(key) for key in data}, uploads


def test_fields_and_files_are_those_djangos_parser_finds() -> None:
    fields, files = ours(SAMPLE)

    assert (fields, files) == djangos(SAMPLE)
    assert fields["name"] == ["Отчёт за год"]
    assert fields["description"] == ["two\r\nlines"]
    assert fields["paths"] == ["docs/a.txt", "docs/b.bin"]
    # Both read fields in the request's encoding, whatever a part says.
    assert fields["latin"] == ["caf\ufffd"]
    # A file input left empty is an empty field.
    assert fields["files"] == [""]
    assert [name for _, name, _ in files] == ["a.txt", "b.bin", "отчёт.pdf", "empty.txt"]
    assert files[1][2] == tricky_bytes(300_000, 1)


@pytest.mark.parametrize("seed", range(4))
def test_any_block_sizes_give_the_same_result(seed: int) -> None:
    assert ours(SAMPLE, stream=Trickle(SAMPLE, seed)) == ours(SAMPLE)


def test_a_file_larger_than_the_buffer_arrives_whole() -> None:
    data = tricky_bytes(3 * READ_BYTES + 12345, 2)
    body = body_of(part('name="files"; filename="big.bin"', data))

    _, files = ours(body)

    assert files == [("files", "big.bin", data)]


def temporary_files(settings: DjangoSettings) -> list[Path]:
    from pathlib import Path

    return sorted(Path(settings.FILE_UPLOAD_TEMP_DIR).glob("*.upload*"))


def test_a_body_cut_anywhere_is_refused_and_leaves_no_file(settings: DjangoSettings) -> None:
    before = temporary_files(settings)
    ends = sorted({*random.Random(3).sample(range(len(SAMPLE) - 20), 60), len(SAMPLE) - 20})

    for end in ends:
        with pytest.raises(ParseError, match="cut off"):
            ours(SAMPLE[:end], length=len(SAMPLE))

    assert temporary_files(settings) == before


def test_a_body_that_ends_inside_a_file_part_is_refused(settings: DjangoSettings) -> None:
    """Its Content-Length agrees, but no boundary closes the file: Django's parser would
    drop the part and keep the rest."""
    before = temporary_files(settings)
    whole = part('name="files"; filename="a.txt"', b"alpha")
    cut = whole + part('name="files"; filename="b.txt"', b"bravo")[:-3]

    with pytest.raises(ParseError, match="cut off"):
        ours(cut)

    assert temporary_files(settings) == before


LONG_HEADER = body_of(part('name="a"; x="' + "y" * 20_000 + '"', b"long header"))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (LONG_HEADER, ParseError),
        (body_of(*(part(f'name="f{n}"', b"v") for n in range(1001))), TooManyFieldsSent),
        (
            body_of(*(part(f'name="files"; filename="{n}.txt"', b"v") for n in range(1002))),
            TooManyFilesSent,
        ),
        (body_of(part('name="description"', b"x" * 2_000_000)), RequestDataTooBig),
    ],
    ids=["long header", "fields", "files", "text"],
)
def test_bad_bodies_are_refused_and_leave_no_file(
    settings: DjangoSettings, body: bytes, error: type[Exception]
) -> None:
    before = temporary_files(settings)

    with pytest.raises(error):
        ours(body)

    assert temporary_files(settings) == before


def test_a_content_type_without_boundary_is_refused() -> None:
    with pytest.raises(ParseError, match="boundary"):
        parse_multipart(
            io.BytesIO(SAMPLE),
            content_type="multipart/form-data",
            content_length=len(SAMPLE),
            encoding="utf-8",
        )


@pytest.mark.parametrize(
    "body",
    [
        body_of(part('filename="a.txt"', b"no field name")),
        f"--{BOUNDARY}\r\nContent-Disposition form-data\r\n\r\nx\r\n--{BOUNDARY}--".encode(),
        f"--{BOUNDARY}junk\r\n\r\nx\r\n--{BOUNDARY}--".encode(),
        f"--{BOUNDARY}\r\n".encode()
        + b"X: y\r\n" * 40
        + b"\r\nx\r\n--"
        + BOUNDARY.encode()
        + b"--",
    ],
    ids=["no name", "no colon", "bad boundary line", "many headers"],
)
def test_parts_without_a_form_data_name_are_ignored_and_leave_no_file(
    settings: DjangoSettings, body: bytes
) -> None:
    """As Django's parser has it; an archive without its files is then refused."""
    before = temporary_files(settings)

    assert ours(body) == ({}, [])
    assert temporary_files(settings) == before


def raw_exchange(server: str, payload: bytes, *, answers: int) -> list[bytes]:
    """Send ``payload`` on one connection; the status lines of ``answers`` responses."""
    address = urlsplit(server)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        conn.sendall(payload)
        received = b""
        while received.count(b"HTTP/1.1 ") < answers or not received.endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
    return [line.split(b"\r\n")[0] for line in received.split(b"HTTP/1.1 ")[1:]]


def post_head(token: str, length: int, *, close: bool = False) -> bytes:
    return (
        "POST /api/archives/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Token {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n"
    ).encode()


def list_request(token: str) -> bytes:
    return (
        "GET /api/archives/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Token {token}\r\nConnection: close\r\n\r\n"
    ).encode()


@pytest.mark.django_db(transaction=True)
def test_through_gunicorn_files_are_stored_byte_for_byte(gunicorn: str, user: User) -> None:
    token = issue_token(user)
    big = tricky_bytes(5 * READ_BYTES + 7, 4)
    small = b"small\n" * 10

    with requests.Session() as session:
        created = session.post(
            f"{gunicorn}/api/archives/",
            headers={"Authorization": f"Token {token}"},
            files=[("files", ("big.bin", big)), ("files", ("small.txt", small))],
            data={"name": "Через gunicorn", "max_downloads": "3"},
            timeout=60,
        )
        # The same connection serves the next request: the body was read to its end.
        listed = session.get(
            f"{gunicorn}/api/archives/", headers={"Authorization": f"Token {token}"}, timeout=30
        )

    assert created.status_code == 201, created.text
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    archive = Archive.objects.get(pk=created.json()["id"])
    assert archive.name == "Через gunicorn"
    assert archive.max_downloads == 3
    stored = {f.name: storage.local_path(f.source_name).read_bytes() for f in archive.files.all()}
    assert stored == {"big.bin": big, "small.txt": small}


@pytest.mark.django_db(transaction=True)
def test_through_gunicorn_a_request_sent_behind_the_upload_is_answered(
    gunicorn: str, user: User
) -> None:
    token = issue_token(user)
    body = body_of(part('name="files"; filename="a.txt"', b"alpha"))

    answers = raw_exchange(
        gunicorn, post_head(token, len(body)) + body + list_request(token), answers=2
    )

    assert answers == [b"201 Created", b"200 OK"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("left", "answers"), [(20_000, 2), (3 * READ_BYTES, 1)])
def test_through_gunicorn_what_a_refused_body_leaves_is_never_read_as_a_request(
    gunicorn: str, user: User, left: int, answers: int
) -> None:
    """gunicorn drops a small rest of a body and serves the next request; it closes the
    connection rather than drain a large one."""
    token = issue_token(user)
    refused = LONG_HEADER + tricky_bytes(left, 5)

    got = raw_exchange(
        gunicorn, post_head(token, len(refused)) + refused + list_request(token), answers=answers
    )

    assert got == [b"400 Bad Request", b"200 OK"][:answers]
    assert not Archive.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_through_gunicorn_a_body_cut_short_is_400(gunicorn: str, user: User) -> None:
    token = issue_token(user)
    body = body_of(part('name="files"; filename="a.bin"', tricky_bytes(2 * READ_BYTES, 6)))
    address = urlsplit(gunicorn)
    assert address.hostname is not None and address.port is not None

    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        conn.sendall(post_head(token, len(body), close=True) + body[: len(body) // 2])
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"cut off" in answer
    assert not Archive.objects.exists()


def test_a_quote_that_an_html_form_encoded_in_a_file_name_is_decoded() -> None:
    body = body_of(part('name="files"; filename="say %22hello%22.txt"', b"hi"))

    _, files = ours(body)

    assert files == [("files", 'say "hello".txt', b"hi")]


@pytest.mark.parametrize(
    "file_name",
    ["..", ".", "   ", "\u200b", "\u200b\u200d\ufeff", "\x01\x7f", " .. ", "dir/..", "\t\u3000"],
)
def test_a_file_part_whose_name_names_no_file_is_refused_by_name(
    settings: DjangoSettings, file_name: str
) -> None:
    before = temporary_files(settings)
    body = body_of(
        part('name="files"; filename="fine.txt"', b"kept until refused"),
        part('name="note"', b"text"),
        part(f'name="files"; filename="{file_name}"', b"nameless"),
    )

    with pytest.raises(ParseError) as refused:
        ours(body)

    assert "File 2 of the upload" in str(refused.value.detail)
    assert repr(file_name) in str(refused.value.detail)
    assert temporary_files(settings) == before


@pytest.mark.django_db
def test_the_api_answers_400_naming_the_file_part_with_no_file_name(
    api: APIClient, settings: DjangoSettings
) -> None:
    before = temporary_files(settings)
    body = body_of(
        part('name="files"; filename="a.txt"', b"alpha"),
        part('name="files"; filename=".."', b"bravo"),
    )

    response = api.post(
        "/api/archives/", body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )

    assert response.status_code == 400
    assert "File 2 of the upload is named '..'" in response.json()["detail"]
    assert not Archive.objects.exists()
    assert temporary_files(settings) == before


# JSON bodies: nesting past the limit or text that is no Unicode is a 400 with a JSON
# detail on every endpoint, never the 500 that Python's RecursionError made of it.
DEEP_JSON = b"[" * 100_000


def json_endpoints(archive: Archive) -> list[tuple[str, str]]:
    return [
        ("post", "/api/auth/token/"),
        ("post", "/api/auth/register/"),
        ("patch", f"/api/archives/{archive.pk}/"),
        ("post", f"/api/archives/{archive.pk}/links/"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DEEP_JSON, "nested deeper than"),
        (b"[" * 33 + b"]" * 33, "nested deeper than"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper than"),
        (b'{"username": "\\ud800x", "password": "p"}', "surrogate"),
        (b'{"username": ', "JSON parse error"),
        (b'{"username": "\xff"}', "JSON parse error"),
    ],
    ids=["100k arrays", "33 arrays", "40 objects", "lone surrogate", "cut short", "not utf-8"],
)
def test_a_json_body_too_deep_or_unreadable_is_400_with_a_detail_on_every_endpoint(
    api: APIClient, make_archive: Callable[..., Archive], body: bytes, reason: str
) -> None:
    archive = make_archive(build=False)

    for method, url in json_endpoints(archive):
        response = getattr(api, method)(url, body, content_type="application/json")

        assert response.status_code == 400, (method, url)
        assert response["Content-Type"] == "application/json", (method, url)
        assert reason in response.json()["detail"], (method, url)


def test_json_nested_up_to_the_limit_is_read() -> None:
    body = b"[" * JSON_MAX_DEPTH + b"]" * JSON_MAX_DEPTH

    data = JSONBodyParser().parse(io.BytesIO(body))

    depth = 0
    while isinstance(data, list) and data:
        data, depth = data[0], depth + 1
    assert depth == JSON_MAX_DEPTH - 1


@pytest.mark.django_db(transaction=True)
def test_through_gunicorn_a_deeply_nested_token_request_is_400(gunicorn: str) -> None:
    response = requests.post(
        f"{gunicorn}/api/auth/token/",
        data=DEEP_JSON,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]


def send_until_answered(
    server: str, head: bytes, body: bytes, *, block: int = 256 * 1024
) -> tuple[bytes, int]:
    """Send ``head``, then ``body`` a block at a time, until the server answers; return
    the answer's first bytes and how many bytes of the body had been sent by then."""
    address = urlsplit(server)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        conn.sendall(head)
        sent = 0
        while not select.select([conn], [], [], 0.05)[0]:
            if sent >= len(body):
                select.select([conn], [], [], 30)
                break
            try:
                conn.sendall(body[sent : sent + block])
            except OSError:
                break
            sent += min(block, len(body) - sent)
        answer = b""
        while b"detail" not in answer and select.select([conn], [], [], 5)[0]:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, sent


@pytest.mark.django_db(transaction=True)
def test_a_body_larger_than_any_upload_is_refused_before_it_is_read(
    live_server: LiveServer, user: User, settings: DjangoSettings
) -> None:
    settings.ARCHIVE_MAX_BYTES = READ_BYTES
    settings.ARCHIVE_MAX_FILES = 10
    body = body_of(part('name="files"; filename="big.bin"', b"b" * (50 * READ_BYTES)))

    answer, sent = send_until_answered(
        live_server.url, post_head(issue_token(user), len(body)), body
    )

    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"ARCHIVE_MAX_BYTES" in answer
    assert sent < 4 * READ_BYTES
    assert not temporary_files(settings)
    assert not Archive.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("limit", "named"),
    [("ARCHIVE_FILE_MAX_BYTES", b"ARCHIVE_FILE_MAX_BYTES"), ("USER_QUOTA_BYTES", b"USER_QUOTA")],
)
def test_an_upload_is_refused_the_moment_its_files_pass_a_limit(
    live_server: LiveServer, user: User, settings: DjangoSettings, limit: str, named: bytes
) -> None:
    setattr(settings, limit, READ_BYTES)
    body = body_of(part('name="files"; filename="big.bin"', b"b" * (16 * READ_BYTES)))
    if limit == "USER_QUOTA_BYTES":
        # Room for the body's length as far as the first check can tell, not for its files.
        settings.USER_QUOTA_BYTES = 2 * READ_BYTES
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * READ_BYTES

    answer, sent = send_until_answered(
        live_server.url, post_head(issue_token(user), len(body)), body
    )

    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert named in answer
    assert sent < 6 * READ_BYTES
    assert not temporary_files(settings)
    assert not Archive.objects.exists()
