"""Batched 2D phase unwrapping: weighted least squares (preconditioned conjugate gradients) made congruent to the wrapped phase."""
from __future__ import annotations

import math

import torch

from ..kernels import swap

TWO_PI = 2 * math.pi


def wrap(phase: torch.Tensor) -> torch.Tensor:
    """Wraps angles into [-pi, pi)."""
    return phase - TWO_PI * torch.floor((phase + math.pi) / TWO_PI)


def _forward_differences(field: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return field[..., 1:, :] - field[..., :-1, :], field[..., :, 1:] - field[..., :, :-1]


def _adjoint_differences(dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Transpose of the forward-difference operator applied to (dy, dx)."""
    pad = torch.nn.functional.pad
    return pad(dy, (0, 0, 1, 0)) - pad(dy, (0, 0, 0, 1)) + pad(dx, (1, 0)) - pad(dx, (0, 1))


class _NeumannPoisson:
    """Solves the unweighted normal equations (a Neumann Laplacian) by FFT of the mirrored field."""

    def __init__(self, height: int, width: int, dtype: torch.dtype, device: torch.device):
        iy = torch.arange(2 * height, dtype=dtype, device=device)
        ix = torch.arange(2 * width, dtype=dtype, device=device)
        eigen = (4 - 2 * torch.cos(math.pi * iy / height)[:, None] - 2 * torch.cos(math.pi * ix / width)[None, :])
        eigen[0, 0] = 1.0  # the constant mode is free; it is zeroed below
        self.inverse = 1 / eigen
        self.inverse[0, 0] = 0.0
        self.height, self.width = height, width

    def __call__(self, residual: torch.Tensor) -> torch.Tensor:
        # An optimised kernel can be swapped in for this solve (pipelines/kernels/swap.py, aovift.neumann_poisson).
        return swap.call("aovift.neumann_poisson", residual.contiguous(), fallback=self._solve)

    def _solve(self, residual: torch.Tensor) -> torch.Tensor:
        mirrored = torch.cat([residual, residual.flip(-1)], dim=-1)
        mirrored = torch.cat([mirrored, mirrored.flip(-2)], dim=-2)
        solution = torch.fft.ifft2(torch.fft.fft2(mirrored) * self.inverse).real
        return solution[..., : self.height, : self.width]


def unwrap_phase(wrapped: torch.Tensor, mask: torch.Tensor | None = None, iterations: int = 60, tolerance: float = 1e-6,
                 quality: torch.Tensor | None = None) -> torch.Tensor:
    """Unwraps phase maps (..., H, W) within a mask; pixels outside the mask are returned as 0.

    The weighted least-squares solution (weights: the mask times an optional quality map in [0, 1],
    e.g. the OTF amplitude) is robust to isolated noisy pixels; it is then shifted by the best
    constant and snapped to the nearest 2*pi multiple of the wrapped input, so consistent phase is
    recovered exactly.
    """
    if wrapped.ndim < 2:
        raise ValueError(f"phase maps need at least 2 dimensions, got shape {tuple(wrapped.shape)}")
    shape = wrapped.shape
    phase = wrapped.reshape(-1, shape[-2], shape[-1]).to(torch.float64)
    if mask is None:
        weights = torch.ones_like(phase)
    else:
        weights = torch.broadcast_to(mask, shape).reshape(phase.shape).to(torch.float64)
    inside_mask = weights > 0
    if quality is not None:
        weights = weights * torch.broadcast_to(quality, shape).reshape(phase.shape).to(torch.float64).clamp(0, 1)
    weight_y = weights[..., 1:, :] * weights[..., :-1, :]
    weight_x = weights[..., :, 1:] * weights[..., :, :-1]
    gradient_y, gradient_x = _forward_differences(phase)
    rhs = _adjoint_differences(weight_y * wrap(gradient_y), weight_x * wrap(gradient_x))

    def operator(field: torch.Tensor) -> torch.Tensor:
        dy, dx = _forward_differences(field)
        return _adjoint_differences(weight_y * dy, weight_x * dx)

    precondition = _NeumannPoisson(shape[-2], shape[-1], torch.float64, phase.device)
    solution = torch.zeros_like(phase)
    residual = rhs.clone()
    preconditioned = precondition(residual)
    direction = preconditioned.clone()
    rho = (residual * preconditioned).sum(dim=(-2, -1))
    reference = rhs.square().sum(dim=(-2, -1)).sqrt().clamp_min(1e-30)
    for _ in range(iterations):
        applied = operator(direction)
        curvature = (direction * applied).sum(dim=(-2, -1))
        step = torch.where(curvature.abs() > 1e-30, rho / curvature, torch.zeros_like(rho))
        solution = solution + step[:, None, None] * direction
        residual = residual - step[:, None, None] * applied
        if bool((residual.square().sum(dim=(-2, -1)).sqrt() / reference < tolerance).all()):
            break
        preconditioned = precondition(residual)
        rho_next = (residual * preconditioned).sum(dim=(-2, -1))
        beta = torch.where(rho.abs() > 1e-30, rho_next / rho, torch.zeros_like(rho))
        direction = preconditioned + beta[:, None, None] * direction
        rho = rho_next
    offset = torch.angle((inside_mask * torch.exp(1j * (phase - solution))).sum(dim=(-2, -1)))
    solution = solution + offset[:, None, None]
    congruent = phase + TWO_PI * torch.round((solution - phase) / TWO_PI)
    # The global 2*pi multiple is arbitrary; fix it so the masked mean lies in [-pi, pi).
    inside = inside_mask.to(torch.float64)
    mean = (congruent * inside).sum(dim=(-2, -1)) / inside.sum(dim=(-2, -1)).clamp_min(1)
    congruent = congruent - TWO_PI * torch.round(mean / TWO_PI)[:, None, None]
    return (congruent * inside_mask).reshape(shape).to(wrapped.dtype)
