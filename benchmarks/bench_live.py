"""Live index under load: while 8 clients ask, a document is added and `cqbot build` runs in another
process; prints how long after the build finished the new document was answered, and the errors.

Usage: python benchmarks/bench_live.py   (copies corpus/ and index/ to a temporary folder first)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cqbot.config import load_settings
from cqbot.live import LiveChatbot
from cqbot.pipeline import Chatbot

ROOT = Path(__file__).resolve().parents[1]
NEW_DOC = """---
id: port-fees-example
title: "Chongqing Guoyuan port: handling fees"
lang: en
---
The Guoyuan port in Chongqing charges 417 yuan for handling one twenty-foot container.
"""
QUESTION = "How much does the Guoyuan port charge for handling one twenty-foot container?"
CLIENTS = 8


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="cqbot-live-"))
    shutil.copytree(ROOT / "corpus", base / "corpus")
    shutil.copytree(ROOT / "index", base / "index")
    settings = load_settings(corpus_dir=base / "corpus", index_dir=base / "index")
    live = LiveChatbot(Chatbot.from_settings(settings))
    errors: list[str] = []
    asked = [0]
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                live.ask("Wie viele Unternehmen mit ausländischen Investitionen gibt es in Chongqing?")
                asked[0] += 1
            except Exception as exc:  # every failure is counted
                errors.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    (base / "corpus" / "port-fees.en.md").write_text(NEW_DOC, encoding="utf-8")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cqbot", "--corpus", str(base / "corpus"), "--index", str(base / "index"),
         "build", "-q"],
        check=True,
    )  # fmt: skip
    built = time.perf_counter()
    while True:
        answer = live.ask(QUESTION)
        if answer.citations and answer.citations[0].doc_id == "port-fees-example":
            break
        if time.perf_counter() - built > 60:
            errors.append("new document not answered within 60 s")
            break
        time.sleep(0.05)
    answered = time.perf_counter()
    stop.set()
    for t in threads:
        t.join()
    live.close()
    print(f"build (another process, incremental): {built - t0:.1f} s")
    print(f"new document answered {answered - built:.2f} s after the build finished")
    print(f"questions answered meanwhile by {CLIENTS} clients: {asked[0]}, errors: {len(errors)}")
    for e in errors[:5]:
        print("  ", e)
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
