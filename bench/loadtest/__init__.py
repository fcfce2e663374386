"""`make loadtest`: several web and worker processes behind nginx on PostgreSQL, Redis and
an S3 server (moto's), under a mixed Locust workload, then the promises checked from the
database and the bucket (DESIGN §15). Outside the app layers, like the rest of bench/."""
