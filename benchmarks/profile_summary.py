"""Summarise a py-spy raw (collapsed-stack) profile into shares of time by category, for the
analysis notes: `python -m benchmarks.profile_summary PROFILE.txt --within FUNC NAME=REGEX ...`.
A sample counts for the first category whose pattern matches any frame of its stack."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path


def summarise(profile: Path, within: str, categories: dict[str, str]) -> tuple[int, Counter[str]]:
    patterns = {name: re.compile(pattern) for name, pattern in categories.items()}
    shares: Counter[str] = Counter()
    total = 0
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if within not in stack or not count.isdigit():
            continue
        total += int(count)
        shares[next((name for name, pattern in patterns.items() if pattern.search(stack)), "other")] += int(count)
    return total, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--within", required=True, help="only stacks through this function")
    parser.add_argument("categories", nargs="+", help="NAME=REGEX, first match wins")
    args = parser.parse_args()
    total, shares = summarise(args.profile, args.within, dict(item.split("=", 1) for item in args.categories))
    print(f"| part | share of samples ({total} samples in `{args.within.rstrip(' (')}`) |\n|---|---|")
    for name, count in shares.most_common():
        print(f"| {name} | {100 * count / max(total, 1):.0f}% |")


if __name__ == "__main__":
    main()
