from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from core.bodies import BodyGuard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Slow request bodies, and too many at once from one address, are refused around Django.
application = BodyGuard(get_wsgi_application())
