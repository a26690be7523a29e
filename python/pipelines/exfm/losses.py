"""ExFM training objectives: labels only, single-head distillation, auxiliary head, and student adapter."""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch.profiler import record_function

from .model import Dlrm


def multi_term_bce(serve: torch.Tensor, aux: torch.Tensor, adapter: torch.Tensor, label: torch.Tensor, teacher: torch.Tensor, aux_weight: float, adapter_weight: float) -> torch.Tensor:
    """Fused ExFM loss: BCE(serve, y) + aux_weight*BCE(aux, teacher) + adapter_weight*BCE(adapter, y), each a mean over the batch."""
    return (
        F.binary_cross_entropy_with_logits(serve, label)
        + aux_weight * F.binary_cross_entropy_with_logits(aux, teacher)
        + adapter_weight * F.binary_cross_entropy_with_logits(adapter, label)
    )


def exfm_loss(model: Dlrm, outputs: Dict[str, torch.Tensor], label: torch.Tensor, fm_logit: Optional[torch.Tensor], variant: str, distill_weight: float, adapter_weight: float, context: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, Dict[str, float]]:
    """The loss of one VM variant on one batch; returns the total and its terms for logging.

    context: the student adapter's extra inputs (das.adapter_context), used only by the 'adapter' variant.
    """
    with record_function("exfm::loss"):
        serve = outputs["serve"]
        hard = F.binary_cross_entropy_with_logits(serve, label)
        if variant == "plain":
            return hard, {"hard": hard.item()}
        if fm_logit is None:
            raise ValueError(f"variant '{variant}' needs FM logits from DAS")
        # DAS logits are data, never a path back into the FM.
        fm_logit = fm_logit.detach()
        if variant == "distilled":
            # Single head: the serving head itself is pulled toward the FM, bias included.
            soft = F.binary_cross_entropy_with_logits(serve, torch.sigmoid(fm_logit))
            return hard + distill_weight * soft, {"hard": hard.item(), "distill": soft.item()}
        aux = outputs["aux"]
        if variant == "auxiliary":
            soft = F.binary_cross_entropy_with_logits(aux, torch.sigmoid(fm_logit))
            return hard + distill_weight * soft, {"hard": hard.item(), "distill": soft.item()}
        if variant == "adapter":
            assert model.adapter is not None
            adapted = model.adapter(fm_logit, None if context is None else context.detach())
            # Stop-gradient: the distillation target must not train the adapter; only true labels do.
            soft = F.binary_cross_entropy_with_logits(aux, torch.sigmoid(adapted.detach()))
            calibration = F.binary_cross_entropy_with_logits(adapted, label)
            total = hard + distill_weight * soft + adapter_weight * calibration
            return total, {"hard": hard.item(), "distill": soft.item(), "adapter": calibration.item()}
        raise ValueError(f"unknown variant {variant!r}")
