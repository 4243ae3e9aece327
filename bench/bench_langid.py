"""Language-ID accuracy and speed of each detector of :mod:`streams.enrich.language` on a labelled set.

``python bench/bench_langid.py --eval FILE`` (``lang<TAB>kind<TAB>text`` with a header).
"""

from __future__ import annotations

import argparse
import sys
import time

from streams.enrich.language import (
    ACCURACY_MODES,
    DETECTORS,
    accuracy,
    configure,
    load_samples,
    supported_languages,
    warmup,
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Print language-ID accuracy on a labelled TSV set.")
    p.add_argument("--eval", required=True, help="lang<TAB>kind<TAB>text file")
    p.add_argument("--accuracy", default="high", choices=ACCURACY_MODES, help="lingua mode")
    args = p.parse_args(argv)
    configure(args.accuracy)
    samples = load_samples(args.eval)
    warmup()
    print(
        f"{len(samples)} samples, {len({s[0] for s in samples})} languages; "
        f"detectable languages: {len(supported_languages())}; lingua mode: {args.accuracy}"
    )
    for name, fn in DETECTORS.items():
        t0 = time.perf_counter()
        acc = accuracy(samples, fn)
        rate = len(samples) / (time.perf_counter() - t0)
        cols = "  ".join(
            f"{k}: {c}/{n} = {c / n:.3f}" for k, (c, n) in sorted(acc.items()) if n
        )
        print(f"{name:14s} {cols}  ({rate:,.0f} texts/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
