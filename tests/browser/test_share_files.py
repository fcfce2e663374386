"""A share's files in real Chromium (DESIGN section 10): the file list, the gallery, each
kind of preview, and hostile files (HTML, SVG with a script, a GIF/JS polyglot, a text
holding <script>, HTML named x.png) served so that no script runs. Screenshots go to
``MEMBERS_SHOTS`` (default ``test-artifacts/members``)."""

from __future__ import annotations

import base64
import math
import os
import struct
import wave
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.browser.support import ARTIFACTS, PageWatch, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playwright.sync_api import Browser, Page, Response
    from pytest_django.live_server_helper import LiveServer

    from archives.models import Archive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("MEMBERS_SHOTS", ARTIFACTS / "members"))


def picture(
    color: tuple[int, int, int], fmt: str = "PNG", size: tuple[int, int] = (640, 420)
) -> bytes:
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 40):
        for y in range(0, size[1], 40):
            if (x + y) // 40 % 2:
                image.paste((255, 255, 255), (x, y, x + 20, y + 20))
    out = BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


ALERT_TEXT = b"Meeting notes\n<script>alert('text')</script>\n<img src=x onerror=alert(2)>\n"
HOSTILE = {
    "page.html": b"<!doctype html><html><body><script>alert('html')</script></body></html>",
    "logo.svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert('svg')</script></svg>"
    ),
    # A GIF header that is also JavaScript: GIF89a=... assigns, then alert runs.
    "poly.gif": b"GIF89a/*\x01\x00\x01\x00\x00\xff\x00,*/=1;alert('polyglot');//\x00;",
    "x.png": b"<html><body><script>alert('x.png')</script></body></html>",
}
FILES = {
    "photo.png": picture((30, 110, 200)),
    "notes.txt": ALERT_TEXT * 50,
    # A sniffable MP4 header; no encoder is at hand to make a playable one.
    "clip.mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64,
    "report.pdf": picture((200, 60, 60), fmt="PDF"),
    **HOSTILE,
}


def pdf_pages(*colors: tuple[int, int, int]) -> bytes:
    """A PDF (Pillow's) of one picture page per colour."""
    pages = [Image.open(BytesIO(picture(color))) for color in colors]
    out = BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:])
    return out.getvalue()


def pdf_with_script() -> bytes:
    """A one-page PDF written by hand: a blue square, and JavaScript run on opening (an
    alert, a print dialog, a console line) by a viewer that runs PDF scripts."""
    script = b"app.alert('pdf'); print(); console.println('pdf-script-ran');"
    drawing = b"0 0 1 rg 50 50 200 200 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R"
        b" /Names << /JavaScript << /Names [(x) 4 0 R] >> >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents 5 0 R"
        b" /AA << /O 4 0 R >> >>",
        b"<< /S /JavaScript /JS (" + script + b") >>",
        b"<< /Length %d >>\nstream\n" % len(drawing) + drawing + b"\nendstream",
    ]
    return pdf_of(objects)


def pdf_with_unembedded_fonts() -> bytes:
    """A one-page PDF written by hand whose text is in fonts it does not carry: a line of
    ZapfDingbats (one of the standard fonts no browser has) and a line of Japanese in a
    CID font whose codes are read through Adobe's predefined CMap UniJIS-UCS2-H."""
    drawing = b"BT /F1 48 Tf 30 200 Td (4444) Tj ET BT /F2 48 Tf 30 100 Td <30423044> Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(drawing) + drawing + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /ZapfDingbats >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /KozMinPr6N-Regular"
        b" /Encoding /UniJIS-UCS2-H /DescendantFonts [7 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /KozMinPr6N-Regular"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >>"
        b" /FontDescriptor 8 0 R >>",
        b"<< /Type /FontDescriptor /FontName /KozMinPr6N-Regular /Flags 4"
        b" /FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 880 /Descent -120"
        b" /CapHeight 700 /StemV 80 >>",
    ]
    return pdf_of(objects)


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (numbered from 1, the first the catalogue) with its xref."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# The colour of the drawn canvas's pixels that are not white, as [count, [r, g, b]] of
# the most common one.
CANVAS_INK = """() => {
  const canvas = document.querySelector('[data-pdf-canvas]');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] > 240 && data[i + 1] > 240 && data[i + 2] > 240) continue;
    const key = [data[i] >> 4 << 4, data[i + 1] >> 4 << 4, data[i + 2] >> 4 << 4].join();
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  let best = [0, null];
  counts.forEach((count, key) => { if (count > best[0]) best = [count, key]; });
  return [best[0], best[1] && best[1].split(',').map(Number)];
}"""


