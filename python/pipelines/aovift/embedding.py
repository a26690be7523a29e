"""Fourier-domain embedding: OTF amplitude relative to the ideal OTF and unwrapped OTF phase, on three kx-ky planes each."""
from __future__ import annotations

import math

import torch

from .config import Microscope
from ..kernels import swap
from torch.profiler import record_function

from .imaging import lateral_tukey, tukey
from .psf import PsfGenerator
from .unwrap import unwrap_phase, wrap
from .zernike import NUM_MODES

# kz bands of the reference sampling (64 axial voxels of 0.2 um): offsets [0, 5) and [5, 10) from the centre.
BAND_EDGES_CYCLES_PER_UM = (5 / (64 * 0.2), 10 / (64 * 0.2))
# The original uses 8e-3; on this discretised widefield model the OTF has tiny negative lobes
# (phase pi) between 0.8% and 1.5% of the peak, so the support is cut a little higher.
MASK_THRESHOLD = 1.5e-2
AMPLITUDE_FLOOR = 0.01
# How the OTF phase is unwrapped (see FourierEmbedder): "modulo-pi" (default) or "full" (the first version, kept
# for the comparison in docs/aovift.md).
PHASE_MODES = ("modulo-pi", "full")


def otf(volumes: torch.Tensor) -> torch.Tensor:
    """Centred 3D OTF, fftshift(fftn(ifftshift(x))), of volumes (..., z, y, x)."""
    axes = (-3, -2, -1)
    return torch.fft.fftshift(torch.fft.fftn(torch.fft.ifftshift(volumes, dim=axes), dim=axes), dim=axes)


def normalised_amplitude(transfer: torch.Tensor) -> torch.Tensor:
    """|OTF| divided by the mean of the non-DC voxels within 3 voxels of DC, clipped to [0, 1], small values zeroed."""
    size = transfer.shape[-1]
    centre = size // 2
    axis = torch.arange(size, device=transfer.device) - centre
    distance = torch.sqrt(axis[:, None, None] ** 2 + axis[None, :, None] ** 2 + axis[None, None, :] ** 2)
    near = ((distance > 0) & (distance <= 3)).to(torch.float32)
    amplitude = transfer.abs()
    level = (amplitude * near).sum(dim=(-3, -2, -1), keepdim=True) / near.sum()
    amplitude = (amplitude / level.clamp_min(1e-12)).clamp(0, 1)
    return torch.where(amplitude < AMPLITUDE_FLOOR, torch.zeros_like(amplitude), amplitude)


