"""What the spool costs a text answered from memory: `Spool.put` (Fernet, then one SQLite
INSERT committed with fsync in WAL mode), timed on this machine's disk.

    .venv/bin/python bench/spool_cost.py [--texts 500] [--folder instance/spool-bench]

Only the fallback path pays it (intake/channels/fallbacks.py); a text the database answers in
time never touches the spool.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.channels import fallbacks
from intake.channels.sms import InboundSms  # noqa: E402
from intake.infra import crypto
from intake.infra.spool import Spool  # noqa: E402

ANSWER = "<Response><Message>" + "x" * 420 + "</Message></Response>"  # the fallback's size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--folder", type=Path, default=None, help="default: a temporary one")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="spool_cost_", dir="."))
    spool = Spool(folder, crypto.key_ring([Fernet.generate_key().decode()]))
    took = []
    try:
        for n in range(args.texts):
            sms = InboundSms(f"SM{n:032d}", "+12125550142", "my daughter is missing")
            data = fallbacks._sms_data(sms, ANSWER)
            started = time.perf_counter()
            spool.put(fallbacks.spool_key(sms.sid), data)
            took.append(time.perf_counter() - started)
        cpu = time.process_time()
        for entry in spool.take(args.texts):
            spool.done(entry.key)
        took.sort()
        median, p95 = statistics.median(took) * 1000, took[len(took) * 95 // 100] * 1000
        print(
            f"Spool.put x{args.texts} on {folder.resolve().parent}: median {median:.2f} ms,"
            f" p95 {p95:.2f} ms, max {took[-1] * 1000:.2f} ms;"
            f" take+done of all: {time.process_time() - cpu:.2f} s CPU"
        )
    finally:
        spool.close()
        if args.folder is None:
            shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
