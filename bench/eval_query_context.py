"""What the collecting query is worth to the substance figures (issue 4), measured on dev.

    .venv/bin/python bench/eval_query_context.py [--dev ../shared/data/labels/dev.jsonl]

dev.jsonl carries no provenance, but each id names the corpus the post came from, and
../shared/data/real/SOURCES.md says how each corpus was collected. This script gives every dev
line the query its corpus was collected with (QUERIES below, from SOURCES.md) and runs
`pantau evaluate` on the original file and on that copy: the difference is what Pantau's
collection-query rule (triage/sector.py) would add if the evaluation files carried the query, as
Pantau's own collectors record it. A measurement for the team's decision, not a tuning step:
the rule's threshold is the seed corpus's keyword precision, and the queries are the corpora's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "data" / "labels" / "dev.jsonl"

# corpus id prefix -> the search that collected it (SOURCES.md, "What it is"); corpora gathered
# without one (a subreddit's hot/new listing, a hate-speech dataset) get none
QUERIES = {
    "kai_access": "KAI Access OR KAIAccess OR KAI",
    "kai121": "@KAI121",
    "bpjs_2025": "BPJS",
    "mbg_replies": "MBG",
    "ppn12": "PPN 12%",
    "jalan_rusak": "jalan rusak",
    "percuma_lapor_polisi": "#PercumaLaporPolisi",
    "sp4n_lapor": "SP4N-LAPOR!",
    "coretax_reviews": "Coretax",
    "pln_mobile_reviews": "PLN Mobile",
    "reddit_tuntutan178": "17+8",
}


def evaluate(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "evaluate", str(path), "--json"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    substance = data["reports"]["substance"]
    none = substance["per_class"]["none"]
    # what the rule costs: posts about no public service that take the query's sector
    return {**data["targets"], "substance_accuracy_all": substance["accuracy"], "none_recall": none["recall"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=DEV)
    args = parser.parse_args()
    if not args.dev.is_file():
        print(f"no dev set at {args.dev}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        with_query = Path(tmp) / "dev_with_query.jsonl"
        with args.dev.open(encoding="utf-8") as source, with_query.open("w", encoding="utf-8") as out:
            for line in source:
                if line.strip():
                    row = json.loads(line)
                    query = QUERIES.get(str(row["id"]).split(":")[0])
                    out.write(json.dumps({**row, **({"query": query} if query else {})},
                                         ensure_ascii=False) + "\n")
        results = {"text only": evaluate(args.dev), "with the collecting query": evaluate(with_query)}
    keys = ("substance_accuracy_not_none", "substance_accuracy_names_agency",
            "substance_accuracy_names_none", "substance_accuracy_all", "none_recall", "kind_macro_f1")
    print(f"{'':28}" + "".join(f"{k.replace('substance_accuracy_', 'subst ')[:22]:>24}" for k in keys))
    for name, targets in results.items():
        print(f"{name:28}" + "".join(f"{targets[k]:>24.3f}" for k in keys))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
