"""Fingerprints of datasets, models and scale, and the similarity between tasks."""

from featurizers.dataset import TASK_KINDS, dataset_feature_names, featurize_dataset
from featurizers.fingerprint import FEATURIZER_VERSION, FINGERPRINT_KINDS, Fingerprint

__all__ = [
    "FEATURIZER_VERSION",
    "FINGERPRINT_KINDS",
    "Fingerprint",
    "TASK_KINDS",
    "dataset_feature_names",
    "featurize_dataset",
]