def band_offsets(microscope: Microscope) -> tuple[int, int]:
    """kz offsets (in voxels) that end the first and second averaging bands for this axial sampling."""
    dkz = 1 / (microscope.size * microscope.axial_voxel_um)
    first = max(1, math.floor(BAND_EDGES_CYCLES_PER_UM[0] / dkz + 0.5))
    second = min(microscope.size // 2, max(first + 1, math.floor(BAND_EDGES_CYCLES_PER_UM[1] / dkz + 0.5)))
    return first, second


def find_beads(volumes: torch.Tensor, threshold: float = 0.3, max_beads: int = 10) -> torch.Tensor:
    """Delta volumes (B, z, y, x) with the value of each local maximum above `threshold` x the volume's max."""
    # stride-1 'same' max pool over a 5x7x7 window; an optimised kernel can be swapped in (pipelines/kernels/swap.py)
    pooled = swap.call("aovift.max_pool3d", volumes[:, None], 5, 7, 7)[:, 0]
    peak = volumes.amax(dim=(-3, -2, -1), keepdim=True)
    candidates = torch.where((volumes == pooled) & (volumes > threshold * peak), volumes, torch.zeros_like(volumes))
    flat = candidates.reshape(volumes.shape[0], -1)
    values, indices = flat.topk(min(max_beads, flat.shape[1]), dim=1)
    deltas = torch.zeros_like(flat)
    deltas.scatter_(1, indices, values)
    return deltas.reshape(volumes.shape)


def unwrapped_phase(transfer: torch.Tensor, mask: torch.Tensor, mode: str = "modulo-pi", iterations: int = 60) -> torch.Tensor:
    """Unwrapped phase of OTF planes (..., H, W) inside `mask`.

    "full" unwraps angle(OTF). The OTF of an aberrated widefield PSF changes sign across its zero crossings
    (contrast reversal), which is a phase jump of exactly pi whose direction (+pi or -pi) is decided by
    noise; on the kz = 0 plane of an even mode (astigmatism, quadrafoil) the OTF is real, so that plane is
    nothing but such jumps and the unwrapped result differs by multiples of 2*pi between +a and -a.
    "modulo-pi" unwraps the doubled angle, angle(OTF**2), and halves it: sign reversals vanish (2*pi = 0),
    the result is continuous through them, and conjugating the OTF negates it exactly. Flipping the sign of
    an even mode conjugates the OTF (PSF(-a)(r, z) = PSF(+a)(r, -z) and the PSF is centrosymmetric in r), and
    flipping an odd mode conjugates the kz = 0 plane, so the phase planes carry the sign of every mode
    antisymmetrically. The information given up is the sign of the OTF itself, whose magnitude is in the
    amplitude planes.
    """
    if mode not in PHASE_MODES:
        raise ValueError(f"phase mode must be one of {PHASE_MODES}, got '{mode}'")
    angle = torch.angle(transfer)
    if mode == "full":
        return unwrap_phase(angle, mask, iterations=iterations)
    return unwrap_phase(wrap(2 * angle), mask, iterations=iterations) / 2


class FourierEmbedder:
    """Turns preprocessed volumes into (B, 6, size, size) embeddings: 3 amplitude-ratio planes, then 3 phase planes."""

    def __init__(self, microscope: Microscope, device: str | torch.device = "cpu", unwrap_iterations: int = 60,
                 mask_threshold: float = MASK_THRESHOLD, phase_mode: str = "modulo-pi"):
        if phase_mode not in PHASE_MODES:
            raise ValueError(f"phase_mode must be one of {PHASE_MODES}, got '{phase_mode}'")
        self.phase_mode = phase_mode
        self.microscope = microscope
        self.device = torch.device(device)
        self.unwrap_iterations = unwrap_iterations
        size = microscope.size
        self.window = (tukey(size)[:, None, None] * tukey(size)[None, :, None] * tukey(size)[None, None, :]).to(self.device)
        ideal = PsfGenerator(microscope, self.device)(torch.zeros(1, NUM_MODES))
        ideal = ideal / ideal.amax()
        raw = otf(ideal)[0]
        self.mask = raw.abs() / raw.abs().amax() > mask_threshold
        # The data path windows twice (lateral Tukey in preprocessing, then after bead removal): so does its ideal.
        self.ideal_amplitude = {
            "plain": normalised_amplitude(raw),
            "windowed": normalised_amplitude(otf(self._window(ideal * lateral_tukey(size).to(self.device)))[0]),
        }
        self.bands = band_offsets(microscope)

    def _window(self, volumes: torch.Tensor) -> torch.Tensor:
        windowed = volumes * self.window
        return windowed / windowed.amax(dim=(-3, -2, -1), keepdim=True).clamp_min(1e-12)

    def remove_interference(self, volumes: torch.Tensor) -> torch.Tensor:
        """Estimates one centred PSF per volume by Wiener-dividing out the bead positions, then windows it."""
        axes = (-3, -2, -1)
        deltas = find_beads(volumes)
        spectrum = torch.fft.fftn(volumes, dim=axes)
        beads = torch.fft.fftn(deltas, dim=axes)
        power = beads.real**2 + beads.imag**2
        regulariser = 1e-3 * power.amax(dim=axes, keepdim=True)
        estimate = torch.fft.ifftn(spectrum * beads.conj() / (power + regulariser), dim=axes).real
        return self._window(torch.fft.fftshift(estimate, dim=axes))

    def __call__(self, volumes: torch.Tensor, remove_interference: bool = True) -> torch.Tensor:
        """Embeds volumes (B, z, y, x) scaled to max 1; set remove_interference=False for a centred PSF."""
        size = self.microscope.size
        if volumes.ndim != 4 or tuple(volumes.shape[1:]) != (size, size, size):
            raise ValueError(f"volumes must have shape (batch, {size}, {size}, {size}), got {tuple(volumes.shape)}")
        volumes = volumes.to(self.device, torch.float32)
        if remove_interference:
            with record_function("aovift.embedding.bead_removal"):
                volumes = self.remove_interference(volumes)
            ideal = self.ideal_amplitude["windowed"]
        else:
            ideal = self.ideal_amplitude["plain"]
        with record_function("aovift.embedding.fft3d"):
            transfer = otf(volumes)
        mask = self.mask & (ideal >= AMPLITUDE_FLOOR)
        ratio = torch.where(mask, normalised_amplitude(transfer) / ideal.clamp_min(AMPLITUDE_FLOOR), torch.zeros(()))
        centre = size // 2
        first, second = self.bands
        slices = slice(centre, centre + second)
        with record_function("aovift.embedding.unwrap"):
            phase = unwrapped_phase(transfer[:, slices], mask[slices], self.phase_mode, self.unwrap_iterations)
        amplitude_planes = [ratio[:, centre], ratio[:, centre:centre + first].mean(1), ratio[:, centre + first:centre + second].mean(1)]
        phase_planes = [phase[:, 0], phase[:, :first].mean(1), phase[:, first:second].mean(1)]
        return torch.stack(amplitude_planes + phase_planes, dim=1)
