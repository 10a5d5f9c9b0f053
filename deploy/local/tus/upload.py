#!/usr/bin/env python3
"""Uploads one file to a tus 1.0.0 server with the stock tuspy (1.x) client, for
Flowsvault's resumable-upload tests. The client is used as an application would use it:
TusClient with headers, its Uploader and its FileStorage; nothing in it is patched.

    python upload.py --endpoint URL --file PATH [--key fv_...] [options]

    --endpoint URL       the creation URL, e.g. http://127.0.0.1:8080/api/uploads (required)
    --file PATH          the file to upload (required)
    --key KEY            sent as "Authorization: Bearer KEY" on every request
    --header 'N: V'      one more header on every request (repeatable), e.g. a Cookie
    --chunk-size BYTES   the largest PATCH body (default: the rest of the file at once)
    --metadata K=V       one Upload-Metadata entry (repeatable); filename defaults to the
                         file's base name
    --stop-after BYTES   stop once the server has acknowledged at least BYTES (the chunk
                         size defaults to BYTES then); exit code 3
    --resume             continue the upload of this file recorded in the URL storage
                         (tuspy's store_url + FileStorage: HEAD for the offset, then PATCH)
    --url URL            continue this upload URL instead (HEAD, then PATCH)
    --url-storage PATH   tuspy's FileStorage (a TinyDB JSON file) shared by runs (default
                         $FLOWSVAULT_TUS_URL_STORAGE_PY, else
                         ~/.cache/flowsvault/tus/tuspy-urls.json)
    --checksum           send Upload-Checksum (sha1, the only algorithm tuspy has)
    --retries N          tuspy's retries: after a failed PATCH, HEAD and PATCH again (default 0)
    --retry-delay SECS   tuspy's retry_delay (default 1 here; tuspy's own default is 30)
    --timeout SECONDS    give up after this long (exit code 5; default: no limit)
    --verbose            one line per chunk on stderr

At the end one JSON line goes to stdout:
    {"url", "bytesSent", "offsetAtStart", "offset", "size", "created", "resumed", "stopped"}
bytesSent counts the bytes this run had acknowledged; offsetAtStart is the offset the run
started from (0 for a new upload, else the server's answer to the resuming HEAD). On
failure the line is {"error", "status", "body", "url", ...} instead.
Exit codes: 0 uploaded, 1 the upload failed, 2 bad arguments, 3 stopped by --stop-after,
4 --resume found no recorded upload for this file, 5 --timeout.
Every other message goes to stderr.
"""

import argparse
import json
import os
import re
import signal
import sys

from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError
from tusclient.fingerprint.fingerprint import Fingerprint
from tusclient.storage.filestorage import FileStorage

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 3
EXIT_NOTHING_TO_RESUME = 4
EXIT_TIMEOUT = 5


def usage_error(message):
    sys.stderr.write(f"upload.py: {message}\n(see the docstring at the top of upload.py)\n")
    sys.exit(EXIT_USAGE)


def byte_count(name, text, positive=False):
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]+", text):
        usage_error(f"--{name} needs a non-negative integer, not {text!r}")
    value = int(text)
    if positive and value == 0:
        usage_error(f"--{name} must be at least 1")
    return value


def parse_args():
    parser = argparse.ArgumentParser(
        prog="upload.py", description="Upload one file with tuspy.", allow_abbrev=False
    )
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--key")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--chunk-size")
    parser.add_argument("--metadata", action="append", default=[])
    parser.add_argument("--stop-after")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--url-storage")
    parser.add_argument("--checksum", action="store_true")
    parser.add_argument("--retries", default="0")
    parser.add_argument("--retry-delay", default="1")
    parser.add_argument("--timeout")
    parser.add_argument("--verbose", action="store_true")
    # Bad arguments make argparse exit with 2, the same code as usage_error.
    return parser.parse_args()


class Run:
    """What this run observed, for the result line."""

    def __init__(self, size):
        self.size = size
        self.url = None
        self.bytes_sent = 0
        self.offset_at_start = 0
        self.offset = 0
        self.created = False
        self.resumed = False
        self.stopped = False

    def finish(self, code, **extra):
        line = {
            "url": self.url,
            "bytesSent": self.bytes_sent,
            "offsetAtStart": self.offset_at_start,
            "offset": self.offset,
            "size": self.size,
            "created": self.created,
            "resumed": self.resumed,
            "stopped": self.stopped,
        }
        line.update(extra)
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        sys.exit(code)

    def fail(self, error):
        status = getattr(error, "status_code", None)
        body = getattr(error, "response_content", None)
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        message = str(error) or type(error).__name__
        self.finish(EXIT_FAILED, error=message, status=status, body=body)


