"""What reading a reply costs: lingua's memory and time, and flows.read.read per text.

    python bench/reading.py

Prints the process's resident memory before and after building the English+Spanish
language detector (once per process: intake/core/line.py builds it at start), the build time,
the mean time of one detection and of one whole reading (flows.read.read) over the
conversation corpus's texts (tests/corpus/conversations).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    """This process's resident memory, from /proc (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from flows.read import read
    from intake.core.words import vocabulary
    from tests.corpus.corpus import load

    vocab = vocabulary()
    texts = [turn.text for c in load() for turn in c.turns]
    before = rss_mb()
    start = time.perf_counter()
    from flows import language

    language.confidences("hola")
    built = time.perf_counter() - start
    after = rss_mb()
    start = time.perf_counter()
    for text in texts:
        language.confidences(text)
    detect = (time.perf_counter() - start) / len(texts)
    start = time.perf_counter()
    for text in texts:
        read(vocab, "last_seen_where", text, language.confidences)
    reading = (time.perf_counter() - start) / len(texts)
    print(f"lingua en+es detector: +{after - before:.1f} MB resident ({before:.1f} -> {after:.1f})")
    print(f"built and warmed in {built * 1000:.0f} ms (once per process)")
    print(
        f"one detection: {detect * 1000:.3f} ms; one reading (flows.read.read): "
        f"{reading * 1000:.3f} ms (means over {len(texts)} corpus texts)"
    )


if __name__ == "__main__":
    main()
