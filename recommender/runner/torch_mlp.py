"""A tabular MLP trainer in torch with early stopping, divergence detection and muP.

On CUDA the trainer keeps the whole (standardised) dataset on the device after a copy
through pinned memory, trains under automatic mixed precision (bfloat16 where supported,
float16 with a gradient scaler otherwise) and evaluates in large batches. On CPU it runs
in float32 with the thread count the caller set (`torch.set_num_threads`).

The muP option follows Yang et al. (2022, "Tensor Programs V"), table 8 for Adam, in the
form used by the ``mup`` package: hidden (width x width) matrices get a learning rate
scaled by ``base_width / width``, the read-out layer starts at zero and its output is
multiplied by ``base_width / width``; input weights and biases keep the base rate. At
``width == base_width`` muP and the standard parameterisation coincide (up to the zero
read-out init), so a learning rate tuned at a small width can be copied to a large one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from library.exceptions import RunnerError
from recommender.runner.errors import DivergenceError

__all__ = ["DivergenceError", "MLPNet", "TorchMLPEstimator", "resolve_device"]


def resolve_device(device: str) -> torch.device:
    """Turn ``auto``/``cpu``/``cuda`` into a torch device.

    Args:
        device: ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda``/``cuda:N``.

    Returns:
        The device.

    Raises:
        RunnerError: CUDA was requested but torch sees no GPU (CPU-only build, no driver,
            or ``CUDA_VISIBLE_DEVICES`` empty), or the name is unknown. There is no silent
            fallback: pass ``--device auto`` to use the GPU only when present.
    """
    name = device.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            build = torch.version.cuda or "none (CPU-only build)"
            raise RunnerError(
                f"device {device!r} requested but no CUDA GPU is available "
                f"(torch {torch.__version__}, CUDA build: {build}); "
                "use --device auto (GPU when present, else CPU) or --device cpu"
            )
        return torch.device(name)
    raise RunnerError(f"unknown device {device!r}; use auto, cpu or cuda")


class _ScaledReadout(nn.Linear):
    """Linear read-out whose output is multiplied by a fixed factor (muP: base/width)."""

    def __init__(self, in_features: int, out_features: int, *, output_mult: float) -> None:
        super().__init__(in_features, out_features)
        self.output_mult = output_mult

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return super().forward(inputs) * self.output_mult


class _SeededDropout(nn.Module):
    """Dropout drawing its masks from its own generator (no global torch RNG)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if not self.training or self.p <= 0.0:
            return inputs
        keep = torch.rand(inputs.shape, generator=self.generator, device=inputs.device)
        return inputs * (keep >= self.p).to(inputs.dtype) / (1.0 - self.p)


class MLPNet(nn.Module):
    """ReLU MLP: input -> ``depth`` hidden layers of ``width`` units -> output.

    Args:
        n_inputs: input features ``d``.
        n_outputs: classes (logits) or 1 for regression.
        width: hidden units per layer.
        depth: number of hidden layers (>= 1); ``depth - 1`` hidden x hidden matrices.
        dropout: dropout probability after each hidden activation.
        mup: use the muP parameterisation (see module docstring).
        base_width: width at which muP equals the standard parameterisation.
        init_scale: weights start as N(0, init_scale^2 / fan_in).
        generator: seeded generator for the initialisation.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        *,
        width: int,
        depth: int,
        dropout: float = 0.0,
        mup: bool = False,
        base_width: int = 64,
        init_scale: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.width = width
        self.mup = mup
        self.width_mult = width / base_width if mup else 1.0
        with torch.random.fork_rng(devices=[]):  # torch's default init draws globally
            self.input_layer = nn.Linear(n_inputs, width)
            self.hidden_layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth - 1))
            self.readout = _ScaledReadout(width, n_outputs, output_mult=1.0 / self.width_mult)
        self.dropout = _SeededDropout(dropout)
        with torch.no_grad():
            for layer in [self.input_layer, *self.hidden_layers, self.readout]:
                std = init_scale / math.sqrt(layer.in_features)
                layer.weight.normal_(0.0, std, generator=generator)
                layer.bias.zero_()
            if mup:
                self.readout.weight.zero_()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Map ``batch x d`` inputs to ``batch x n_outputs`` outputs."""
        hidden = self.dropout(torch.relu(self.input_layer(inputs)))
        for layer in self.hidden_layers:
            hidden = self.dropout(torch.relu(layer(hidden)))
        return self.readout(hidden)

    def param_groups(self, learning_rate: float, weight_decay: float) -> list[dict[str, Any]]:
        """Optimizer parameter groups; under muP hidden matrices get ``lr / width_mult``."""
        hidden_matrices = [layer.weight for layer in self.hidden_layers]
        hidden_ids = {id(p) for p in hidden_matrices}
        others = [p for p in self.parameters() if id(p) not in hidden_ids]
        groups: list[dict[str, Any]] = [
            {"params": others, "lr": learning_rate, "weight_decay": weight_decay}
        ]
        if hidden_matrices:
            groups.append(
                {
                    "params": hidden_matrices,
                    "lr": learning_rate / self.width_mult,
                    "weight_decay": weight_decay,
                }
            )
        return groups


