"""Explain a recommendation with numbers, matplotlib plots and a self-contained HTML report.

`build_explain_report` turns the `Explanation` of a `Recommender.suggest` call into an
`ExplainReport`:

* **neighbours**: the source tasks behind the suggestions with a similarity score. With a
  target fingerprint it is ``1 / (1 + d)`` of the fingerprint distance ``d``
  (`TaskSimilarity`, unweighted); without one it is the source's mean guardrail weight
  over the steps (its share of the ranking-loss vote, uniform in zero-shot mode);
* **predicted score with a ~95% interval** per suggestion (normalised: 1 = a neighbour's
  best trial, 0 = its worst);
* **guardrail weights over steps**: every source's weight and the target GP's weight at
  each pick, with the decision's mode and reason;
* **hyperparameter importance** from the source GPs' ARD lengthscales: the relevance of an
  encoded column is ``1 / lengthscale``; a parameter takes the largest relevance of its
  columns (one-hot groups), averaged over sources with the final guardrail weights and
  normalised to sum to 1.

`figures` draws the four plots; `write_html` writes one HTML file with the plots embedded
as base64 PNGs (no external files or scripts).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from featurizers.fingerprint import Fingerprint
from featurizers.similarity import TaskSimilarity
from library.exceptions import EmptyLibraryError, LibraryError
from library.query import TaskEvaluations, task_evaluations
from library.store import Library
from recommender.json_text import to_json
from recommender.recommend import Explanation
from recommender.space import CategoricalParam, Space
from recommender.surrogate import fit_source_model

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ExplainReport",
    "build_explain_report",
    "figures",
    "lengthscale_importance",
    "render_html",
    "write_html",
]


@dataclass(frozen=True, slots=True)
class ExplainReport:
    """Everything the explain plots and the HTML report show.

    Attributes:
        explanation: the recommender's `Explanation` of the suggest call.
        space: the target's search space.
        neighbours: ``(task_id, similarity)`` of the sources, most similar first.
        similarity_kind: ``"fingerprint"`` or ``"guardrail-weight"``.
        importance: parameter -> importance share (sums to 1; empty without sources).
        importance_method: how ``importance`` was computed.
    """

    explanation: Explanation
    space: Space
    neighbours: tuple[tuple[str, float], ...]
    similarity_kind: str
    importance: dict[str, float]
    importance_method: str

    def weights_by_step(self) -> tuple[list[int], dict[str, list[float]], list[float]]:
        """``(picks 1..n, source -> weight per pick, target-GP weight per pick)``.

        Pick ``k`` of a batch is decided with ``k - 1`` pending picks on top of the
        ``step`` target observations of its `GuardrailDecision`.
        """
        sources = self.explanation.sources
        steps = list(range(1, len(self.explanation.decisions) + 1))
        per_source: dict[str, list[float]] = {s: [] for s in sources}
        for decision in self.explanation.decisions:
            for index, source in enumerate(sources):
                per_source[source].append(float(decision.weights.get(index, 0.0)))
        target = [float(d.target_weight) for d in self.explanation.decisions]
        return steps, per_source, target

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the explanation plus neighbours and importance)."""
        return {
            **self.explanation.to_dict(),
            "neighbours": [{"task_id": t, "similarity": s} for t, s in self.neighbours],
            "similarity_kind": self.similarity_kind,
            "importance": dict(self.importance),
            "importance_method": self.importance_method,
        }


# ---------------------------------------------------------------------- computation


def _evaluations(libraries: Sequence[Library], task_ids: Sequence[str]) -> dict[str, Any]:
    wanted = set(task_ids)
    out: dict[str, TaskEvaluations] = {}
    for library in libraries:
        try:
            found = task_evaluations(library)
        except EmptyLibraryError:
            continue
        for task, evaluations in found.items():
            if task in wanted and task not in out:
                out[task] = evaluations
    return out


