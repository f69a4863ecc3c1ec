"""Task similarity: a weighted, robust-scaled, NaN-aware distance between fingerprints.

`TaskSimilarity` stacks the fingerprints of the library tasks into a matrix, scales every
feature robustly (median and inter-quartile range, clipped to +-5 scaled units so that one
extreme feature cannot dominate) and measures

    d(a, b)^2 = sum_k w_k m_k (z_ak - z_bk)^2 / sum_k w_k m_k * sum_k w_k

where ``m_k`` is 1 when feature k is known for both tasks (missing features are left out
and the rest is re-weighted, so a NaN never propagates).

The weights ``w`` are learned from the library so that a small distance means a similar
hyperparameter response: for every pair of library tasks with a known response similarity
``s_ab`` (e.g. the Spearman correlation of their objectives over shared configurations), a
non-negative least-squares fit of ``(1 - s_ab)`` on the squared per-feature differences,
with a ridge pull towards uniform weights (``ridge``). Without response similarities (or
when the fit finds no signal) the weights are uniform; `weights_learned_` tells which.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping

import numpy as np
from scipy.optimize import nnls

from featurizers.fingerprint import Fingerprint
from library.exceptions import EmptyLibraryError, FeaturizeError

__all__ = ["TaskSimilarity"]

_LOGGER = logging.getLogger(__name__)
_CLIP = 5.0


class TaskSimilarity:
    """Nearest-task queries over a library of fingerprints.

    Args:
        ridge: Strength of the pull of learned weights towards uniform weights (0 = plain
            non-negative least squares).
        learn_weights: If False, `fit` ignores response similarities (uniform weights).

    Attributes:
        task_ids_: Library task ids, in fit order.
        feature_names_: Aligned feature names (union over the library, in first-seen order).
        weights_: ``n_features`` non-negative weights summing to ``n_features``.
        weights_learned_: True when the weights come from response similarities.

    Example:
        >>> sim = TaskSimilarity().fit(library_fingerprints, response_similarity)
        >>> sim.nearest(new_fingerprint, k=5)  # [(task_id, distance), ...]
    """

    def __init__(self, *, ridge: float = 1.0, learn_weights: bool = True) -> None:
        self.ridge = ridge
        self.learn_weights = learn_weights

    # ------------------------------------------------------------------------ fitting
    def fit(
        self,
        fingerprints: Mapping[str, Fingerprint],
        response_similarity: np.ndarray | None = None,
    ) -> TaskSimilarity:
        """Index the library and learn feature weights.

        Args:
            fingerprints: ``task_id -> Fingerprint``; all of one kind and version.
            response_similarity: ``n_tasks x n_tasks`` symmetric matrix in [-1, 1], in the
                order of ``fingerprints``; NaN where unknown. None -> uniform weights.

        Returns:
            self.

        Raises:
            EmptyLibraryError: If there is no fingerprint.
            FeaturizeError: If kinds or versions differ or the matrix has the wrong shape.
        """
        if self.ridge < 0:
            raise FeaturizeError(f"ridge must be >= 0, got ridge={self.ridge}")
        if len(fingerprints) == 0:
            raise EmptyLibraryError("no fingerprints to index; featurize some tasks first")
        prints = list(fingerprints.values())
        kinds = {(fp.kind, fp.version) for fp in prints}
        if len(kinds) > 1:
            raise FeaturizeError(
                f"fingerprints mix kinds/versions {sorted(kinds)}; re-featurize the library "
                "with one featurizer version"
            )
        self.kind_, self.version_ = prints[0].kind, prints[0].version
        self.task_ids_ = list(fingerprints.keys())
        names: dict[str, int] = {}
        for fp in prints:
            for name in fp.names:
                names.setdefault(name, len(names))
        self.feature_names_ = tuple(names)
        self._index = names
        raw = np.vstack([self._align(fp) for fp in prints])
        with warnings.catch_warnings():  # all-NaN features are expected (e.g. no categorical)
            warnings.simplefilter("ignore", RuntimeWarning)
            self.center_ = np.nanmedian(raw, axis=0)
            q75, q25 = np.nanpercentile(raw, [75, 25], axis=0)
            std = np.nanstd(raw, axis=0)
        scale = q75 - q25
        scale = np.where(scale > 1e-12, scale, np.where(std > 1e-12, std, 1.0))
        self.scale_ = np.nan_to_num(scale, nan=1.0)
        self.center_ = np.nan_to_num(self.center_, nan=0.0)
        self._z = self._standardize(raw)
        self._known = np.isfinite(self._z)
        self._z0 = np.where(self._known, self._z, 0.0)
        n_features = len(names)
        self.weights_ = np.ones(n_features)
        self.weights_learned_ = False
        if self.learn_weights and response_similarity is not None:
            similarity = np.asarray(response_similarity, dtype=float)
            if similarity.shape != (len(prints), len(prints)):
                raise FeaturizeError(
                    f"response_similarity must be {len(prints)} x {len(prints)} (one row per "
                    f"fingerprint, same order), got shape {similarity.shape}"
                )
            learned = self._learn_weights(similarity)
            if learned is not None:
                self.weights_ = learned
                self.weights_learned_ = True
            else:
                _LOGGER.warning(
                    "task similarity: response similarities carry no usable signal; "
                    "using uniform feature weights"
                )
        return self

    def _align(self, fp: Fingerprint) -> np.ndarray:
        row = np.full(len(self._index), np.nan)
        for name, value in zip(fp.names, fp.values, strict=True):
            position = self._index.get(name)
            if position is not None:
                row[position] = value
        return row

    def _standardize(self, raw: np.ndarray) -> np.ndarray:
        return np.clip((raw - self.center_) / self.scale_, -_CLIP, _CLIP)

    def _learn_weights(self, similarity: np.ndarray) -> np.ndarray | None:
        n_tasks, n_features = self._z.shape
        left, right = np.triu_indices(n_tasks, k=1)
        target = 1.0 - similarity[left, right]
        usable = np.isfinite(target)
        if usable.sum() < 3:
            return None
        left, right, target = left[usable], right[usable], target[usable]
        squared = (self._z[left] - self._z[right]) ** 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            column_means = np.nanmean(squared, axis=0)
        column_means = np.nan_to_num(column_means, nan=0.0)
        squared = np.where(np.isfinite(squared), squared, column_means)
        design = np.column_stack([squared, np.ones(len(target))])
        if self.ridge > 0:
            strength = math.sqrt(self.ridge * len(target) / max(1, n_features)) * max(
                1e-12, float(np.mean(squared))
            )
            uniform = float(np.mean(target)) / max(1e-12, float(squared.sum(axis=1).mean()))
            penalty = np.hstack([np.eye(n_features) * strength, np.zeros((n_features, 1))])
            design = np.vstack([design, penalty])
            target = np.concatenate([target, np.full(n_features, strength * uniform)])
        solution, _ = nnls(design, target, maxiter=50 * design.shape[1])
        weights = solution[:n_features]
        if not np.isfinite(weights).all() or weights.sum() <= 0:
            return None
        return weights * n_features / weights.sum()

    # ------------------------------------------------------------------------ queries
    def _check_fitted(self) -> None:
        if not hasattr(self, "_z"):
            raise FeaturizeError("TaskSimilarity is not fitted; call fit(fingerprints) first")

    def distances(self, fingerprint: Fingerprint) -> np.ndarray:
        """Distance from ``fingerprint`` to every library task.

        Args:
            fingerprint: Of the same kind and version as the library.

        Returns:
            ``n_tasks`` distances, in the order of `task_ids_` (NaN when no feature is
            known on both sides).

        Raises:
            FeaturizeError: If not fitted, or the kind/version differs from the library.
        """
        self._check_fitted()
        if (fingerprint.kind, fingerprint.version) != (self.kind_, self.version_):
            raise FeaturizeError(
                f"fingerprint is {fingerprint.kind}/{fingerprint.version} but the library is "
                f"{self.kind_}/{self.version_}; featurize both with the same version"
            )
        z = self._standardize(self._align(fingerprint))
        known = np.isfinite(z)
        weights = np.where(known, self.weights_, 0.0)
        z0 = np.where(known, z, 0.0)
        weighted_known = self._known * weights  # n_tasks x n_features
        squared = (self._z0 - z0) ** 2
        numerator = np.einsum("tk,tk->t", squared, weighted_known)
        denominator = weighted_known.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_squared = numerator / denominator
        return np.sqrt(mean_squared * self.weights_.sum())

    def nearest(self, fingerprint: Fingerprint, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` closest library tasks.

        Args:
            fingerprint: Query fingerprint.
            k: How many tasks to return (fewer if the library is smaller).

        Returns:
            ``[(task_id, distance), ...]`` sorted by distance, ties by library order.

        Raises:
            FeaturizeError: As for `distances`, or if ``k < 1``.
        """
        if k < 1:
            raise FeaturizeError(f"k must be >= 1, got k={k}")
        distance = self.distances(fingerprint)
        distance = np.where(np.isfinite(distance), distance, np.inf)
        k = min(k, len(distance))
        if k < len(distance):
            candidates = np.argpartition(distance, k - 1)[:k]
        else:
            candidates = np.arange(len(distance))
        order = candidates[np.lexsort((candidates, distance[candidates]))]
        return [(self.task_ids_[i], float(distance[i])) for i in order]

    def distance_matrix(self) -> np.ndarray:
        """Pairwise distances between the library tasks (``n_tasks x n_tasks``)."""
        self._check_fitted()
        rows = []
        for i in range(len(self.task_ids_)):
            weights = np.where(self._known[i], self.weights_, 0.0)
            weighted_known = self._known * weights
            squared = (self._z0 - self._z0[i]) ** 2
            with np.errstate(invalid="ignore", divide="ignore"):
                rows.append(
                    np.einsum("tk,tk->t", squared, weighted_known)
                    / weighted_known.sum(axis=1)
                    * self.weights_.sum()
                )
        return np.sqrt(np.vstack(rows))
