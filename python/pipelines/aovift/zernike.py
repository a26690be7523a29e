"""Orthonormal Zernike polynomials in ANSI order, and wavefront metrics (peak-to-valley, RMS)."""
from __future__ import annotations

import math

import torch

NUM_MODES = 15
# Piston, tip, tilt and defocus do not blur a bead image in a way a sensor should correct (they move it).
FIXED_MODES = (0, 1, 2, 4)
LIVE_MODES = tuple(j for j in range(NUM_MODES) if j not in FIXED_MODES)
MODE_NAMES = (
    "piston", "tilt-y", "tilt-x", "astigmatism-oblique", "defocus", "astigmatism-vertical",
    "trefoil-vertical", "coma-vertical", "coma-horizontal", "trefoil-oblique",
    "quadrafoil-oblique", "secondary-astigmatism-oblique", "spherical",
    "secondary-astigmatism-vertical", "quadrafoil-vertical",
)


def ansi_to_nm(index: int) -> tuple[int, int]:
    """Radial order n and azimuthal frequency m of the ANSI (OSA) single index j."""
    if index < 0:
        raise ValueError(f"ANSI index must be >= 0, got {index}")
    n = int(math.ceil((-3 + math.sqrt(9 + 8 * index)) / 2))
    m = 2 * index - n * (n + 2)
    return n, m


def nm_to_ansi(n: int, m: int) -> int:
    """ANSI single index of the Zernike polynomial with orders (n, m)."""
    if abs(m) > n or (n - m) % 2:
        raise ValueError(f"invalid Zernike orders n={n}, m={m}")
    return (n * (n + 2) + m) // 2


def radial_polynomial(n: int, m: int, rho: torch.Tensor) -> torch.Tensor:
    """Zernike radial polynomial R_n^|m|(rho)."""
    m = abs(m)
    result = torch.zeros_like(rho)
    for k in range((n - m) // 2 + 1):
        coefficient = (-1) ** k * math.factorial(n - k) / (
            math.factorial(k) * math.factorial((n + m) // 2 - k) * math.factorial((n - m) // 2 - k)
        )
        result = result + coefficient * rho ** (n - 2 * k)
    return result


def zernike(index: int, rho: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """RMS-normalised Zernike polynomial (unit mean square over the unit disk), zero outside the disk."""
    n, m = ansi_to_nm(index)
    normalisation = math.sqrt(n + 1) if m == 0 else math.sqrt(2 * (n + 1))
    angular = torch.cos(m * theta) if m >= 0 else torch.sin(-m * theta)
    values = normalisation * radial_polynomial(n, m, rho) * angular
    return torch.where(rho <= 1.0, values, torch.zeros_like(values))


def zernike_basis(rho: torch.Tensor, theta: torch.Tensor, modes: int = NUM_MODES) -> torch.Tensor:
    """Stack of the first `modes` Zernike polynomials evaluated on (rho, theta): shape (modes, *rho.shape)."""
    return torch.stack([zernike(j, rho, theta) for j in range(modes)])


def unit_disk_samples(points: int = 256, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Polar coordinates (rho, theta) of the pixel centres of a points x points grid that lie in the unit disk."""
    axis = (torch.arange(points, dtype=dtype) + 0.5) / points * 2 - 1
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    rho = torch.sqrt(x**2 + y**2)
    inside = rho <= 1.0
    return rho[inside], torch.atan2(y, x)[inside]


class WavefrontMetrics:
    """Evaluates wavefronts from Zernike coefficients on a sampled unit disk (the basis is built once)."""

    def __init__(self, wavelength_um: float, points: int = 256, modes: int = NUM_MODES):
        if wavelength_um <= 0:
            raise ValueError(f"wavelength must be positive, got {wavelength_um}")
        rho, theta = unit_disk_samples(points)
        self.basis = zernike_basis(rho, theta, modes).to(torch.float32)
        self.wavelength_um = wavelength_um

    def peak_to_valley_waves(self, coefficients_um: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """Peak-to-valley of the wavefront sum_j a_j Z_j over the disk, in waves; coefficients (B, modes) in micrometres."""
        coefficients = torch.as_tensor(coefficients_um, dtype=torch.float32).reshape(-1, self.basis.shape[0])
        values = []
        for start in range(0, coefficients.shape[0], chunk):
            wavefront = coefficients[start:start + chunk] @ self.basis
            values.append(wavefront.amax(dim=1) - wavefront.amin(dim=1))
        if not values:
            return torch.zeros(0)
        return torch.cat(values) / self.wavelength_um


def rms_um(coefficients_um: torch.Tensor) -> torch.Tensor:
    """RMS wavefront error in micrometres (the coefficient norm, since the basis is orthonormal), piston excluded."""
    return torch.linalg.vector_norm(torch.as_tensor(coefficients_um)[..., 1:], dim=-1)


def marechal_strehl(coefficients_um: torch.Tensor, wavelength_um: float) -> torch.Tensor:
    """Maréchal approximation of the Strehl ratio, exp(-(2 pi RMS / lambda)^2)."""
    return torch.exp(-(2 * math.pi * rms_um(coefficients_um) / wavelength_um) ** 2)