def _fingerprint_neighbours(
    fingerprint: Fingerprint, evaluations: Mapping[str, TaskEvaluations]
) -> list[tuple[str, float]]:
    indexed = {
        task: Fingerprint.from_values(
            list(fingerprint.names),
            [e.fingerprint[name] for name in fingerprint.names],
            version=fingerprint.version,
            kind=fingerprint.kind,
        )
        for task, e in evaluations.items()
        if e.fingerprint and set(e.fingerprint) == set(fingerprint.names)
    }
    if not indexed:
        return []
    similarity = TaskSimilarity(learn_weights=False).fit(indexed)
    nearest = similarity.nearest(fingerprint, k=len(indexed))
    return [(task, 1.0 / (1.0 + distance)) for task, distance in nearest]


def _weight_neighbours(explanation: Explanation) -> list[tuple[str, float]]:
    sources = explanation.sources
    if not sources or not explanation.decisions:
        return []
    mean = np.zeros(len(sources))
    for decision in explanation.decisions:
        if decision.weights:
            for index, weight in decision.weights.items():
                mean[index] += weight
        elif decision.mode == "zero-shot":
            mean += 1.0 / len(sources)
    mean /= len(explanation.decisions)
    order = np.argsort(-mean, kind="stable")
    return [(sources[i], float(mean[i])) for i in order]


def _column_owner(space: Space) -> list[str]:
    owner: list[str] = []
    for p in space.parameters:
        width = len(p.choices) if isinstance(p, CategoricalParam) else 1
        owner.extend([p.name] * width)
    return owner


def _ard_relevance(model: Any, dim: int) -> np.ndarray | None:
    """``1 / lengthscale`` of the GP's ARD kernel over the ``dim`` encoded columns."""
    for module in model.covar_module.modules():
        lengthscale = getattr(module, "lengthscale", None)
        if lengthscale is not None and lengthscale.shape[-1] == dim:
            values = lengthscale.detach().cpu().numpy().reshape(-1)
            return 1.0 / np.maximum(values, 1e-12)
    return None


def lengthscale_importance(
    space: Space,
    models: Sequence[Any],
    weights: Sequence[float] | None = None,
) -> dict[str, float]:
    """Hyperparameter importance from fitted GPs' ARD lengthscales.

    Args:
        space: the space the GPs were fitted in (its encoding defines the columns).
        models: fitted BoTorch GPs (or `SourceModel`s) on ``space.dim`` inputs.
        weights: one non-negative weight per model (default: equal).

    Returns:
        parameter name -> share, summing to 1 (empty when no model has ARD lengthscales).
    """
    owner = _column_owner(space)
    rows, used = [], []
    for index, model in enumerate(models):
        gp = getattr(model, "model", model)
        relevance = _ard_relevance(gp, space.dim)
        if relevance is None:
            continue
        per_param = {name: 0.0 for name in space.names}
        for column, name in enumerate(owner):
            per_param[name] = max(per_param[name], float(relevance[column]))
        vector = np.array([per_param[name] for name in space.names])
        rows.append(vector / vector.sum() if vector.sum() > 0 else vector)
        used.append(1.0 if weights is None else float(weights[index]))
    if not rows:
        return {}
    w = np.asarray(used)
    w = w / w.sum() if w.sum() > 0 else np.full(len(rows), 1.0 / len(rows))
    combined = w @ np.stack(rows)
    combined = combined / combined.sum() if combined.sum() > 0 else combined
    return {name: float(v) for name, v in zip(space.names, combined, strict=True)}