def pdf_drawn(page: Page, number: int) -> None:
    viewer = "document.querySelector('[data-pdf-viewer]').dataset"
    wait_until(
        page,
        f"{viewer}.pdfState === 'failed'"
        f" || ({viewer}.pdfState === 'drawn' && {viewer}.pdfPage === '{number}')",
    )
    assert page.get_attribute("[data-pdf-viewer]", "data-pdf-state") == "drawn"


def near(color: list[int], wanted: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(color, wanted, strict=True))


def wav_tone(seconds: float = 2.0, rate: int = 22_050, pitch: float = 440.0) -> bytes:
    """A WAV file (16-bit mono PCM) of a sine tone, made with the wave module."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        frames += struct.pack("<h", int(12_000 * math.sin(2 * math.pi * pitch * n / rate)))
    out = BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(bytes(frames))
    return out.getvalue()


# Chromium records a canvas it animates for two seconds with MediaRecorder (VP8 in WebM,
# which Debian's Chromium plays; no encoder is at hand outside it) and hands back the
# file as base64.
RECORD_WEBM = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 320; canvas.height = 240;
  document.body.appendChild(canvas);
  const context = canvas.getContext('2d');
  const recorder = new MediaRecorder(canvas.captureStream(25),
                                     {mimeType: 'video/webm;codecs=vp8'});
  const chunks = [];
  recorder.ondataavailable = (event) => chunks.push(event.data);
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start(100);
  const start = performance.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const t = (performance.now() - start) / 1000;
      context.fillStyle = 'hsl(' + Math.floor(t * 120) + ', 70%, 45%)';
      context.fillRect(0, 0, 320, 240);
      context.fillStyle = '#fff';
      context.fillRect((t * 120) % 280, 100, 40, 40);
      if (t > 2) { clearInterval(timer); resolve(); }
    }, 40);
  });
  recorder.stop();
  await stopped;
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return btoa(text);
}"""


def webm_clip(browser: Browser) -> bytes:
    context = browser.new_context()
    try:
        return base64.b64decode(context.new_page().evaluate(RECORD_WEBM))
    finally:
        context.close()


# Plays the page's <audio> or <video> from a click's user activation: the element's
# state once play() resolved.
PLAY = """async (selector) => {
  const media = document.querySelector(selector);
  await media.play();
  return {ready: media.readyState, paused: media.paused, error: media.error && media.error.code};
}"""


@pytest.fixture(scope="module", autouse=True)
def _shots() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def open_watched(
    browser: Browser, live_server: LiveServer
) -> Iterator[Callable[..., tuple[Page, PageWatch]]]:
    contexts: list[Any] = []

    def open_(
        *, width: int = 1280, dark: bool = False, locale: str = "en-US"
    ) -> tuple[Page, PageWatch]:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport={"width": width, "height": 900},
            accept_downloads=True,
            color_scheme="dark" if dark else "light",
        )
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        return page, PageWatch(page)

    yield open_
    for context in contexts:
        context.close()


