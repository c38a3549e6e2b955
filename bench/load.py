"""The load generator of `make bench`: its own process, so it never shares a GIL with the
line. Reads one job as JSON on stdin, plays it, writes the timings as JSON on stdout.

Every request is signed before the clock starts; each of `threads` threads plays whole
intakes (caller after caller, each caller's texts in order) over plain sockets, one
connection per request as gunicorn's sync workers want. With `rate` set, requests leave
on a fixed schedule (rate per second across all threads) instead of as fast as answered.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.infra import signing
from intake.simulator import phone as simulator


def raw_request(host: str, path: str, params: dict[str, str], signature: str) -> bytes:
    body = urlencode(params).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n{signing.SIGNATURE_HEADER}: {signature}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def prepare(job: dict) -> list[list[tuple[int, bytes]]]:
    """Each caller's requests, signed for the job's path: [(text index, bytes), ...]."""
    host = urlsplit(job["base"]).netloc
    url = signing.public_url(job["public_base"], job["path"])
    plays = []
    for caller in job["callers"]:
        requests = []
        for n, body in enumerate(job["texts"]):
            params = simulator.sms_params(caller, body)
            signature = signing.sign(job["token"], url, params)
            requests.append((n, raw_request(host, job["path"], params, signature)))
        plays.append(requests)
    return plays


def send(address: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(address) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


class Pacer:
    """Hands out send times `1/rate` apart (no pacing without a rate)."""

    def __init__(self, rate: float | None):
        self.rate, self.count, self.lock = rate, 0, threading.Lock()
        self.start = time.perf_counter()

    def wait(self) -> None:
        if not self.rate:
            return
        with self.lock:
            slot = self.start + self.count / self.rate
            self.count += 1
        delay = slot - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def run(job: dict) -> dict:
    plays = prepare(job)
    parts = urlsplit(job["base"])
    address = (parts.hostname, parts.port)
    timings: list[tuple[int, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    pending = iter(plays)

    def worker() -> None:
        while True:
            with lock:
                requests = next(pending, None)
            if requests is None:
                return
            for n, request in requests:
                pacer.wait()
                started = time.perf_counter()
                answer = send(address, request)
                seconds = time.perf_counter() - started
                ok = answer.startswith(b"HTTP/1.1 200") and b"<Response" in answer
                with lock:
                    timings.append((n, seconds))
                    if not ok:
                        errors.append(answer[:80].decode(errors="replace"))

    pacer = Pacer(job.get("rate"))
    threads = [threading.Thread(target=worker) for _ in range(job["threads"])]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "elapsed": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,  # this process's CPU while the clock ran
        "timings": timings,
        "errors": errors,
    }


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