def main():
    args = parse_args()

    path = os.path.abspath(args.file)
    if not os.path.isfile(path):
        usage_error(f"{path} is not a readable regular file")
    size = os.path.getsize(path)

    stop_after = byte_count("stop-after", args.stop_after)
    chunk_size = byte_count("chunk-size", args.chunk_size, positive=True)
    if chunk_size is None and stop_after:
        chunk_size = stop_after
    retries = byte_count("retries", args.retries)
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", args.retry_delay):
        usage_error(f"--retry-delay needs seconds, not {args.retry_delay!r}")
    retry_delay = float(args.retry_delay)

    headers = {}
    if args.key is not None:
        headers["Authorization"] = f"Bearer {args.key}"
    for line in args.header:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            usage_error(f'--header needs "Name: value", not {line!r}')
        headers[name.strip()] = value.strip()

    metadata = {}
    for pair in args.metadata:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            usage_error(f"--metadata needs key=value, not {pair!r}")
        if re.search(r"[\s,]", key):
            usage_error(f"metadata key {key!r} has a space or comma")
        metadata[key] = value
    metadata.setdefault("filename", os.path.basename(path))

    storage_path = os.path.abspath(
        args.url_storage
        or os.environ.get("FLOWSVAULT_TUS_URL_STORAGE_PY")
        or os.path.join(os.path.expanduser("~"), ".cache", "flowsvault", "tus", "tuspy-urls.json")
    )
    os.makedirs(os.path.dirname(storage_path), exist_ok=True)
    storage = FileStorage(storage_path)

    run = Run(size)

    if args.timeout is not None:
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", args.timeout) or float(args.timeout) <= 0:
            usage_error(f"--timeout needs a positive number of seconds, not {args.timeout!r}")

        def on_alarm(_signum, _frame):
            run.finish(EXIT_TIMEOUT, error=f"timed out after {args.timeout} s")

        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(args.timeout))

    def note(message):
        if args.verbose:
            sys.stderr.write(f"upload.py: {message}\n")

    # tuspy's key for the URL storage: the size and the MD5 of the first 64 KiB.
    with open(path, "rb") as stream:
        fingerprint = Fingerprint().get_fingerprint(stream)

    if args.url is None and not args.resume:
        # A new upload: forget what an earlier run of the same content left, or tuspy's
        # store_url would resume that instead of creating a new one.
        storage.remove_item(fingerprint)
    elif args.url is None and storage.get_item(fingerprint) is None:
        run.finish(
            EXIT_NOTHING_TO_RESUME,
            error=f"no upload of {path} is recorded in {storage_path}",
        )

    run.url = args.url or storage.get_item(fingerprint)
    client = TusClient(args.endpoint, headers=headers)
    try:
        # With a URL (given, or found in the storage), the constructor sends the HEAD
        # and takes the server's Upload-Offset as its offset.
        uploader = client.uploader(
            file_path=path,
            url=args.url,
            chunk_size=chunk_size if chunk_size is not None else sys.maxsize,
            metadata=metadata,
            retries=retries,
            retry_delay=retry_delay,
            store_url=True,
            url_storage=storage,
            upload_checksum=args.checksum,
        )
        run.url = uploader.url
        if uploader.url:
            run.resumed = True
            run.offset_at_start = run.offset = uploader.offset
            note(f"resuming {uploader.url} at offset {uploader.offset}")
        else:
            # What Uploader.upload() does first: POST, then start at 0 (an empty file
            # needs nothing more).
            uploader.set_url(uploader.create_url())
            uploader.offset = 0
            run.url = uploader.url
            run.created = True
            note(f"created {uploader.url}")

        while uploader.offset < size:
            before = uploader.offset
            uploader.upload_chunk()
            run.bytes_sent += uploader.offset - before
            run.offset = uploader.offset
            note(f"PATCH at {before} acknowledged, offset now {uploader.offset}")
            if stop_after is not None and stop_after <= uploader.offset < size:
                run.stopped = True
                note(f"stopping after {uploader.offset} acknowledged bytes (--stop-after {stop_after})")
                run.finish(EXIT_STOPPED)
    except TusCommunicationError as error:
        run.fail(error)
    except (TypeError, ValueError) as error:
        # e.g. a PATCH answered 2xx without Upload-Offset: int(None) inside tuspy.
        run.fail(error)

    run.offset = size
    storage.remove_item(fingerprint)
    run.finish(0)


if __name__ == "__main__":
    main()
