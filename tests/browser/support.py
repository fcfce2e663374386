"""What the browser tests share: how Chromium is started, what every page is checked for,
and small helpers. The fixtures (``browser``, ``open_page``) are in tests/conftest.py."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from accounts.models import User

BASE_DIR = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = BASE_DIR / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost"}
TIMEOUT = 30_000
# Records every value the progress bars take, so a test can tell that it moved.
PROGRESS_RECORDER = """
window.__progress = {upload: [], build: []};
document.addEventListener("DOMContentLoaded", function () {
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      var node = record.target;
      var value = Number(node.getAttribute("aria-valuenow"));
      if (node.matches("[data-upload-progress]")) { window.__progress.upload.push(value); }
      if (node.matches("[data-build-progress]")) { window.__progress.build.push(value); }
    });
  }).observe(document.body, {attributes: true, subtree: true, attributeFilter: ["aria-valuenow"]});
});
"""


class PageWatch:
    """What a page did: every request's URL, script errors and CSP reports, dialogs."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        # A refusal page arrives with its 4xx status, which Chromium logs as a failed
        # resource; that is the point of those pages, not an error of theirs.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def foreign_hosts(self) -> set[str]:
        hosts = set()
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme in {"data", "blob", "about"}:
                continue
            hosts.add(parts.hostname or url)
        return hosts - LOOPBACK


# A dropped folder as Chromium hands it over: entries of the File and Directory Entries
# API, read in batches (a test cannot make the browser's own drag of a real folder).
DROP_FOLDER = """
(tree) => {
  function fileEntry(path, text) {
    return {isFile: true, isDirectory: false, fullPath: "/" + path,
            file: (ok) => ok(new File([text], path.split("/").pop()))};
  }
  function dirEntry(path, children) {
    return {isFile: false, isDirectory: true, fullPath: "/" + path,
            createReader: () => {
              const batches = [children.slice(0, 1), children.slice(1), []];
              return {readEntries: (ok) => ok(batches.shift())};
            }};
  }
  function build(path, node) {
    if (typeof node === "string") { return fileEntry(path, node); }
    return dirEntry(path, Object.keys(node).map((name) => build(path + "/" + name, node[name])));
  }
  const top = Object.keys(tree)[0];
  const transfer = {
    files: [],
    items: [{kind: "file", webkitGetAsEntry: () => build(top, tree[top]), getAsFile: () => null}],
  };
  const drop = new Event("drop", {bubbles: true, cancelable: true});
  Object.defineProperty(drop, "dataTransfer", {value: transfer});
  document.querySelector("[data-drop-zone]").dispatchEvent(drop);
}
"""


def wait_until(page: Page, expression: str, *, timeout: float = TIMEOUT / 1000) -> None:
    """Poll ``expression`` in the page until it is true (``wait_for_function`` would need
    ``eval``, which the pages' Content-Security-Policy forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)


def fits(page: Page, width: int) -> bool:
    """Whether the page is no wider than ``width`` (nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth") <= width


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, user: User, password: str) -> None:
    page.goto(reverse("accounts:login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def zip_members(path: str | Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}
