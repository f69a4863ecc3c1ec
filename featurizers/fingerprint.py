"""`Fingerprint`: the named, versioned feature vector that describes a task, a model or a scale.

A fingerprint is what every other stage of hp-warmstart sees of a dataset or a model: a fixed
tuple of feature names, a float vector of the same length (NaN where a feature could not be
computed), the featurizer version that produced it and its kind. Two fingerprints are
comparable only when their kinds and versions match; the names of a given version and task
kind never change, so fingerprints can be stacked into a matrix without alignment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from library.exceptions import FeaturizeError

__all__ = ["FEATURIZER_VERSION", "FINGERPRINT_KINDS", "Fingerprint"]

#: Bumped whenever a feature is added, removed, renamed or computed differently.
FEATURIZER_VERSION = "1.0.0"

#: The closed set of fingerprint kinds.
FINGERPRINT_KINDS: tuple[str, ...] = ("dataset", "model", "scale")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A named, versioned feature vector.

    Build it with `Fingerprint.from_values` (which copies and freezes the values) or
    `Fingerprint.from_dict`; the constructor validates and never mutates its inputs.

    Attributes:
        names: Feature names, unique, in a fixed order for a given version and kind.
        values: ``len(names)`` float64 values; NaN marks a feature that could not be computed.
        version: The `FEATURIZER_VERSION` that produced the values.
        kind: One of ``"dataset"``, ``"model"``, ``"scale"``.

    Example:
        >>> fp = Fingerprint.from_values(["log_n_rows"], [4.6], kind="dataset")
        >>> fp.as_series()["log_n_rows"]
        4.6
    """

    names: tuple[str, ...]
    values: np.ndarray
    version: str
    kind: str

    def __post_init__(self) -> None:
        if not isinstance(self.names, tuple) or not all(isinstance(n, str) for n in self.names):
            raise FeaturizeError(
                f"Fingerprint names must be a tuple of str, got {type(self.names).__name__}; "
                "use Fingerprint.from_values(...)"
            )
        if len(set(self.names)) != len(self.names):
            duplicated = sorted({n for n in self.names if self.names.count(n) > 1})
            raise FeaturizeError(f"Fingerprint names must be unique, duplicated: {duplicated}")
        if not isinstance(self.values, np.ndarray) or self.values.dtype != np.float64:
            raise FeaturizeError(
                "Fingerprint values must be a float64 numpy array; use Fingerprint.from_values(...)"
            )
        if self.values.shape != (len(self.names),):
            raise FeaturizeError(
                f"Fingerprint has {len(self.names)} names but values of shape {self.values.shape}"
            )
        if self.kind not in FINGERPRINT_KINDS:
            raise FeaturizeError(
                f"Fingerprint kind must be one of {FINGERPRINT_KINDS}, got kind={self.kind!r}"
            )
        if not isinstance(self.version, str) or not self.version:
            raise FeaturizeError(
                f"Fingerprint version must be a non-empty str, got {self.version!r}"
            )

    @classmethod
    def from_values(
        cls,
        names: Sequence[str],
        values: Sequence[float] | np.ndarray,
        *,
        kind: str,
        version: str = FEATURIZER_VERSION,
    ) -> Fingerprint:
        """Build a fingerprint from names and values; the values are copied and made read-only.

        Args:
            names: Feature names.
            values: One value per name; ``None`` and infinities become NaN.
            kind: ``"dataset"``, ``"model"`` or ``"scale"``.
            version: Featurizer version, `FEATURIZER_VERSION` by default.

        Returns:
            The fingerprint.

        Raises:
            FeaturizeError: If names and values do not match or the kind is unknown.
        """
        try:
            array = np.array(
                [np.nan if v is None else float(v) for v in values], dtype=np.float64
            ).reshape(-1)
        except (TypeError, ValueError) as error:
            raise FeaturizeError(f"Fingerprint values must be numbers: {error}") from error
        array[~np.isfinite(array)] = np.nan
        array.flags.writeable = False
        return cls(names=tuple(names), values=array, version=version, kind=kind)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe representation (NaN becomes ``None``).

        Returns:
            ``{"names": [...], "values": [...], "version": str, "kind": str}``.
        """
        return {
            "names": list(self.names),
            "values": [None if math.isnan(v) else float(v) for v in self.values.tolist()],
            "version": self.version,
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> Fingerprint:
        """Inverse of `to_dict`.

        Args:
            payload: A mapping with keys ``names``, ``values``, ``version`` and ``kind``.

        Returns:
            The fingerprint.

        Raises:
            FeaturizeError: If a key is missing or a value has the wrong type.
        """
        missing = [key for key in ("names", "values", "version", "kind") if key not in payload]
        if missing:
            raise FeaturizeError(
                f"fingerprint dict lacks keys {missing}; expected the output of Fingerprint.to_dict()"
            )
        return cls.from_values(
            list(payload["names"]),
            list(payload["values"]),
            kind=str(payload["kind"]),
            version=str(payload["version"]),
        )

    def as_series(self) -> pd.Series:
        """The values as a `pandas.Series` indexed by feature name (a copy)."""
        return pd.Series(self.values.copy(), index=list(self.names), name=self.kind, dtype=float)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (
            self.names == other.names
            and self.version == other.version
            and self.kind == other.kind
            and np.array_equal(self.values, other.values, equal_nan=True)
        )

    def __hash__(self) -> int:
        return hash((self.names, self.version, self.kind, self.values.tobytes()))
