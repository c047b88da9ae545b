"""Throughput of the chat server at 1, 8 and 32 concurrent clients, measured with one light asyncio HTTP
client (httpx), not one Python client per connection: Gradio's REST API (POST /gradio_api/call/chat, then
its event stream) against cqbot's own POST /api/ask.

Usage: python benchmarks/bench_throughput.py [--seconds 20] [--levels 1 8 32]
(serves the repository's index on a free localhost port in a subprocess; run `cqbot build` first)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    json.loads(line)["question"]
    for line in (ROOT / "eval" / "tuning.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def via_gradio(client: httpx.AsyncClient, url: str, question: str) -> bool:
    start = await client.post(url + "gradio_api/call/chat", json={"data": [question, []]})
    event = start.json()["event_id"]
    async with client.stream("GET", url + f"gradio_api/call/chat/{event}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event: complete"):
                return True
            if line.startswith("event: error"):
                return False
    return False


async def via_rest(client: httpx.AsyncClient, url: str, question: str) -> bool:
    reply = await client.post(url + "api/ask", json={"question": question})
    return reply.status_code == 200 and "answered" in reply.json()


async def level(route: str, url: str, clients: int, seconds: float) -> dict[str, float]:
    call = via_gradio if route == "gradio" else via_rest
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def worker(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                ok = await call(client, url, QUESTIONS[i % len(QUESTIONS)])
                latencies.append(time.perf_counter() - t0)
                errors += not ok
                i += clients

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "answers": len(latencies),
        "per_s": len(latencies) / wall,
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cqbot", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if "cqbot is ready" in line:
                break
        url = f"http://127.0.0.1:{port}/"
        print(
            f"{'route':<8} {'clients':>7} {'answers':>8} {'per s':>7} {'p50 s':>7} {'p95 s':>7} {'errors':>6}"
        )
        for route in ("gradio", "rest"):
            for clients in args.levels:
                r = asyncio.run(level(route, url, clients, args.seconds))
                print(
                    f"{route:<8} {clients:>7} {r['answers']:>8} {r['per_s']:>7.1f} {r['p50']:>7.3f} "
                    f"{r['p95']:>7.3f} {r['errors']:>6}",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