def index_of(archive: Archive, name: str) -> int:
    return archive.files.get(name=name).position


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_file_list_and_each_preview(
    make_archive: Callable[..., Archive], open_watched: Callable[..., tuple[Page, PageWatch]]
) -> None:
    archive = make_archive(FILES, name="Project files")
    page, watch = open_watched()

    page.goto(f"/s/{archive.slug}/")
    rows = page.locator("[data-file-row]")
    assert rows.count() == len(FILES)
    assert page.locator("[data-file-download]").count() == len(FILES)
    # Previews for what was sniffed as previewable, none for the hostile files.
    # Previews for what was sniffed as previewable: the polyglot is a GIF to a browser.
    assert page.locator("[data-file-preview]").count() == 5
    shot(page, "file-list")

    # Keyboard: Tab reaches a file's download button.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('[data-file-download]')"):
            break
    else:
        pytest.fail("no file download button is reachable with Tab")

    for name, kind in [
        ("photo.png", "image"),
        ("clip.mp4", "video"),
        ("report.pdf", "pdf"),
        ("notes.txt", "text"),
    ]:
        page.goto(f"/s/{archive.slug}/files/{index_of(archive, name)}/")
        assert page.locator(f"[data-preview={kind}]").count() == 1
        shot(page, f"preview-{kind}")
    assert page.evaluate("document.querySelector('img.img-fluid') === null")
    assert "<script>alert('text')</script>" in page.locator("pre.file-text").inner_text()
    assert (
        page.evaluate("document.querySelectorAll('pre.file-text script, pre.file-text img').length")
        == 0
    )
    assert watch.dialogs == []


def test_hostile_files_run_no_script(
    make_archive: Callable[..., Archive], open_watched: Callable[..., tuple[Page, PageWatch]]
) -> None:
    archive = make_archive(FILES, name="Hostile")
    page, watch = open_watched()
    page.goto(f"/s/{archive.slug}/")

    for name in HOSTILE:
        index = index_of(archive, name)
        base = f"/s/{archive.slug}/files/{index}"
        preview = page.request.get(f"{base}/")
        raw = page.request.get(f"{base}/raw")
        download = page.request.get(f"{base}/download")
        headers = download.headers
        assert headers["content-type"] == "application/octet-stream", name
        assert headers["content-disposition"].startswith("attachment;"), name
        assert headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert headers["x-content-type-options"] == "nosniff"
        assert download.body() == FILES[name]
        if name == "poly.gif":
            # A real GIF header: an image preview, sent as image/gif, never as script.
            assert raw.headers["content-type"] == "image/gif"
            assert raw.headers["cross-origin-resource-policy"] == "same-origin"
        else:
            assert raw.status == 404, name
        assert preview.status == 200
        page.goto(f"{base}/")
        shot(page, f"hostile-{name.replace('.', '-')}-preview")
        # Opening the raw bytes and the download in the browser itself.
        if name == "poly.gif":
            page.goto(f"{base}/raw")
            shot(page, "hostile-poly-gif-raw")
        page.goto(f"{base}/")
        with page.expect_download() as started:
            page.locator("[data-file-download]").click()
        assert started.value.suggested_filename == name

    # The polyglot loaded as a script from the share's own page: refused for its type.
    gif = index_of(archive, "poly.gif")
    page.goto(f"/s/{archive.slug}/")
    page.evaluate(
        "src => { const s = document.createElement('script'); s.src = src;"
        " document.body.appendChild(s); }",
        f"/s/{archive.slug}/files/{gif}/raw",
    )
    page.wait_for_timeout(500)
    # The text holding <script>, opened raw: shown as text.
    text = index_of(archive, "notes.txt")
    page.goto(f"/s/{archive.slug}/files/{text}/raw")
    assert "<script>alert('text')</script>" in page.locator("body").inner_text()
    shot(page, "hostile-text-raw")
    assert page.evaluate("document.scripts.length") == 0
    assert watch.dialogs == []
    assert not [error for error in watch.errors if "alert" in error and "Refused" not in error]


def test_gallery_at_360_px_and_dark(
    make_archive: Callable[..., Archive], open_watched: Callable[..., tuple[Page, PageWatch]]
) -> None:
    archive = make_archive(
        {
            "Закат над морем.jpg": picture((240, 120, 40), fmt="JPEG"),
            "forest.png": picture((40, 160, 70)),
            "city-at-night-with-a-very-long-file-name-that-wraps.webp": picture(
                (60, 60, 160), fmt="WEBP"
            ),
            "readme.txt": b"Photos of the trip.\n",
        },
        name="Trip photos",
    )
    for width, dark, locale, name in [
        (1280, False, "en-US", "gallery"),
        (360, False, "ru-RU", "gallery-360-ru"),
        (360, True, "en-US", "gallery-360-dark"),
    ]:
        page, watch = open_watched(width=width, dark=dark, locale=locale)
        page.goto(f"/s/{archive.slug}/")
        assert page.locator("[data-file-gallery] img").count() == 3
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, name)
        assert watch.dialogs == []


