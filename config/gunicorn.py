"""gunicorn settings for ``make run`` and the web image, from the environment.

Threads, not processes, carry the concurrency: a download is a ``sendfile`` call that
blocks one thread and no CPU, so many slow downloads cannot starve the API.
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
from pathlib import Path

from config.local_state import prepare_local_state

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "128"))
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))
graceful_timeout = 20
keepalive = 5
accesslog = "-" if os.environ.get("WEB_ACCESS_LOG", "") in {"1", "true"} else None
errorlog = "-"
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
# The control socket would sit at one path per user ($HOME/.gunicorn/gunicorn.ctl), shared
# by every instance on the machine (make run, the tests' servers, the bench's); nothing
# here uses it.
control_socket_disable = True
# sendfile stays on by gunicorn's default: setting ``sendfile`` here, even to True, turns
# it off (the setting exists to disable it).


# How long a thread may hold the GIL while others wait for it (Python's default is 5 ms).
# A request that waits on the database or a socket needs the GIL back after each wait;
# behind a thread that parses a large upload it would wait that long each time, and a
# page that waits ten times, ten times as long.
SWITCH_INTERVAL = float(os.environ.get("WEB_SWITCH_INTERVAL_MS", "1")) / 1000


def on_starting(server: object) -> None:
    """The web server's own start: what var/ must hold exists before a worker loads the
    settings (the image starts gunicorn without ``manage.py``)."""
    prepare_local_state()


def post_fork(server: object, worker: object) -> None:
    """Each web process hands the GIL on after ``SWITCH_INTERVAL``."""
    sys.setswitchinterval(SWITCH_INTERVAL)


# What a web process keeps for good is loaded by then: the app at start, and what its
# first requests load lazily (the S3 client, templates, URL patterns, translations).
WARM_REQUESTS = 200
# Requests served by this process, counted from 1 (one atomic step per thread).
_served = itertools.count(1)


def post_request(worker: object, request: object, environ: object, response: object) -> None:
    """After a web process's first ``WARM_REQUESTS`` requests, what it holds lives as long
    as the process: the garbage collector stops scanning it (``gc.freeze``). A full
    collection then looks only at what later requests made, and pauses every thread of the
    process for that long only (a fraction of the time, with a bucket's client loaded).
    What requests in flight at that moment held stays too, once."""
    if next(_served) == WARM_REQUESTS:
        gc.freeze()
