"""What a share shows beyond its name and size: the sha256 of the ZIP and of each member.

A hash lets anyone confirm a guessed content offline, so on a share with a password it is
a secret of the same kind as the files (DESIGN section 10): only someone who may download
sees it. ``may_see_hashes`` is the one rule the share page and the share API obey.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sharing.downloads import check_reserved_guess, holds_unlock, reserve_guess

if TYPE_CHECKING:
    from datetime import datetime

    from sharing.downloads import Share


def may_see_hashes(
    share: Share,
    *,
    viewer_id: object | None,
    password: str | None,
    unlocked: str | None,
    client: str,
    now: datetime,
) -> bool:
    """Whether the viewer may see the hashes of ``share``: always on a share without a
    password; else to the archive's owner (``viewer_id``, the signed-in user's id, or
    None), to a visitor holding the page's ``unlocked`` mark, or with the right
    ``password``.

    A password is a guess like one given for a download: reserved against the same
    throttle before it is checked, kept as a failure when wrong, and not checked at all
    while the client is throttled (then the answer is no).
    """
    if not share.password_hash:
        return True
    if viewer_id is not None and viewer_id == share.archive.owner.pk:
        return True
    if holds_unlock(share, unlocked):
        return True
    if not password or reserve_guess(share, client=client, now=now) is not None:
        return False
    return check_reserved_guess(share, password, client=client)