def test_a_pdf_preview_draws_its_pages_with_pdf_js(
    make_archive: Callable[..., Archive], open_watched: Callable[..., tuple[Page, PageWatch]]
) -> None:
    red, green = (200, 60, 60), (40, 160, 70)
    archive = make_archive({"report.pdf": pdf_pages(red, green)}, name="Report")
    for width, dark, locale, name in [
        (1280, False, "en-US", "pdf"),
        (360, False, "ru-RU", "pdf-360-ru"),
        (360, True, "en-US", "pdf-360-dark"),
    ]:
        page, watch = open_watched(width=width, dark=dark, locale=locale)
        console: list[str] = []
        page.on("console", lambda message, lines=console: lines.append(message.text))
        response = page.goto(f"/s/{archive.slug}/files/0/")
        assert response is not None
        assert "worker-src 'self'" in response.headers["content-security-policy"]
        pdf_drawn(page, 1)
        # PDF.js's worker runs (it falls back to the page's thread with this warning).
        assert not [line for line in console if "fake worker" in line], console
        count, color = page.evaluate(CANVAS_INK)
        # The page's picture, not a blank canvas: most of the page is its colour.
        assert count > 10_000 and near(color, red), (count, color)
        status = page.locator("[data-pdf-status]").inner_text()
        assert status == ("Страница 1 из 2" if locale == "ru-RU" else "Page 1 of 2")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"preview-{name}")
        if width == 1280:
            page.locator("[data-pdf-next]").click()
            pdf_drawn(page, 2)
            assert near(page.evaluate(CANVAS_INK)[1], green)
            assert page.locator("[data-pdf-next]").is_disabled()
            wide = page.evaluate("document.querySelector('[data-pdf-canvas]').clientWidth")
            page.locator("[data-pdf-zoom-in]").click()
            pdf_drawn(page, 2)
            assert page.evaluate("document.querySelector('[data-pdf-canvas]').clientWidth") > wide
            shot(page, "preview-pdf-page-2-zoomed")
            # The keyboard turns pages too, from the focused page.
            page.locator(".file-pdf-page").focus()
            page.keyboard.press("ArrowLeft")
            pdf_drawn(page, 1)
            assert near(page.evaluate(CANVAS_INK)[1], red)
        # The bytes came from /raw in one GET; the worker from this site.
        raws = [url for url in watch.urls if url.endswith("/files/0/raw")]
        assert len(raws) == 1, watch.urls
        assert any(url.endswith("pdf.worker.min.mjs") for url in watch.urls)
        assert watch.errors == [] and watch.dialogs == []


def test_a_pdf_of_a_share_with_a_password_is_drawn_once_unlocked(
    make_archive: Callable[..., Archive], open_watched: Callable[..., tuple[Page, PageWatch]]
) -> None:
    archive = make_archive({"report.pdf": pdf_pages((200, 60, 60))}, password="open sesame")
    page, watch = open_watched()
    # Locked: the preview is the share page's password form, and /raw is refused.
    page.goto(f"/s/{archive.slug}/files/0/")
    assert page.locator("[data-pdf-viewer]").count() == 0
    assert page.request.get(f"/s/{archive.slug}/files/0/raw").status == 401

    page.get_by_label("Password").fill("open sesame")
    page.get_by_role("button", name="Unlock").click()
    page.wait_for_load_state()
    page.goto(f"/s/{archive.slug}/files/0/")
    # PDF.js's own request of /raw carries the unlocked session.
    pdf_drawn(page, 1)
    assert near(page.evaluate(CANVAS_INK)[1], (200, 60, 60))
    assert watch.dialogs == []


def test_a_pdf_with_javascript_runs_no_script(
    make_archive: Callable[..., Archive], open_watched: Callable[..., tuple[Page, PageWatch]]
) -> None:
    archive = make_archive({"form.pdf": pdf_with_script()}, name="Form")
    assert archive.files.get().preview == "pdf"
    page, watch = open_watched()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"/s/{archive.slug}/files/0/")
    pdf_drawn(page, 1)
    count, color = page.evaluate(CANVAS_INK)
    assert count > 1_000 and near(color, (0, 0, 255)), (count, color)
    page.wait_for_timeout(500)
    shot(page, "preview-pdf-with-script")
    assert watch.dialogs == []
    assert not [line for line in console if "pdf-script-ran" in line]
    assert watch.errors == []


