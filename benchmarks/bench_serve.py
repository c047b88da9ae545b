"""Serving figures for `cqbot serve`: cold start, warm latency, throughput under concurrency, memory.

Run from the repository root (localhost only; the index is brought up to date first):

    .venv/bin/python benchmarks/bench_serve.py [--questions 50] [--per-level 128] [--levels 8 32]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUESTION_FILES = sorted((ROOT / "eval").glob("*questions*.jsonl"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of the process and its children, in MiB (psutil if installed, else /proc)."""
    try:
        import psutil

        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / 2**20
    except ImportError:
        pids = [pid]
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            pids += [int(c) for c in children.read_text().split()]
        total_kb = 0
        for p in pids:
            status = Path(f"/proc/{p}/status")
            if status.exists():
                m = re.search(r"^VmRSS:\s+(\d+) kB", status.read_text(), re.MULTILINE)
                total_kb += int(m.group(1)) if m else 0
        return total_kb / 1024


class PeakRss:
    """Samples the server's RSS every 0.2 s in a thread; `.peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def load_questions(n: int) -> list[str]:
    questions: list[str] = []
    for path in QUESTION_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line)["question"] not in questions:
                questions.append(json.loads(line)["question"])
    if not questions:
        raise SystemExit("no questions found in eval/*questions*.jsonl")
    return (questions * (n // len(questions) + 1))[:n]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def drain(proc: subprocess.Popen[str]) -> None:
    for _line in proc.stdout or ():
        pass


def start_server(cmd: list[str]) -> tuple[subprocess.Popen[str], str, float, bool, list[str]]:
    """Start `cqbot serve`; wait for its URL. Returns process, URL, seconds to ready, whether it built."""
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "cqbot is ready: " in line:
                url = line.split("cqbot is ready: ")[1].split()[0]
                threading.Thread(target=drain, args=(proc,), daemon=True).start()  # keep its pipe flowing
                built = any("Building the index first" in x for x in lines)
                return proc, url, time.perf_counter() - t0, built, lines
    except BaseException:
        proc.terminate()
        raise
    proc.wait()
    raise SystemExit("cqbot serve exited before it was ready:\n" + "".join(lines[-30:]))


def timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    t0 = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - t0


def concurrent_run(url: str, questions: list[str], clients: int, total: int) -> dict[str, float]:
    """`total` questions spread over `clients` concurrent API clients; replies per second and latencies."""
    from gradio_client import Client

    pool = [Client(url, verbose=False) for _ in range(clients)]
    work = [(pool[i % clients], questions[i % len(questions)]) for i in range(total)]
    errors = 0

    def one(item: tuple[Any, str]) -> float:
        nonlocal errors
        client, question = item
        try:
            return timed(client.predict, question, api_name="/chat")
        except Exception:
            errors += 1
            return float("nan")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as ex:
        latencies = [x for x in ex.map(one, work) if x == x]
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "requests": total,
        "errors": errors,
        "seconds": round(wall, 2),
        "replies_per_s": round(len(latencies) / wall, 2),
        "p50_s": round(statistics.median(latencies), 3) if latencies else float("nan"),
        "p95_s": round(percentile(latencies, 95), 3) if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=50, help="warm sequential questions (default 50)")
    parser.add_argument("--levels", type=int, nargs="+", default=[8, 32], help="concurrent clients")
    parser.add_argument("--per-level", type=int, default=128, help="requests per concurrency level")
    parser.add_argument("--no-prebuild", action="store_true", help="let serve build a stale index (timed)")
    args = parser.parse_args()

    from gradio_client import Client

    cqbot = [sys.executable, "-m", "cqbot"]
    if not args.no_prebuild:
        subprocess.run([*cqbot, "build", "-q"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    questions = load_questions(args.questions)
    port = free_port()
    t0 = time.perf_counter()
    proc, url, ready_s, built, _ = start_server([*cqbot, "serve", "--host", "127.0.0.1", "--port", str(port)])
    try:
        client = Client(url, verbose=False)
        first = client.predict(questions[0], api_name="/chat")
        first_s = time.perf_counter() - t0
        idle_rss = rss_mb(proc.pid)
        print(f"server: {url} (pid {proc.pid}); {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} CPUs; index built during start: {built}")  # fmt: skip
        print(f"cold start: ready after {ready_s:.1f} s, first answer after {first_s:.1f} s "
              f"(answered={first['answered']})")  # fmt: skip
        print(f"RSS after first answer: {idle_rss:.0f} MiB")

        with PeakRss(proc.pid) as sequential_peak:
            latencies = [timed(client.predict, q, api_name="/chat") for q in questions]
        warm = {
            "n": len(latencies),
            "p50_s": round(statistics.median(latencies), 3),
            "p95_s": round(percentile(latencies, 95), 3),
            "mean_s": round(statistics.mean(latencies), 3),
        }
        print(f"warm latency over {warm['n']} questions: p50 {warm['p50_s']:.3f} s, "
              f"p95 {warm['p95_s']:.3f} s, mean {warm['mean_s']:.3f} s; "
              f"peak RSS {sequential_peak.peak:.0f} MiB")  # fmt: skip

        levels = []
        for clients in args.levels:
            with PeakRss(proc.pid) as peak:
                result = concurrent_run(url, questions, clients, args.per_level)
            result["peak_rss_mib"] = round(peak.peak)
            levels.append(result)
            print(f"{clients:>3} clients x {args.per_level} requests: "
                  f"{result['replies_per_s']:.2f} replies/s, "
                  f"p50 {result['p50_s']:.2f} s, p95 {result['p95_s']:.2f} s, errors {result['errors']}, "
                  f"peak RSS {result['peak_rss_mib']} MiB")  # fmt: skip
        print(json.dumps({
            "cold_start": {"ready_s": round(ready_s, 2), "first_answer_s": round(first_s, 2), "built": built},
            "rss_after_first_answer_mib": round(idle_rss),
            "warm": warm,
            "concurrency": levels,
        }))  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
