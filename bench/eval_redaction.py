"""Measure redaction against the labeled set data/eval/redaction_eval.jsonl.

Prints, per entity type, recall (a gold entity counts as found when detected spans of the same
type cover every non-space character of it, at every place it occurs), type-agnostic recall (any
type covers it), detected spans that overlap no gold entity ("precision-ish"), and the share of
look-alikes (prices, dates, codes, NIPs, agency handles, ...) still present in the redacted text.

    python bench/eval_redaction.py [--data PATH] [--show-misses] [--check]

`--check` exits 1 when a target is missed. The set is synthetic (posts written for this purpose,
values generated), so the figures are an upper bound for real posts, not a promise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from triage.redact import ENTITY_TYPES, Span, redact  # noqa: E402

DEFAULT_DATA = ROOT / "data" / "eval" / "redaction_eval.jsonl"

# Agency handles used in the set; the pipeline passes the agency registry's handles the same way.
PROTECTED_HANDLES = frozenset(
    h.lower()
    for h in """pln_123 KAI121 BPJSKesehatanRI DukcapilKemendagri CommuterLine lapor1708
    OmbudsmanRI137 TMCPoldaMetro PDAMTirtanadi DitjenPajakRI kemenkes_ri halo_bca kontakBRI
    JasamargaCC pemkotbdg""".split()
)

TARGETS: dict[str, float] = {
    **dict.fromkeys(
        (
            "NIK", "NO_KK", "NPWP", "PHONE", "EMAIL", "BPJS_NUMBER", "PLN_ID", "VEHICLE_PLATE",
            "BANK_ACCOUNT",
        ),
        0.99,
    ),
    **dict.fromkeys(("ADDRESS", "PERSON", "USERNAME"), 0.90),
}
LOOKALIKE_TARGET = 0.98


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    out, i = [], text.find(value)
    while i >= 0:
        out.append((i, i + len(value)))
        i = text.find(value, i + 1)
    return out


def _covered(text: str, start: int, end: int, spans: list[Span]) -> bool:
    for pos in range(start, end):
        if text[pos].isspace():
            continue
        if not any(s.start <= pos < s.end for s in spans):
            return False
    return True


def evaluate(rows: list[dict], show_misses: bool = False) -> dict:
    gold_n: Counter[str] = Counter()
    found: Counter[str] = Counter()
    found_any: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    spurious: Counter[str] = Counter()
    look_n = look_ok = 0
    misses: list[str] = []
    for row in rows:
        text = row["text"]
        result = redact(text, protected_handles=PROTECTED_HANDLES)
        spans = list(result.entities)
        gold_ranges: list[tuple[int, int]] = []
        for ent in row["entities"]:
            occ = _occurrences(text, ent["value"])
            if not occ:
                raise SystemExit(f"{row['id']}: value {ent['value']!r} is not in the text")
            gold_ranges.extend(occ)
            same = [s for s in spans if s.type == ent["type"]]
            gold_n[ent["type"]] += 1
            ok = all(_covered(text, s, e, same) for s, e in occ)
            found[ent["type"]] += ok
            found_any[ent["type"]] += all(_covered(text, s, e, spans) for s, e in occ)
            if not ok:
                got = [(s.type, text[s.start : s.end]) for s in spans]
                misses.append(f"MISS {row['id']} {ent['type']} {ent['value']!r} got={got}")
        for s in spans:
            detected[s.type] += 1
            if not any(s.start < e and gs < s.end for gs, e in gold_ranges):
                spurious[s.type] += 1
                misses.append(f"EXTRA {row['id']} {s.type} {text[s.start : s.end]!r}")
        for look in row.get("lookalikes", []):
            look_n += 1
            if look in result.text:
                look_ok += 1
            else:
                misses.append(f"LOOKALIKE {row['id']} {look!r} -> {result.text!r}")
    if show_misses:
        for line in misses:
            print(line)
    return {
        "gold": gold_n,
        "found": found,
        "found_any": found_any,
        "detected": detected,
        "spurious": spurious,
        "lookalikes": (look_ok, look_n),
    }


def report(res: dict, n_posts: int) -> bool:
    gold, found, found_any = res["gold"], res["found"], res["found_any"]
    detected, spurious = res["detected"], res["spurious"]
    ok_all = True
    print(f"posts: {n_posts}")
    print(f"{'type':<14}{'gold':>6}{'recall':>9}{'any-type':>10}{'detected':>10}{'no-gold':>9}  target")
    for t in ENTITY_TYPES:
        n = gold[t]
        rec = found[t] / n if n else float("nan")
        anyr = found_any[t] / n if n else float("nan")
        target = TARGETS.get(t, 0.0)
        met = n > 0 and rec >= target
        ok_all &= met
        print(
            f"{t:<14}{n:>6}{rec:>9.3f}{anyr:>10.3f}{detected[t]:>10}{spurious[t]:>9}"
            f"  >= {target:.2f} {'ok' if met else 'MISSED'}"
        )
    total = sum(gold.values())
    print(
        f"{'ALL':<14}{total:>6}{sum(found.values()) / total:>9.3f}"
        f"{sum(found_any.values()) / total:>10.3f}{sum(detected.values()):>10}"
        f"{sum(spurious.values()):>9}"
    )
    print(
        f"type-agnostic recall: {sum(found_any.values())}/{total} "
        f"({sum(found_any.values()) / total:.3f}) of gold entities covered by spans of any type"
    )
    n_det = sum(detected.values())
    print(
        f"precision-ish: {n_det - sum(spurious.values())}/{n_det} detected spans overlap a gold "
        f"entity ({(n_det - sum(spurious.values())) / n_det:.3f})"
    )
    look_ok, look_n = res["lookalikes"]
    share = look_ok / look_n if look_n else 1.0
    met = share >= LOOKALIKE_TARGET
    ok_all &= met
    print(
        f"look-alikes surviving: {look_ok}/{look_n} ({share:.3f})"
        f"  >= {LOOKALIKE_TARGET:.2f} {'ok' if met else 'MISSED'}"
    )
    return ok_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--show-misses", action="store_true", help="print every miss and extra")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    with args.data.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    ok = report(evaluate(rows, args.show_misses), len(rows))
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
