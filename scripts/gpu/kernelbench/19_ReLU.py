# KernelBench level 1, problem 19 (ReLU), written out for the harness comparison in scripts/gpu/compare_kernelbench.sh:
# the same interface (Model, get_inputs, get_init_inputs) and the same full size, 4096 x 393216 float32 (6.4 GB a tensor).
import torch
import torch.nn as nn


class Model(nn.Module):
    """Applies ReLU elementwise."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


batch_size = 4096
dim = 393216


def get_inputs():
    x = torch.rand(batch_size, dim)
    return [x]


def get_init_inputs():
    return []
