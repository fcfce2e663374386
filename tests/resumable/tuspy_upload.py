"""Sends one file to /api/uploads/ with tuspy, as a user's script would, and resumes it when
run again: the upload's URL is kept in a file (tuspy's FileStorage) and found again by the
file's fingerprint. Every PATCH carries ``Upload-Checksum``. Run by
tests/resumable/test_tus_client.py in processes of its own:

    python tests/resumable/tuspy_upload.py --endpoint URL --token KEY --file PATH
        --storage PATH --chunk-size BYTES --algorithm sha1|sha256
        [--stop-at BYTES] [--wrong-checksum]

One JSON line on stdout: the upload's URL, the offset it resumed from and where it stands,
or the status of the answer that stopped it (exit status 1).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

from tusclient.client import TusClient
from tusclient.exceptions import TusUploadFailed
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader import Uploader


def wrong_sha256(data: bytes) -> Any:
    """A sha256 of other bytes than those sent: the server must refuse the chunk."""
    return hashlib.sha256(data + b"!")


def uploader_class(algorithm: str, *, wrong: bool) -> type[Uploader]:
    """tuspy's Uploader with the checksum algorithm its class names (sha1 by default)."""
    pair = (algorithm, wrong_sha256 if wrong else getattr(hashlib, algorithm))
    return type("ChecksumUploader", (Uploader,), {"CHECKSUM_ALGORITHM_PAIR": pair})


def main() -> int:
    parser = argparse.ArgumentParser()
    for option in ("--endpoint", "--token", "--file", "--storage", "--algorithm"):
        parser.add_argument(option, required=True)
    parser.add_argument("--chunk-size", type=int, required=True)
    parser.add_argument("--stop-at", type=int)
    parser.add_argument("--wrong-checksum", action="store_true")
    args = parser.parse_args()

    client = TusClient(args.endpoint, headers={"Authorization": f"Token {args.token}"})
    storage = FileStorage(args.storage)
    upload_class = uploader_class(args.algorithm, wrong=args.wrong_checksum)
    uploader = upload_class(
        file_path=args.file,
        client=client,
        chunk_size=args.chunk_size,
        metadata={"filename": "film.bin", "relativePath": "films/film.bin"},
        store_url=True,
        url_storage=storage,
        upload_checksum=True,
    )
    # Found in the storage (and asked with HEAD) when an earlier run created the upload.
    resumed_at = uploader.offset if uploader.url else None
    try:
        uploader.upload(stop_at=args.stop_at)
    except TusUploadFailed as error:
        sys.stdout.write(json.dumps({"url": uploader.url, "status": error.status_code}) + "\n")
        return 1
    finally:
        storage.close()
    done = {"url": uploader.url, "resumed_at": resumed_at, "offset": uploader.offset}
    sys.stdout.write(json.dumps(done) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