def test_a_pdf_without_its_fonts_is_drawn_with_those_of_pdf_js(
    make_archive: Callable[..., Archive], open_watched: Callable[..., tuple[Page, PageWatch]]
) -> None:
    archive = make_archive({"letter.pdf": pdf_with_unembedded_fonts()}, name="Letter")
    page, watch = open_watched()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"/s/{archive.slug}/files/0/")
    pdf_drawn(page, 1)
    count, _color = page.evaluate(CANVAS_INK)
    assert count > 1_000, count
    shot(page, "preview-pdf-unembedded-fonts")
    # The CMap of the Japanese line and the Dingbats font, both from this site.
    fetched = [url.rsplit("/", 2)[-2:] for url in watch.urls if "/vendor/pdfjs-dist/" in url]
    assert ["cmaps", "UniJIS-UCS2-H.bcmap"] in fetched, watch.urls
    assert ["standard_fonts", "FoxitDingbats.pfb"] in fetched, watch.urls
    # PDF.js warns of nothing else it lacked (a machine without a Japanese font is told so).
    lacking = [line for line in console if "Warning" in line and "system font" not in line]
    assert lacking == [], console
    assert watch.errors == []


@pytest.mark.parametrize(
    ("name", "kind", "content_type"),
    [("tone.wav", "audio", "audio/wav"), ("clip.webm", "video", "video/webm")],
)
def test_audio_and_video_previews_play(
    make_archive: Callable[..., Archive],
    open_watched: Callable[..., tuple[Page, PageWatch]],
    browser: Browser,
    name: str,
    kind: str,
    content_type: str,
) -> None:
    data = wav_tone() if kind == "audio" else webm_clip(browser)
    archive = make_archive({name: data}, name="Media")
    member = archive.files.get()
    assert (member.preview, member.content_type) == (kind, content_type)
    page, watch = open_watched()
    raws: list[tuple[int, str, str | None]] = []

    def answered(response: Response) -> None:
        if response.url.endswith("/files/0/raw"):
            sent = response.request.headers.get("range")
            raws.append((response.status, response.headers["content-type"], sent))

    page.on("response", answered)

    page.goto(f"/s/{archive.slug}/files/0/")
    page.locator("h1").click()  # a user's click: the page may play sound
    state = page.evaluate(PLAY, kind)
    assert state == {"ready": state["ready"], "paused": False, "error": None}
    assert state["ready"] >= 2  # HAVE_CURRENT_DATA at least
    wait_until(page, f"document.querySelector('{kind}').currentTime > 0.5")
    if kind == "video":
        assert page.evaluate("document.querySelector('video').videoWidth") == 320
    page.evaluate(f"document.querySelector('{kind}').pause()")
    shot(page, f"preview-{kind}-playing")
    # The player read /raw by ranges, answered 206 with the sniffed type.
    assert raws and all(status == 206 and sent for status, _, sent in raws), raws
    assert {kind_ for _, kind_, _ in raws} == {content_type}
    assert watch.errors == [] and watch.dialogs == []


def test_a_pdf_that_cannot_be_read_says_so_and_offers_its_download(
    make_archive: Callable[..., Archive], open_watched: Callable[..., tuple[Page, PageWatch]]
) -> None:
    broken = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    archive = make_archive({"broken.pdf": broken}, name="Broken")
    page, watch = open_watched(width=360, locale="ru-RU")

    page.goto(f"/s/{archive.slug}/files/0/")
    wait_until(page, "document.querySelector('[data-pdf-viewer]').dataset.pdfState === 'failed'")

    assert page.locator("[data-pdf-error]").is_visible()
    assert page.locator("[data-pdf-error]").inner_text().startswith("Этот PDF нельзя")
    assert page.locator("[data-pdf-canvas]").is_hidden()
    assert page.locator("[data-pdf-next]").is_hidden()
    assert page.locator("[data-file-download]").is_visible()
    shot(page, "preview-pdf-broken-360-ru")
    assert watch.errors == [] and watch.dialogs == []
