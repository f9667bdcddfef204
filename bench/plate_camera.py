"""Cameras for ``bench/plate_to_barrier.py``, in a process of their own as real cameras
are machines of their own (so their HTTP clients do not compete with the gate for its
interpreter). Each camera connects from its own loopback address (all of 127/8 is the
loopback on Linux), as each camera on a LAN has its own.

* ``one``: reads ``PORT CAMERA BODYFILE CONTENT-TYPE`` lines on stdin, posts that body
  as camera n and writes ``T0 STATUS`` back; T0 is ``time.monotonic()`` (CLOCK_MONOTONIC,
  the same clock in every process on Linux) just before it connects.
* ``burst PORT CAMERAS FOLDER``: on a line on stdin, every camera posts its bodies
  (``FOLDER/N-K.body``, content type in ``FOLDER/content-type``) at once, one thread
  each; prints a JSON list of statuses.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from pathlib import Path

TOKEN = "bench-camera-token-0123"


def source(n: int) -> str:
    """Camera n's own loopback address."""
    return f"127.0.{n // 250}.{n % 250 + 2}"


def post(port: int, camera: int, body: bytes, content_type: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                      source_address=(source(camera), 0))  # fmt: skip
    try:
        conn.request("POST", f"/anpr/cam{camera}?token={TOKEN}", body,
                     {"Content-Type": content_type})  # fmt: skip
        answer = conn.getresponse()
        answer.read()
        return answer.status
    except OSError:
        return 0  # refused at connect or reset: counted as such
    finally:
        conn.close()


def one() -> None:
    for line in sys.stdin:
        port, camera, path, content_type = line.rstrip("\n").split(" ", 3)
        body = Path(path).read_bytes()
        started = time.monotonic()
        status = post(int(port), int(camera), body, content_type)
        sys.stdout.write(f"{started} {status}\n")
        sys.stdout.flush()


def burst(port: int, cameras: int, folder: Path) -> None:
    content_type = (folder / "content-type").read_text()
    bodies = {
        n: [p.read_bytes() for p in sorted(folder.glob(f"{n}-*.body"))] for n in range(cameras)
    }
    statuses: list[int] = []
    lock = threading.Lock()
    go = threading.Barrier(cameras + 1)

    def camera(n: int) -> None:
        go.wait()
        mine = [post(port, n, body, content_type) for body in bodies[n]]
        with lock:
            statuses.extend(mine)

    threads = [threading.Thread(target=camera, args=(n,)) for n in range(cameras)]
    for thread in threads:
        thread.start()
    sys.stdin.readline()
    go.wait()
    for thread in threads:
        thread.join()
    print(json.dumps(statuses), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "one":
        one()
    else:
        burst(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