def build_explain_report(
    explanation: Explanation,
    libraries: Library | Sequence[Library],
    space: Space,
    *,
    fingerprint: Fingerprint | None = None,
    max_importance_sources: int = 6,
    seed: int = 0,
) -> ExplainReport:
    """Collect neighbours, intervals, guardrail weights and importance for one explanation.

    Args:
        explanation: ``Recommender.explain()`` after a ``suggest`` call.
        libraries: the libraries the recommender read (for the sources' trials).
        space: the target space passed to ``suggest``.
        fingerprint: the target's fingerprint, when known (fingerprint similarity).
        max_importance_sources: source GPs fitted for the importance estimate (the most
            weighted ones; each costs about a second on a CPU).
        seed: subsampling seed of those fits.

    Returns:
        The `ExplainReport`.

    Raises:
        LibraryError: a source of the explanation is in none of ``libraries``.
    """
    libraries = [libraries] if isinstance(libraries, Library) else list(libraries)
    evaluations = _evaluations(libraries, explanation.sources)
    missing = [s for s in explanation.sources if s not in evaluations]
    if missing:
        raise LibraryError(
            f"source task(s) {missing[:5]} of the explanation are in none of the libraries; "
            "pass the libraries the Recommender was built with"
        )
    neighbours: list[tuple[str, float]] = []
    kind = "guardrail-weight"
    if fingerprint is not None:
        neighbours = _fingerprint_neighbours(fingerprint, evaluations)
        kind = "fingerprint" if neighbours else kind
    if not neighbours:
        neighbours = _weight_neighbours(explanation)
    final_weights: dict[str, float] = {}
    if explanation.decisions and explanation.decisions[-1].weights:
        final_weights = {
            explanation.sources[i]: w for i, w in explanation.decisions[-1].weights.items()
        }
    ranked = sorted(explanation.sources, key=lambda s: (-final_weights.get(s, 1.0), s))[
        :max_importance_sources
    ]
    models, weights = [], []
    for task in ranked:
        e = evaluations[task]
        score = e.objective if e.direction == "maximize" else -e.objective
        models.append(fit_source_model(task, space.encode(e.configs), score, n_fit=120, seed=seed))
        weights.append(final_weights.get(task, 1.0))
    importance = lengthscale_importance(space, models, weights) if models else {}
    return ExplainReport(
        explanation=explanation,
        space=space,
        neighbours=tuple(neighbours),
        similarity_kind=kind,
        importance=importance,
        importance_method=f"ARD lengthscales of {len(models)} source GP(s), guardrail-weighted",
    )


# ---------------------------------------------------------------------- plots


def _short(task: str, width: int = 34) -> str:
    return task if len(task) <= width else "…" + task[-(width - 1) :]


def figures(report: ExplainReport) -> dict[str, Figure]:
    """The four explain plots as matplotlib figures (Agg; the caller closes them).

    Returns:
        ``{"neighbours", "predictions", "guardrail_weights", "importance"}`` -> figure.
    """
    from matplotlib.figure import Figure

    out: dict[str, Figure] = {}

    fig = Figure(figsize=(6.4, 0.4 + 0.32 * max(1, len(report.neighbours))))
    ax = fig.subplots()
    if report.neighbours:
        names = [_short(t) for t, _ in report.neighbours][::-1]
        values = [s for _, s in report.neighbours][::-1]
        ax.barh(names, values, color="tab:blue")
    ax.set_xlabel(
        "similarity 1/(1+fingerprint distance)"
        if report.similarity_kind == "fingerprint"
        else "mean guardrail weight"
    )
    ax.set_title("Neighbour tasks")
    fig.tight_layout()
    out["neighbours"] = fig

    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.subplots()
    ranked = [(r, s) for r, s in enumerate(report.explanation.suggestions, 1) if s.has_prediction]
    if report.explanation.suggestions and not ranked:
        ax.text(0.5, 0.5, "no source predicts these picks (target-only)", ha="center")
    if ranked:
        x = np.array([r for r, _ in ranked])
        suggestions = [s for _, s in ranked]
        mean = np.array([s.predicted for s in suggestions])
        low = np.array([s.interval[0] for s in suggestions])
        high = np.array([s.interval[1] for s in suggestions])
        ax.errorbar(x, mean, yerr=[mean - low, high - mean], fmt="o", capsize=4)
        ax.set_xticks(x)
    ax.set_xlabel("suggestion")
    ax.set_ylabel("predicted normalised score")
    ax.set_title("Predicted score with ~95% interval")
    fig.tight_layout()
    out["predictions"] = fig

    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.subplots()
    steps, per_source, target = report.weights_by_step()
    for source, weights in per_source.items():
        if any(w > 0 for w in weights):
            ax.plot(steps, weights, marker="o", label=_short(source, 24))
    if steps:
        ax.plot(steps, target, marker="s", color="black", linestyle="--", label="target GP")
        ax.legend(fontsize=7, loc="best")
    first_step = report.explanation.decisions[0].step if report.explanation.decisions else 0
    ax.set_xlabel(f"pick in the batch ({first_step} target observations before pick 1)")
    ax.set_ylabel("weight")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Guardrail weights over the picks")
    if steps:
        ax.set_xticks(steps)
    fig.tight_layout()
    out["guardrail_weights"] = fig

    fig = Figure(figsize=(6.4, 0.6 + 0.32 * max(1, len(report.importance))))
    ax = fig.subplots()
    if report.importance:
        items = sorted(report.importance.items(), key=lambda kv: kv[1])
        ax.barh([k for k, _ in items], [v for _, v in items], color="tab:green")
    ax.set_xlabel("importance share")
    ax.set_title("Hyperparameter importance")
    fig.tight_layout()
    out["importance"] = fig
    return out


