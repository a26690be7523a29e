"""Bead objects, image formation by FFT convolution, camera noise, and the preprocessing applied before embedding."""
from __future__ import annotations

import math

import torch

from .config import Microscope, Simulation


def place_beads(count: int, microscope: Microscope, simulation: Simulation, generator: torch.Generator) -> list[torch.Tensor]:
    """Per sample, a (beads, 4) tensor of integer (z, y, x) voxel positions and a photon count."""
    size = microscope.size
    radius = 0.66 * size / 2
    samples = []
    for _ in range(count):
        beads = int(torch.randint(simulation.min_beads, simulation.max_beads + 1, (1,), generator=generator))
        # Uniform within a lateral disk: sqrt of a uniform radius fraction.
        r = radius * torch.sqrt(torch.rand(beads, generator=generator))
        angle = torch.rand(beads, generator=generator) * 2 * math.pi
        y = torch.round(size / 2 + r * torch.sin(angle))
        x = torch.round(size / 2 + r * torch.cos(angle))
        low, high = round(size * 10 / 64), round(size * 54 / 64)
        z = torch.randint(low, high + 1, (beads,), generator=generator).to(torch.float32)
        fraction = torch.rand(beads, generator=generator)
        if simulation.log_photons:
            photons = simulation.min_photons * (simulation.max_photons / simulation.min_photons) ** fraction
        else:
            photons = simulation.min_photons + fraction * (simulation.max_photons - simulation.min_photons)
        samples.append(torch.stack([z, y.clamp(0, size - 1), x.clamp(0, size - 1), photons], dim=1))
    return samples


def bead_volume(beads: torch.Tensor, size: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """A (size, size, size) volume with each bead's weight (default its photons) at its voxel."""
    volume = torch.zeros(size, size, size)
    positions = beads[:, :3].long()
    values = beads[:, 3] if weights is None else weights
    volume.index_put_((positions[:, 0], positions[:, 1], positions[:, 2]), values.to(torch.float32), accumulate=True)
    return volume


def convolve(objects: torch.Tensor, psfs: torch.Tensor) -> torch.Tensor:
    """Circular convolution of objects (B, z, y, x) with PSFs centred at size//2 (B, z, y, x)."""
    kernel = torch.fft.rfftn(torch.fft.ifftshift(psfs, dim=(-3, -2, -1)), dim=(-3, -2, -1))
    image = torch.fft.irfftn(torch.fft.rfftn(objects, dim=(-3, -2, -1)) * kernel, s=objects.shape[-3:], dim=(-3, -2, -1))
    return image.clamp_min(0)


def camera(photons: torch.Tensor, simulation: Simulation, generator: torch.Generator) -> torch.Tensor:
    """sCMOS counts from expected photons: QE, Poisson shot noise, Gaussian read noise, gain and offset, clipped at 0."""
    electrons = torch.poisson(photons * simulation.quantum_efficiency, generator=generator)
    read_sigma_electrons = simulation.read_noise_counts * simulation.electrons_per_count
    electrons = electrons + torch.randn(photons.shape, generator=generator) * read_sigma_electrons
    return (electrons / simulation.electrons_per_count + simulation.offset_counts).clamp_min(0)


def tukey(length: int, alpha: float = 0.5, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """1D Tukey (tapered cosine) window of `length` samples."""
    if length < 2 or alpha <= 0:
        return torch.ones(length, dtype=dtype)
    x = torch.linspace(0, 1, length, dtype=torch.float64)
    window = torch.ones(length, dtype=torch.float64)
    edge = alpha / 2
    low, high = x < edge, x > 1 - edge
    window[low] = 0.5 * (1 + torch.cos(math.pi * (2 * x[low] / alpha - 1)))
    window[high] = 0.5 * (1 + torch.cos(math.pi * (2 * x[high] / alpha - 2 / alpha + 1)))
    return window.to(dtype)


def lateral_tukey(size: int, alpha: float = 0.5) -> torch.Tensor:
    """Radial (xy cylinder) Tukey window of shape (size, size): 1 in the centre, tapering to 0 at radius size/2."""
    axis = torch.arange(size, dtype=torch.float64) - size / 2
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    r = torch.sqrt(x**2 + y**2) / (size / 2)  # 0 at the centre, 1 at the edge
    fraction = (1 - r).clamp(0, 1)  # distance to the edge as a fraction of the radius
    window = torch.where(fraction >= alpha / 2, torch.ones_like(r), 0.5 * (1 - torch.cos(math.pi * fraction / (alpha / 2))))
    return window.to(torch.float32)


def preprocess(counts: torch.Tensor, simulation: Simulation) -> torch.Tensor:
    """Removes the camera offset, applies the lateral Tukey window and scales each volume (B, z, y, x) to max 1."""
    signal = (counts - simulation.offset_counts).clamp_min(0)
    signal = signal * lateral_tukey(counts.shape[-1]).to(counts.device)
    peak = signal.amax(dim=(-3, -2, -1), keepdim=True).clamp_min(1e-12)
    return signal / peak
