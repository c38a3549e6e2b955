"""Per-step accuracy of the conversation corpus: python -m tests.corpus.report [-v]"""

from __future__ import annotations

import sys
from collections import defaultdict

from tests.corpus.corpus import load, run_all


def main(argv: list[str]) -> int:
    conversations = load()
    outcomes = run_all(conversations)
    by_step: dict[str, list[bool]] = defaultdict(list)
    by_lang: dict[str, list[bool]] = defaultdict(list)
    for outcome in outcomes:
        ok = not outcome.failures
        by_step[outcome.step].append(ok)
        by_lang[outcome.conversation.lang].append(ok)
    langs = defaultdict(int)
    for c in conversations:
        langs[c.lang] += 1
    print(f"{len(conversations)} conversations ({dict(langs)}), {len(outcomes)} texts")
    print(f"{'step asked':<18}{'texts':>7}{'right':>7}{'accuracy':>10}")
    for step, oks in sorted(by_step.items(), key=lambda kv: -len(kv[1])):
        print(f"{step:<18}{len(oks):>7}{sum(oks):>7}{100 * sum(oks) / len(oks):>9.1f}%")
    for lang, oks in sorted(by_lang.items()):
        print(f"{'lang ' + lang:<18}{len(oks):>7}{sum(oks):>7}{100 * sum(oks) / len(oks):>9.1f}%")
    total = [not o.failures for o in outcomes]
    print(f"{'all':<18}{len(total):>7}{sum(total):>7}{100 * sum(total) / len(total):>9.1f}%")
    wrong = [o for o in outcomes if o.failures]
    if wrong and ("-v" in argv or len(wrong) <= 40):
        for o in wrong:
            print(f"  {o.conversation.id} [{o.step}] {o.turn.text!r}: {'; '.join(o.failures)}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
