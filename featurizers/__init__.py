"""Fingerprints of datasets, models and scale, and the similarity between tasks."""

from featurizers.builtin import (
    BuiltinDataset,
    builtin_task_records,
    featurize_builtin_datasets,
    iter_builtin_datasets,
)
from featurizers.dataset import TASK_KINDS, dataset_feature_names, featurize_dataset
from featurizers.fingerprint import FEATURIZER_VERSION, FINGERPRINT_KINDS, Fingerprint
from featurizers.model import (
    MODEL_FAMILIES,
    MODEL_FEATURE_NAMES,
    SCALE_FEATURE_NAMES,
    describe_model,
    describe_scale,
)
from featurizers.similarity import TaskSimilarity

__all__ = [
    "BuiltinDataset",
    "builtin_task_records",
    "featurize_builtin_datasets",
    "iter_builtin_datasets",
    "FEATURIZER_VERSION",
    "FINGERPRINT_KINDS",
    "Fingerprint",
    "MODEL_FAMILIES",
    "MODEL_FEATURE_NAMES",
    "SCALE_FEATURE_NAMES",
    "TASK_KINDS",
    "TaskSimilarity",
    "dataset_feature_names",
    "describe_model",
    "describe_scale",
    "featurize_dataset",
]
