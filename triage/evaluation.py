"""Scoring predicted labels against gold labels (pure): per-class metrics and the issue targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support


@dataclass(frozen=True)
class Report:
    name: str
    labels: list[str]
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    macro_f1: float
    accuracy: float
    confusion: list[list[int]]
    n: int

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "n": self.n,
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "per_class": self.per_class,
            "labels": self.labels,
            "confusion": self.confusion,
        }

    def render(self) -> str:
        lines = [f"== {self.name} (n={self.n}) macro-F1 {self.macro_f1:.3f} accuracy {self.accuracy:.3f}"]
        lines.append(f"{'label':<28}{'prec':>7}{'rec':>7}{'f1':>7}{'n':>6}")
        for label in self.labels:
            m = self.per_class[label]
            lines.append(
                f"{label:<28}{m['precision']:>7.3f}{m['recall']:>7.3f}{m['f1']:>7.3f}{int(m['support']):>6}"
            )
        width = max((len(x) for x in self.labels), default=5)
        lines.append("confusion (rows gold, columns predicted): " + " ".join(
            f"{i}={lab}" for i, lab in enumerate(self.labels)))
        for i, row in enumerate(self.confusion):
            lines.append(f"{i:>3} {self.labels[i]:<{width}} " + " ".join(f"{v:>4}" for v in row))
        return "\n".join(lines)


def report(
    name: str, gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> Report:
    labels = sorted(set(gold) | set(predicted)) if labels is None else list(labels)
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    per_class = {
        lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
              "f1": round(float(f[i]), 4), "support": int(s[i])}
        for i, lab in enumerate(labels)
    }
    present = [lab for lab in labels if per_class[lab]["support"] > 0]
    macro = (float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0))
             if present else 0.0)
    accuracy = sum(g == q for g, q in zip(gold, predicted, strict=True)) / max(len(gold), 1)
    matrix = confusion_matrix(gold, predicted, labels=labels).tolist() if gold else []
    return Report(name, labels, per_class, macro, accuracy, matrix, len(gold))


def target_figures(rows: Sequence[dict], predictions: Sequence[dict]) -> dict[str, float]:
    """The issue's targets. rows: gold {kind, substance, maladministration}; predictions: labels."""
    gold_kind = [r["kind"] for r in rows]
    pred_kind = [p["kind"] for p in predictions]
    kind_macro = report("kind", gold_kind, pred_kind).macro_f1
    aduan_f1 = float(f1_score(
        [g == "aduan" for g in gold_kind], [q == "aduan" for q in pred_kind], zero_division=0))
    subst = [(r["substance"], p["substance"]) for r, p in zip(rows, predictions, strict=True)
             if r["substance"] != "none"]
    subst_acc = sum(g == q for g, q in subst) / max(len(subst), 1)
    mal = [(r["maladministration"], p["maladministration"])
           for r, p in zip(rows, predictions, strict=True) if r["kind"] == "aduan"]
    counts: dict[str, int] = {}
    for g, _ in mal:
        counts[g] = counts.get(g, 0) + 1
    frequent = sorted(label for label, n in counts.items() if n >= 5)
    mal_macro = float(f1_score([g for g, _ in mal], [q for _, q in mal], labels=frequent,
                               average="macro", zero_division=0)) if frequent else 0.0
    return {
        "kind_macro_f1": round(kind_macro, 4),
        "aduan_vs_rest_f1": round(aduan_f1, 4),
        "substance_accuracy_not_none": round(subst_acc, 4),
        "maladministration_macro_f1_aduan": round(mal_macro, 4),
        "maladministration_types_scored": len(frequent),
    }
