"""Tests mirror the code: every module with logic has its test file beside its place.

``<app>/<module>.py`` is tested in ``tests/<app>/test_<module>.py``, and
``<app>/<package>/<module>.py`` in ``tests/<app>/<package>/test_<module>.py``. An API
package's serializers are tested through its views (``tests/<app>/api/test_views.py``),
or in ``test_serializers.py`` when they have logic worth testing on their own.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
APPS = ("config", "core", "accounts", "archives", "sharing", "inbox", "notifications", "resumable")

# Declaration-only modules: no logic of their own to test, or only a call to a function
# whose own test file covers it. A module with logic never belongs here.
EXEMPT = {
    # Django's declarations: app configs, URL tables, the admin's lists.
    "core/apps.py",
    "accounts/apps.py",
    "archives/apps.py",
    "sharing/apps.py",
    "notifications/apps.py",
    "resumable/apps.py",
    "inbox/apps.py",
    "inbox/urls.py",
    "inbox/api/urls.py",
    "config/urls.py",
    "accounts/urls.py",
    "accounts/api/urls.py",
    "accounts/api/key_urls.py",
    "archives/urls.py",
    "archives/api/urls.py",
    "sharing/urls.py",
    "sharing/api/urls.py",
    "notifications/urls.py",
    "notifications/api/urls.py",
    "resumable/api/urls.py",
    "accounts/admin.py",
    "archives/admin.py",
    # Models whose only methods are __str__ (notifications' random secret default is
    # checked where webhooks are created, in test_services).
    "core/models.py",
    "notifications/models.py",
    # The server's and the worker's entry points: settings read by gunicorn and Celery.
    "config/wsgi.py",
    "config/celery.py",
    # Management commands and tasks that call one service (tested in its own file).
    "archives/management/commands/index_members.py",
    "archives/management/commands/purge_expired.py",
    "archives/management/commands/requeue_stalled_builds.py",
    "resumable/management/commands/purge_expired_uploads.py",
    "accounts/tasks.py",
    "resumable/tasks.py",
    # A template tag that hands a setting to the page.
    "resumable/templatetags/tus.py",
}


def mirrored(module: Path) -> list[Path]:
    """The test files that may hold the tests of ``module`` (relative to the root)."""
    folder = TESTS / module.parent
    own = folder / f"test_{module.name}"
    if module.parent.name == "api" and module.name == "serializers.py":
        return [own, folder / "test_views.py"]
    return [own]


def modules_without_tests() -> list[str]:
    """Every module of the apps (package markers and migrations aside) that has no
    mirrored test file and is not exempt."""
    missing = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            module = path.relative_to(ROOT)
            # Package markers hold no logic; migrations are generated.
            if module.name == "__init__.py" or "migrations" in module.parts:
                continue
            if module.as_posix() in EXEMPT:
                continue
            if not any(candidate.exists() for candidate in mirrored(module)):
                missing.append(module.as_posix())
    return missing


def test_every_module_with_logic_has_its_mirrored_test_file() -> None:
    missing = modules_without_tests()

    assert missing == [], "no tests/<app>/test_<module>.py for: " + ", ".join(missing)


def test_every_exemption_names_a_module_that_exists() -> None:
    assert sorted(name for name in EXEMPT if not (ROOT / name).exists()) == []
