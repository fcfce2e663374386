"""How passwords are stored: account passwords, share passwords, upload-request passwords.

Argon2id, with the first setting OWASP's password storage cheat sheet recommends
(19 MiB of memory, 2 passes, 1 lane). Being memory-hard, it costs a cracker with GPUs more
than PBKDF2 does, for about a twelfth of PBKDF2's CPU time at Django's 1,000,000
iterations (18 ms against 225 ms on a 2-core server): a sign-in, a token or a share
password no longer holds a core for a quarter of a second while the other requests wait.

Each hash holds its memory while it runs, so a web process hashes at most
``CONCURRENT_HASHES`` passwords at once and the others wait their turn: a flood of sign-ins
queues instead of taking ``WEB_THREADS`` times 19 MiB. Hashes made before (PBKDF2) are
still checked, and Django stores the password again with this hasher at the next
successful sign-in.
"""

from __future__ import annotations

import threading

from django.contrib.auth.hashers import Argon2PasswordHasher

# More than the cores a web process gets would not hash faster, only use more memory.
CONCURRENT_HASHES = 4


class Argon2idHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    slots = threading.BoundedSemaphore(CONCURRENT_HASHES)

    def encode(self, password: str, salt: str) -> str:
        with self.slots:
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with self.slots:
            return super().verify(password, encoded)