@dataclass(frozen=True, slots=True)
class _Prepared:
    features: torch.Tensor
    target: torch.Tensor


class TorchMLPEstimator:
    """scikit-learn style estimator around `MLPNet` (``fit``/``predict``/``predict_proba``).

    The constructor stores its arguments unchanged; ``fit`` validates and trains. Early
    stopping monitors the loss on ``validation_fraction`` of the training rows (split with
    ``seed``) and restores the best weights. Training stops with `DivergenceError` when a
    batch loss is NaN/inf or an epoch's mean loss exceeds ``divergence_factor`` times the
    first batch loss.

    Args:
        kind: ``classification`` or ``regression``.
        learning_rate, width, depth, weight_decay, batch_size, dropout: hyperparameters.
        epochs: maximum epochs (the multi-fidelity resource).
        mup, base_width, init_scale: parameterisation (see `MLPNet`).
        patience: epochs without validation improvement before stopping (0 disables).
        validation_fraction: share of rows held out for early stopping (0 disables).
        divergence_factor: loss explosion threshold relative to the first batch loss.
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: seeds initialisation, shuffling, dropout and the validation split.
    """

    def __init__(
        self,
        *,
        kind: str = "classification",
        learning_rate: float = 1e-3,
        width: int = 128,
        depth: int = 2,
        weight_decay: float = 1e-4,
        batch_size: int = 128,
        dropout: float = 0.0,
        epochs: int = 50,
        mup: bool = False,
        base_width: int = 64,
        init_scale: float = 1.0,
        patience: int = 10,
        validation_fraction: float = 0.1,
        divergence_factor: float = 100.0,
        device: str = "cpu",
        seed: int = 0,
    ) -> None:
        self.kind = kind
        self.learning_rate = learning_rate
        self.width = width
        self.depth = depth
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.dropout = dropout
        self.epochs = epochs
        self.mup = mup
        self.base_width = base_width
        self.init_scale = init_scale
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.divergence_factor = divergence_factor
        self.device = device
        self.seed = seed

    # scikit-learn protocol -------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:  # noqa: ARG002
        """Constructor arguments (for `sklearn.base.clone`)."""
        names = (
            "kind learning_rate width depth weight_decay batch_size dropout epochs mup "
            "base_width init_scale patience validation_fraction divergence_factor device seed"
        ).split()
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: Any) -> TorchMLPEstimator:
        """Set constructor arguments; returns self."""
        for name, value in params.items():
            setattr(self, name, value)
        return self

    @property
    def _estimator_type(self) -> str:
        return "classifier" if self.kind == "classification" else "regressor"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        if self.kind == "classification":
            return Tags(
                estimator_type="classifier",
                target_tags=TargetTags(required=True),
                classifier_tags=ClassifierTags(),
            )
        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True),
            regressor_tags=RegressorTags(),
        )

    # training ----------------------------------------------------------------------------
    def _validate(self) -> None:
        if self.kind not in {"classification", "regression"}:
            raise RunnerError(f"kind must be classification or regression, got {self.kind!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise RunnerError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.width < 1 or self.depth < 1 or self.batch_size < 1 or self.epochs < 1:
            raise RunnerError(
                "width, depth, batch_size and epochs must be >= 1, got "
                f"{self.width=}, {self.depth=}, {self.batch_size=}, {self.epochs=}"
            )

    def _to_tensor(self, array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        tensor = torch.as_tensor(array, dtype=dtype)
        if self.device_.type == "cuda":
            return tensor.pin_memory().to(self.device_, non_blocking=True)
        return tensor

    def _standardise(self, features: np.ndarray) -> np.ndarray:
        scaled = (np.asarray(features, dtype=np.float32) - self.mean_) / self.scale_
        return np.nan_to_num(scaled, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)

    def fit(self, features: np.ndarray, target: np.ndarray) -> TorchMLPEstimator:
        """Train on ``n x d`` features and ``n`` targets; returns self.

        Raises:
            RunnerError: invalid hyperparameters or device.
            DivergenceError: the loss became NaN/inf or exploded.
        """
        self._validate()
        self.device_ = resolve_device(self.device)
        rng = np.random.default_rng(self.seed)
        generator = torch.Generator().manual_seed(int(self.seed))
        features = np.asarray(features, dtype=np.float32)
        self.mean_ = np.nanmean(features, axis=0).astype(np.float32)
        self.mean_ = np.nan_to_num(self.mean_)
        std = np.nanstd(features, axis=0).astype(np.float32)
        self.scale_ = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0).astype(np.float32)
        scaled = self._standardise(features)
        if self.kind == "classification":
            self.classes_, codes = np.unique(np.asarray(target), return_inverse=True)
            prepared_target: np.ndarray = codes.astype(np.int64)
            n_outputs = len(self.classes_)
            loss_fn: nn.Module = nn.CrossEntropyLoss()
        else:
            values = np.asarray(target, dtype=np.float64)
            self.target_mean_ = float(values.mean())
            self.target_scale_ = float(values.std()) or 1.0
            prepared_target = ((values - self.target_mean_) / self.target_scale_).astype(
                np.float32
            )[:, None]
            n_outputs = 1
            loss_fn = nn.MSELoss()
        n_rows = scaled.shape[0]
        order = rng.permutation(n_rows)
        n_val = int(round(self.validation_fraction * n_rows)) if self.patience > 0 else 0
        n_val = min(n_val, n_rows - 1)
        val_idx, train_idx = order[:n_val], order[n_val:]
        target_dtype = torch.int64 if self.kind == "classification" else torch.float32
        train = _Prepared(
            self._to_tensor(scaled[train_idx], torch.float32),
            self._to_tensor(prepared_target[train_idx], target_dtype),
        )
        val = (
            _Prepared(
                self._to_tensor(scaled[val_idx], torch.float32),
                self._to_tensor(prepared_target[val_idx], target_dtype),
            )
            if n_val > 0
            else None
        )
        net = MLPNet(
            scaled.shape[1],
            n_outputs,
            width=int(self.width),
            depth=int(self.depth),
            dropout=float(self.dropout),
            mup=bool(self.mup),
            base_width=int(self.base_width),
            init_scale=float(self.init_scale),
            generator=generator,
        ).to(self.device_)
        optimizer = torch.optim.AdamW(
            net.param_groups(float(self.learning_rate), float(self.weight_decay))
        )
        use_cuda = self.device_.type == "cuda"
        amp_dtype = torch.bfloat16 if use_cuda and torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda", enabled=use_cuda and amp_dtype == torch.float16)
        shuffle_gen = torch.Generator(device=self.device_).manual_seed(int(self.seed) + 1)
        net.dropout.generator = torch.Generator(device=self.device_).manual_seed(int(self.seed) + 2)
        n_train = train.features.shape[0]
        batch_size = int(min(self.batch_size, n_train))
        first_loss: float | None = None
        best_val = math.inf
        best_state: dict[str, torch.Tensor] | None = None
        epochs_without_gain = 0
        self.history_: list[dict[str, float]] = []
        started = time.perf_counter()
        for epoch in range(int(self.epochs)):
            net.train()
            permutation = torch.randperm(n_train, generator=shuffle_gen, device=self.device_)
            epoch_loss = torch.zeros((), device=self.device_)
            for start in range(0, n_train, batch_size):
                index = permutation[start : start + batch_size]
                with torch.autocast(
                    device_type=self.device_.type, dtype=amp_dtype, enabled=use_cuda
                ):
                    output = net(train.features[index])
                    loss = loss_fn(output.float(), train.target[index])
                if first_loss is None:
                    first_loss = float(loss.detach())
                    if not math.isfinite(first_loss):
                        raise DivergenceError(
                            f"initial loss is {first_loss}", epoch=epoch, loss=first_loss
                        )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                epoch_loss += loss.detach() * index.numel()
            mean_loss = float(epoch_loss) / n_train  # one device sync per epoch
            if not math.isfinite(mean_loss) or mean_loss > self.divergence_factor * max(
                first_loss or 0.0, 1e-8
            ):
                raise DivergenceError(
                    f"training loss {mean_loss:.4g} at epoch {epoch} (first batch loss "
                    f"{first_loss:.4g}, learning_rate={self.learning_rate:g})",
                    epoch=epoch,
                    loss=mean_loss,
                )
            record = {"epoch": float(epoch), "train_loss": mean_loss}
            if val is not None:
                val_loss = self._loss_on(net, val, loss_fn)
                record["val_loss"] = val_loss
                if val_loss < best_val - 1e-6:
                    best_val = val_loss
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                    epochs_without_gain = 0
                else:
                    epochs_without_gain += 1
            self.history_.append(record)
            if val is not None and epochs_without_gain >= self.patience:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.net_ = net
        self.epochs_run_ = len(self.history_)
        self.best_val_loss_ = best_val
        self.train_seconds_ = time.perf_counter() - started
        return self

    def _loss_on(self, net: nn.Module, data: _Prepared, loss_fn: nn.Module) -> float:
        outputs = self._forward(net, data.features)
        return float(loss_fn(outputs, data.target))

    def _forward(self, net: nn.Module, features: torch.Tensor) -> torch.Tensor:
        net.eval()
        chunk = 65536 if self.device_.type == "cuda" else 8192
        use_cuda = self.device_.type == "cuda"
        outputs = []
        with (
            torch.no_grad(),
            torch.autocast(device_type=self.device_.type, dtype=torch.bfloat16, enabled=use_cuda),
        ):
            for start in range(0, features.shape[0], chunk):
                outputs.append(net(features[start : start + chunk]).float())
        return torch.cat(outputs)

    def _raw_outputs(self, features: np.ndarray) -> np.ndarray:
        if not hasattr(self, "net_"):
            raise RunnerError("TorchMLPEstimator is not fitted; call fit first")
        tensor = self._to_tensor(self._standardise(features), torch.float32)
        return self._forward(self.net_, tensor).cpu().numpy()

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, ``n x n_classes``."""
        logits = torch.as_tensor(self._raw_outputs(features))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Class labels or regression values, ``n``."""
        outputs = self._raw_outputs(features)
        if self.kind == "classification":
            return self.classes_[outputs.argmax(axis=1)]
        return outputs[:, 0].astype(np.float64) * self.target_scale_ + self.target_mean_

    def score(self, features: np.ndarray, target: np.ndarray) -> float:
        """Accuracy (classification) or R^2 (regression)."""
        from sklearn.metrics import accuracy_score, r2_score

        predicted = self.predict(features)
        if self.kind == "classification":
            return float(accuracy_score(target, predicted))
        return float(r2_score(target, predicted))
