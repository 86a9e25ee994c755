"""``torch.optim.Adam`` as batched tensor operations, bit for bit, on one tensor holding many runs."""

from __future__ import annotations

import torch


def initial_moments(params: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Adam's first and second moments before step 1: zeros where ``mask`` marks a real parameter.

    Padded entries keep a harmless non-zero second moment: sqrt of zeros and denormals is slow.
    """
    return torch.zeros_like(params), torch.where(mask.bool(), torch.zeros_like(params), torch.ones_like(params))


class BatchedAdam:
    """``torch.optim.Adam`` (default, non-fused) on one tensor holding many runs.

    ``lr`` and ``weight_decay`` are per-run tensors broadcastable against the
    parameters. The operation order is that of ``_single_tensor_adam``, with
    ``grad.add(param, alpha=wd)`` written as the equivalent fused
    ``addcmul`` and ``addcdiv``'s scalar replaced by a per-run tensor. The
    bias corrections are computed up front with Python floats exactly as
    torch does (``1 - beta ** step``), so each step costs only tensor ops.
    """

    def __init__(self, params: torch.Tensor, mask: torch.Tensor, lr: torch.Tensor, weight_decay: torch.Tensor,
                 betas: tuple[float, float], eps: float, steps: int, shared_lr: float | None = None):
        self.params = params
        self.shared_lr = shared_lr
        self.exp_avg, self.exp_avg_sq = initial_moments(params, mask)
        self.weight_decay = weight_decay
        self.any_decay = bool((weight_decay != 0).any())
        self.beta1, self.beta2 = betas
        self.eps = eps
        counts = [float(k) for k in range(1, steps + 1)]
        self.bias_correction1 = [1 - self.beta1 ** k for k in counts]
        bias_correction1 = torch.tensor(self.bias_correction1, dtype=torch.float64)
        # [steps, *lr.shape]: row k broadcasts against the parameters like lr does.
        self.neg_step_size = (-(lr.to(torch.float64).unsqueeze(0) / bias_correction1.view(-1, 1, 1))
                              ).to(torch.float32)
        self.bias_correction2_sqrt = [(1 - self.beta2 ** k) ** 0.5 for k in counts]
        self._denom = torch.empty_like(params)
        self._update = torch.empty_like(params)

    def step(self, grad: torch.Tensor, k: int) -> None:
        """Apply update number ``k`` (from 0) given this step's gradient."""
        if self.any_decay:
            grad = torch.addcmul(grad, self.params, self.weight_decay)
        self.exp_avg.lerp_(grad, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        torch.sqrt(self.exp_avg_sq, out=self._denom).div_(self.bias_correction2_sqrt[k]).add_(self.eps)
        if self.shared_lr is not None:
            # One learning rate for the chunk: torch's own scalar addcdiv, one op instead of three.
            self.params.addcdiv_(self.exp_avg, self._denom, value=-(self.shared_lr / self.bias_correction1[k]))
            return
        torch.mul(self.neg_step_size[k], self.exp_avg, out=self._update)
        self.params.add_(self._update.div_(self._denom))
