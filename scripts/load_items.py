"""Bounded local load test of one URL at a fixed request rate (open loop), 127.0.0.1 only.

Requests are *scheduled* at exactly ``--rate`` per second for ``--seconds`` (at most 60);
worker threads with keep-alive connections send them. Latency is measured from the
scheduled moment to the last byte, so a server that falls behind shows it in the
percentiles (no coordinated omission). Any status other than 200, a short read or a
connection error counts as an error.

    python scripts/load_items.py 'http://127.0.0.1:8000/api/collections/medical/items?bbox=...' \
        --rate 200 --seconds 30

With ``--closed N`` the test is a closed loop instead: N keep-alive connections each send
their next request as soon as the previous one is answered, for ``--seconds``; the
throughput (req/s) is what the server sustains and the latency is from sending to the
last byte. Several URLs (e.g. boxes over a country) are taken in turn (the open loop
sends the first only).

    python scripts/load_items.py URL [URL ...] --closed 8 --seconds 30

The client is Python threads: on a 2-core machine it shares the cores with the server,
so a closed-loop figure is a lower bound of what the server alone would sustain.
``scripts/load_items_wrk.lua`` runs the same closed loop with wrk (C, one event loop).

Prints figures, then as its LAST line JSON with rate (None in closed loop), sent, ok,
errors, achieved_rps, p50_ms, p90_ms, p99_ms, max_ms, mean_bytes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import threading
import time
import urllib.parse

import numpy as np


def fetch(
    conn: http.client.HTTPConnection | None, url: urllib.parse.SplitResult
) -> tuple[http.client.HTTPConnection | None, int, int]:
    """One GET on a keep-alive connection (opened when None): (connection to reuse or
    None, status or 0 on a connection error, bytes read)."""
    path = url.path + (f"?{url.query}" if url.query else "")
    try:
        if conn is None:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", path, headers={"Accept": "application/geo+json"})
        response = conn.getresponse()
        body = response.read()
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            return None, response.status, len(body)
        return conn, response.status, len(body)
    except (OSError, http.client.HTTPException):
        if conn is not None:
            conn.close()
        return None, 0, 0


def worker(
    url: urllib.parse.SplitResult, jobs: queue.Queue, results: list, lock: threading.Lock
) -> None:
    conn: http.client.HTTPConnection | None = None
    while True:
        scheduled = jobs.get()
        if scheduled is None:
            break
        conn, status, size = fetch(conn, url)
        done = time.perf_counter()
        with lock:
            results.append((scheduled, done, status, size))


def closed_worker(
    urls: list[urllib.parse.SplitResult],
    first: int,
    until: float,
    results: list,
    lock: threading.Lock,
) -> None:
    """Requests back to back on one keep-alive connection until ``until``."""
    conn: http.client.HTTPConnection | None = None
    k = first
    while time.perf_counter() < until:
        url = urls[k % len(urls)]
        k += 1
        sent = time.perf_counter()
        conn, status, size = fetch(conn, url)
        done = time.perf_counter()
        with lock:
            results.append((sent, done, status, size))


def run_closed(
    urls: list[urllib.parse.SplitResult], connections: int, seconds: float, warm_s: float
) -> tuple[list, float]:
    """The closed loop: (results, elapsed seconds), after ``warm_s`` seconds of the same
    loop that are not counted (every worker process answers a few first)."""
    lock = threading.Lock()

    def loop(results: list, duration: float) -> float:
        start = time.perf_counter()
        threads = [
            threading.Thread(
                target=closed_worker,
                args=(urls, i * 7, start + duration, results, lock),
                daemon=True,
            )
            for i in range(connections)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=duration + 30)
        return max((r[1] for r in results), default=start) - start

    if warm_s > 0:
        loop([], warm_s)
    results: list = []
    return results, loop(results, seconds)


def summarise(results: list, rate: float | None, seconds: float, elapsed: float) -> dict:
    ok = [r for r in results if r[2] == 200 and r[3] > 0]
    lat = np.array([(r[1] - r[0]) * 1000.0 for r in results]) if results else np.zeros(1)
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "achieved_rps": round(len(ok) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p90_ms": round(float(np.percentile(lat, 90)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "max_ms": round(float(lat.max()), 1),
        "mean_bytes": int(np.mean([r[3] for r in ok])) if ok else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="+", help="one or more URLs (taken in turn)")
    parser.add_argument(
        "--closed",
        type=int,
        default=0,
        metavar="N",
        help="closed loop: N connections, each sending as soon as answered (no --rate)",
    )
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration (at most 60)")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument(
        "--timeline", action="store_true", help="print the worst latency of each second"
    )
    parser.add_argument("--warmup", type=int, default=50, help="requests sent first, not counted")
    args = parser.parse_args()
    urls = [urllib.parse.urlsplit(u) for u in args.url]
    if any(u.hostname not in ("127.0.0.1", "localhost", "::1") for u in urls):
        parser.error("this load test only targets the local machine (127.0.0.1)")
    if not 0 < args.seconds <= 60:
        parser.error("--seconds must be within 0..60")
    if args.closed:
        if not 0 < args.closed <= 256:
            parser.error("--closed must be within 1..256")
        results, elapsed = run_closed(urls, args.closed, args.seconds, 2.0 if args.warmup else 0)
        summary = summarise(results, None, args.seconds, elapsed)
        print(
            f"closed loop, {args.closed} connections, {args.seconds:g} s: {summary['ok']} ok, "
            f"{summary['errors']} errors, {summary['achieved_rps']} req/s"
        )
        print(
            f"latency p50 {summary['p50_ms']} ms, p90 {summary['p90_ms']} ms, p99 "
            f"{summary['p99_ms']} ms, max {summary['max_ms']} ms; "
            f"{summary['mean_bytes']:,} bytes per response"
        )
        print(json.dumps(summary))
        return
    url = urls[0]

    jobs: queue.Queue = queue.Queue()
    results: list = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=worker, args=(url, jobs, results, lock), daemon=True)
        for _ in range(args.threads)
    ]
    for t in threads:
        t.start()
    for _ in range(args.warmup):
        jobs.put(time.perf_counter())
    while len(results) < args.warmup:
        time.sleep(0.01)
    with lock:
        results.clear()

    total = int(args.rate * args.seconds)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / args.rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put(due)
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(timeout=30)
    elapsed = max(r[1] for r in results) - start if results else 0.0

    if args.timeline:  # the worst latency of each second, to see stalls
        worst: dict[int, float] = {}
        for scheduled, done, _status, _size in results:
            second = int(scheduled - start)
            worst[second] = max(worst.get(second, 0.0), (done - scheduled) * 1000.0)
        print("worst latency per second (ms):", " ".join(f"{worst[s]:.0f}" for s in sorted(worst)))
    ok = [r for r in results if r[2] == 200 and r[3] > 0]
    lat = np.array([(r[1] - r[0]) * 1000.0 for r in results]) if results else np.zeros(1)
    summary = {
        "rate": args.rate,
        "seconds": args.seconds,
        "sent": total,
        "ok": len(ok),
        "errors": total - len(ok),
        "achieved_rps": round(len(ok) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p90_ms": round(float(np.percentile(lat, 90)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "max_ms": round(float(lat.max()), 1),
        "mean_bytes": int(np.mean([r[3] for r in ok])) if ok else 0,
    }
    print(
        f"{summary['sent']} requests at {args.rate:g}/s over {args.seconds:g} s: {summary['ok']} ok, {summary['errors']} errors"
    )
    print(
        f"latency p50 {summary['p50_ms']} ms, p90 {summary['p90_ms']} ms, p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms; {summary['mean_bytes']:,} bytes per response"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
