"""The member-name sanitiser: a table of hostile names, then properties over any input."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archives.names import (
    FALLBACK_NAME,
    MAX_DEPTH,
    MAX_ORIGINAL_NAME,
    recordable_original,
    sanitize_name,
    unique_names,
)

WINDOWS_FORBIDDEN = set('<>:"|?*')
WINDOWS_DEVICES = re.compile(r"^(CON|PRN|AUX|NUL|COM\d|LPT\d)(\..*)?$", re.IGNORECASE)


def assert_safe(name: str) -> None:
    """Extracting ``name`` anywhere writes one file inside the target folder."""
    assert name, "empty name"
    assert not name.startswith("/")
    assert "\\" not in name
    segments = name.split("/")
    assert len(segments) <= MAX_DEPTH
    for segment in segments:
        assert segment not in {"", ".", ".."}, name
        assert len(segment.encode()) <= 255, name
        assert segment == segment.strip(), name
        assert not segment.endswith("."), name
        assert not WINDOWS_FORBIDDEN & set(segment), name
        assert not WINDOWS_DEVICES.match(segment), name
        assert not re.match(r"^[A-Za-z]:", segment), name
        for character in segment:
            assert unicodedata.category(character) not in {"Cc", "Cf", "Cs"}, name
    assert unicodedata.is_normalized("NFC", name)


def assert_extractable_together(names: list[str]) -> None:
    """Unique ignoring case, and no member is also the folder of another."""
    keys = [name.casefold() for name in names]
    assert len(set(keys)) == len(keys), names
    folders = {"/".join(key.split("/")[:i]) for key in keys for i in range(1, key.count("/") + 1)}
    assert not folders & set(keys), names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../x", "x"),
        ("../../../../etc/shadow", "etc/shadow"),
        ("/etc/passwd", "etc/passwd"),
        ("C:\\x", "x"),
        ("C:\\Windows\\System32\\evil.dll", "Windows/System32/evil.dll"),
        ("\\\\server\\share\\f.txt", "server/share/f.txt"),
        ("a/./b/../c.txt", "a/b/c.txt"),
        ("a\x00b.txt", "ab.txt"),
        ("line\nbreak\t.txt", "linebreak.txt"),
        ("\x1b[31mred", "[31mred"),
        ("del\x7f.txt", "del.txt"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ('what?<is>:this|"*.txt', "what__is__this___.txt"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("trailing dot.", "trailing dot"),
        ("  spaces  ", "spaces"),
        ("", FALLBACK_NAME),
        ("   ", FALLBACK_NAME),
        (".", FALLBACK_NAME),
        ("..", FALLBACK_NAME),
        ("....", FALLBACK_NAME),
        ("///", FALLBACK_NAME),
        ("/./../", FALLBACK_NAME),
        ("\\\\", FALLBACK_NAME),
        ("\x00\x01\x02", FALLBACK_NAME),
        ("Отчёт за март.txt", "Отчёт за март.txt"),
        ("日本語/ファイル.txt", "日本語/ファイル.txt"),
        ("e\u0301te\u0301.txt", "été.txt"),
    ],
)
def test_sanitize_name(raw: str, expected: str) -> None:
    assert sanitize_name(raw) == expected
    assert_safe(sanitize_name(raw))


@pytest.mark.parametrize(
    ("raw", "suffix"),
    [("x" * 300, ""), ("y" * 300 + ".txt", ".txt"), ("é" * 300 + ".tar.gz", ".gz")],
)
def test_long_names_are_cut_to_255_bytes_keeping_the_extension(raw: str, suffix: str) -> None:
    name = sanitize_name(raw)
    assert len(name.encode()) <= 255
    assert len(name.encode()) >= 250
    assert name.endswith(suffix)
    assert_safe(name)


def test_deep_folders_keep_the_last_levels() -> None:
    name = sanitize_name("/".join(f"d{i}" for i in range(100)) + "/f.txt")
    assert name.split("/")[-1] == "f.txt"
    assert len(name.split("/")) == MAX_DEPTH


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["a.txt", "a.txt", "a.txt"], ["a.txt", "a (1).txt", "a (2).txt"]),
        (["a.txt", "A.TXT", "a.Txt"], ["a.txt", "A (1).TXT", "a (2).Txt"]),
        (["", "", "..", "/"], ["file", "file (1)", "file (2)", "file (3)"]),
        (["../x", "/x", "C:\\x"], ["x", "x (1)", "x (2)"]),
        (["a (1).txt", "a.txt", "a.txt"], ["a (1).txt", "a.txt", "a (2).txt"]),
        (["archive.tar.gz", "archive.tar.gz"], ["archive.tar.gz", "archive.tar (1).gz"]),
        ([".bashrc", ".bashrc"], [".bashrc", ".bashrc (1)"]),
        (["dir/x", "dir"], ["dir/x", "dir (1)"]),
        (["Straße.txt", "STRASSE.txt"], ["Straße.txt", "STRASSE (1).txt"]),
    ],
)
def test_unique_names(raw: list[str], expected: list[str]) -> None:
    names = unique_names(raw)
    assert names == expected
    assert_extractable_together(names)


def test_numbered_long_duplicates_stay_within_255_bytes() -> None:
    names = unique_names(["x" * 300 + ".txt"] * 3)
    assert [name[-8:] for name in names] == ["xxxx.txt", "x (1).txt"[-8:], "x (2).txt"[-8:]]
    for name in names:
        assert_safe(name)
    assert_extractable_together(names)


def test_a_file_and_a_folder_of_the_same_name_both_get_a_place() -> None:
    names = unique_names(["a", "a/b"])
    assert_extractable_together(names)


# Any character but the two separators, so every name stays one file name; the property
# with folders is below.
file_names = st.text(
    alphabet=st.characters(blacklist_characters="/\\", blacklist_categories=("Cs",)),
    max_size=300,
)
hostile_names = st.one_of(
    file_names,
    st.sampled_from(["", ".", "..", "...", "CON", "nul.txt", "a.", " ", "\u202e", "\x00"]),
    st.text(alphabet="aA. ß\u0301e\u00e9", max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile_names, max_size=30))
def test_any_file_names_give_safe_unique_non_empty_names(raw: list[str]) -> None:
    names = unique_names(raw)
    assert len(names) == len(raw)
    for name in names:
        assert_safe(name)
    assert_extractable_together(names)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_path_sanitises_to_a_safe_name(raw: str) -> None:
    name = sanitize_name(raw)
    assert_safe(name)
    assert sanitize_name(name) == name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab/.", max_size=6), max_size=10))
def test_any_paths_give_safe_unique_non_empty_names(raw: list[str]) -> None:
    names = unique_names(raw)
    for name in names:
        assert_safe(name)
    assert_extractable_together(names)


def test_recorded_original_name_holds_no_nul_and_is_bounded() -> None:
    assert recordable_original("a\x00b.txt") == "a\ufffdb.txt"
    assert len(recordable_original("x" * 5000)) == MAX_ORIGINAL_NAME
    assert recordable_original("Отчёт/../../etc") == "Отчёт/../../etc"  # kept as sent
