"""Runner-specific refinements of `library.exceptions.RunnerError` (torch-free module)."""

from __future__ import annotations

from library.exceptions import RunnerError

__all__ = ["DivergenceError"]


class DivergenceError(RunnerError, FloatingPointError):
    """Training produced a NaN/inf loss or a loss that exploded past the divergence factor.

    Attributes:
        epoch: epoch (0-based) at which divergence was detected (-1: after training).
        loss: the offending loss value.
    """

    def __init__(self, message: str, *, epoch: int, loss: float) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.loss = loss
