"""Random Zernike aberrations: mode weights from several distributions, random signs, twin modes mixed at a random angle."""
from __future__ import annotations

import math

import torch

from .config import Simulation
from .zernike import LIVE_MODES, NUM_MODES, ansi_to_nm, nm_to_ansi


def twin_pairs() -> list[tuple[int, int]]:
    """Pairs of live ANSI modes with the same n and opposite m (astigmatism 3/5, coma 7/8, ...)."""
    pairs = []
    for j in LIVE_MODES:
        n, m = ansi_to_nm(j)
        if m < 0:
            twin = nm_to_ansi(n, -m)
            if twin in LIVE_MODES:
                pairs.append((j, twin))
    return pairs


def _weights(kind: str, count: int, generator: torch.Generator) -> torch.Tensor:
    """Non-negative weights over the live modes, with unit norm."""
    live = len(LIVE_MODES)
    if kind == "single":
        weights = torch.zeros(count, live)
        weights[torch.arange(count), torch.randint(0, live, (count,), generator=generator)] = 1.0
    elif kind == "powerlaw":
        # Pareto-distributed weights (shape 0.75): a few modes dominate, the rest are small.
        uniform = torch.rand(count, live, generator=generator).clamp_min(1e-6)
        weights = uniform ** (-1 / 0.75) - 1
    elif kind == "dirichlet":
        weights = -torch.log(torch.rand(count, live, generator=generator).clamp_min(1e-12))
    elif kind == "bimodal":
        weights = torch.zeros(count, live)
        for row in range(count):
            chosen = torch.randperm(live, generator=generator)[:2]
            weights[row, chosen] = torch.rand(2, generator=generator) * 0.7 + 0.3
    else:
        raise ValueError(f"unknown distribution '{kind}'")
    return weights / torch.linalg.vector_norm(weights, dim=1, keepdim=True).clamp_min(1e-12)


def sample_aberrations(count: int, simulation: Simulation, generator: torch.Generator) -> torch.Tensor:
    """Zernike coefficients (count, 15) in um RMS; the total RMS is uniform in [min_rms_um, max_rms_um]."""
    kinds = torch.randint(0, len(simulation.distributions), (count,), generator=generator)
    live = torch.zeros(count, len(LIVE_MODES))
    for index, kind in enumerate(simulation.distributions):
        rows = (kinds == index).nonzero().flatten()
        if rows.numel():
            live[rows] = _weights(kind, rows.numel(), generator)
    position = {mode: i for i, mode in enumerate(LIVE_MODES)}
    for first, second in twin_pairs():
        magnitude = torch.sqrt(live[:, position[first]] ** 2 + live[:, position[second]] ** 2)
        angle = torch.rand(count, generator=generator) * (math.pi / 2)
        live[:, position[first]] = magnitude * torch.cos(angle)
        live[:, position[second]] = magnitude * torch.sin(angle)
    signs = torch.where(torch.rand(count, len(LIVE_MODES), generator=generator) < 0.5, -1.0, 1.0)
    amplitude = simulation.min_rms_um + torch.rand(count, 1, generator=generator) * (simulation.max_rms_um - simulation.min_rms_um)
    if simulation.modes:
        # Only the chosen modes are aberrated: the others are dropped and the total RMS renormalised to the drawn one.
        keep = torch.tensor([mode in simulation.modes for mode in LIVE_MODES])
        live = live * keep
        live = live / torch.linalg.vector_norm(live, dim=1, keepdim=True).clamp_min(1e-12)
        empty = live.abs().sum(dim=1) == 0
        if empty.any():  # all weight was on dropped modes: put it on a random chosen mode
            chosen = torch.tensor([LIVE_MODES.index(mode) for mode in simulation.modes])
            pick = chosen[torch.randint(0, chosen.numel(), (int(empty.sum()),), generator=generator)]
            live[empty.nonzero().flatten(), pick] = 1.0
    coefficients = torch.zeros(count, NUM_MODES)
    coefficients[:, list(LIVE_MODES)] = live * signs * amplitude
    return coefficients