def _png_base64(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def render_html(report: ExplainReport, *, title: str = "hp-warmstart explanation") -> str:
    """The report as one self-contained HTML document (plots as base64 PNG data URIs)."""
    e = report.explanation
    esc = html.escape
    costed = any(math.isfinite(s.cost) for s in e.suggestions)  # a cost cap was applied
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>Target: <code>{esc(str(e.target))}</code>; {e.n_observed} observed "
        f"trial(s); {len(e.sources)} source task(s).</p>",
        *(f"<p>Limit: {esc(limit)}</p>" for limit in e.limits),
        "<h2>Suggestions</h2><table><tr><th>#</th><th>configuration</th>"
        "<th>predicted</th><th>95% interval</th><th>mode / phase</th><th>neighbours</th>"
        + ("<th>predicted cost</th>" if costed else "")
        + "</tr>",
    ]
    for rank, s in enumerate(e.suggestions, 1):
        config = ", ".join(f"{k}={_format_value(v)}" for k, v in s.config.items())
        neighbours = ", ".join(f"{t} ({w:.2f})" for t, w in s.neighbours)
        parts.append(
            f"<tr><td>{rank}</td><td>{esc(config)}</td>"
            + (
                f"<td>{s.predicted:.3f}</td><td>{s.interval[0]:.3f} .. {s.interval[1]:.3f}</td>"
                if s.has_prediction
                else "<td>-</td><td>-</td>"
            )
            + f"<td>{esc(s.mode)} / {esc(s.phase)}</td><td>{esc(neighbours)}</td>"
            + (f"<td>{s.cost:.4g}</td>" if costed else "")
            + "</tr>"
        )
    parts.append("</table><h2>Guardrail decisions</h2><table><tr><th>step</th><th>mode</th>")
    parts.append("<th>target weight</th><th>dropped</th><th>reason</th></tr>")
    for d in e.decisions:
        dropped = ", ".join(e.sources[i] for i in d.dropped)
        parts.append(
            f"<tr><td>{d.step}</td><td>{esc(d.mode)}</td><td>{d.target_weight:.2f}</td>"
            f"<td>{esc(dropped)}</td><td>{esc(d.reason)}</td></tr>"
        )
    parts.append("</table><h2>Importance</h2>")
    parts.append(f"<p>{esc(report.importance_method)}</p>")
    captions = {
        "neighbours": f"Neighbour tasks ({report.similarity_kind} similarity)",
        "predictions": "Predicted score per suggestion with ~95% interval",
        "guardrail_weights": "Guardrail weights over steps",
        "importance": "Hyperparameter importance",
    }
    for key, fig in figures(report).items():
        parts.append(
            f'<figure><img alt="{esc(captions[key])}" '
            f'src="data:image/png;base64,{_png_base64(fig)}">'
            f"<figcaption>{esc(captions[key])}</figcaption></figure>"
        )
    parts.append(
        '<h2>Data</h2><pre id="report-json">'
        + esc(to_json(report.to_dict(), indent=1))
        + "</pre></body></html>"
    )
    return "\n".join(parts)


def write_html(
    report: ExplainReport, path: str | Path, *, title: str = "hp-warmstart explanation"
) -> Path:
    """Write `render_html` to ``path`` (parents created) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(report, title=title), encoding="utf-8")
    return target
