"""Widefield 3D point-spread functions from an aberrated pupil, by angular-spectrum defocus propagation."""
from __future__ import annotations

import math

import torch

from .config import Microscope
from .zernike import NUM_MODES, zernike_basis


def frequency_grid(microscope: Microscope) -> tuple[torch.Tensor, torch.Tensor]:
    """Lateral spatial frequencies (ky, kx) in cycles/um on the unshifted FFT grid, each (size, size)."""
    k = torch.fft.fftfreq(microscope.size, d=microscope.lateral_voxel_um, dtype=torch.float64)
    ky, kx = torch.meshgrid(k, k, indexing="ij")
    return ky, kx


def axial_positions(microscope: Microscope) -> torch.Tensor:
    """Axial coordinate (um) of each z plane; plane size//2 is the focal plane."""
    return (torch.arange(microscope.size, dtype=torch.float64) - microscope.size // 2) * microscope.axial_voxel_um


class PsfGenerator:
    """Builds batches of 3D widefield PSFs (z, y, x), each normalised to sum 1 and centred at size//2."""

    def __init__(self, microscope: Microscope, device: str | torch.device = "cpu"):
        microscope.validate()
        self.microscope = microscope
        self.device = torch.device(device)
        ky, kx = frequency_grid(microscope)
        kr = torch.sqrt(kx**2 + ky**2)
        cutoff = microscope.numerical_aperture / microscope.wavelength_um
        self.pupil_mask = (kr <= cutoff).to(torch.float32)
        rho = kr / cutoff
        theta = torch.atan2(ky, kx)
        # Zernike values on the pupil, zero outside it: (modes, size, size).
        self.basis = (zernike_basis(rho, theta, NUM_MODES) * self.pupil_mask).to(torch.float32)
        kz = torch.sqrt(torch.clamp((microscope.refractive_index / microscope.wavelength_um) ** 2 - kr**2, min=0))
        z = axial_positions(microscope)
        defocus_phase = 2 * math.pi * z[:, None, None] * kz[None]
        self.defocus = torch.polar(torch.ones_like(defocus_phase), defocus_phase).to(torch.complex64)
        self.basis = self.basis.to(self.device)
        self.pupil_mask = self.pupil_mask.to(self.device)
        self.defocus = self.defocus.to(self.device)

    def pupil(self, coefficients_um: torch.Tensor) -> torch.Tensor:
        """Complex pupil functions (B, size, size) for Zernike coefficients (B, 15) in um RMS."""
        wavefront = torch.einsum("bj,jyx->byx", coefficients_um.to(self.device, torch.float32), self.basis)
        phase = 2 * math.pi * wavefront / self.microscope.wavelength_um
        return torch.polar(self.pupil_mask.expand_as(phase), phase)

    def __call__(self, coefficients_um: torch.Tensor, axial_shift_um: float = 0.0) -> torch.Tensor:
        """PSFs (B, z, y, x) for coefficients (B, 15); `axial_shift_um` moves the focus (used by tests)."""
        coefficients_um = torch.as_tensor(coefficients_um, dtype=torch.float32)
        if coefficients_um.ndim != 2 or coefficients_um.shape[1] != NUM_MODES:
            raise ValueError(f"coefficients must have shape (batch, {NUM_MODES}), got {tuple(coefficients_um.shape)}")
        defocus = self.defocus
        if axial_shift_um:
            extra = self._shift_factor(axial_shift_um)
            defocus = defocus * extra
        field = torch.fft.ifft2(self.pupil(coefficients_um)[:, None] * defocus[None])
        intensity = field.real**2 + field.imag**2
        intensity = torch.fft.fftshift(intensity, dim=(-2, -1))
        return intensity / intensity.sum(dim=(1, 2, 3), keepdim=True)

    def _shift_factor(self, shift_um: float) -> torch.Tensor:
        """Propagator that displaces every plane by -shift_um, i.e. the PSF moves by +shift_um along z."""
        ky, kx = frequency_grid(self.microscope)
        kr = torch.sqrt(kx**2 + ky**2)
        kz = torch.sqrt(torch.clamp((self.microscope.refractive_index / self.microscope.wavelength_um) ** 2 - kr**2, min=0))
        phase = -2 * math.pi * shift_um * kz
        return torch.polar(torch.ones_like(phase), phase).to(torch.complex64).to(self.device)
