"""The sweep trainer: every regression run of a study trained at once, exactly.

Runs are grouped into chunks (``training.schedule``) and each chunk is
trained as one program: by the C kernel when a compiler is at hand
(``training.kernel_backend``), else by padded, batched torch operations
(``training.torch_backend``). Adam is applied elementwise in the operation
order of ``torch.optim.Adam``'s default implementation, so the update of
each run is bit-identical to that optimizer on the run alone, and a run's
result does not depend on the other runs of its chunk. What differs between
polynomials and MLPs is answered by one object per model kind
(``training.models``).

This module is the trainer's public face; its parts live in ``training/``.
"""

from __future__ import annotations

from .schema import parameter_count
from .training.job import RegressionJob
from .training.kernel_backend import torch_fuses_multiply_adds
from .training.models import MODEL_KINDS, ModelKind, chunk_size, degree_bucket, kind_of, width_bucket
from .training.parameters import initial_parameters, layer_shapes, polynomial_features
from .training.schedule import train_runs

__all__ = ["MODEL_KINDS", "ModelKind", "RegressionJob", "chunk_size", "degree_bucket", "initial_parameters",
           "kind_of", "layer_shapes", "parameter_count", "polynomial_features", "torch_fuses_multiply_adds",
           "train_runs", "width_bucket"]
