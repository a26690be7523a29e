"""AOViFT Fourier embedding: phase unwrapping and analytic cases (no aberration, known tilt, known axial defocus)."""
import math

import torch

from pipelines.aovift.config import Microscope
from pipelines.aovift.embedding import FourierEmbedder, band_offsets, otf
from pipelines.aovift.psf import PsfGenerator
from pipelines.aovift.unwrap import unwrap_phase, wrap

MICROSCOPE = Microscope(size=32)
EMBEDDER = FourierEmbedder(MICROSCOPE)
GENERATOR = PsfGenerator(MICROSCOPE)
DK = 1 / (MICROSCOPE.size * MICROSCOPE.lateral_voxel_um)
DKZ = 1 / (MICROSCOPE.size * MICROSCOPE.axial_voxel_um)


IDEAL = otf(GENERATOR(torch.zeros(1, 15)))[0].abs()


def core(first: int = 0, stop: int = 1, fraction: float = 0.02) -> torch.Tensor:
    """kx-ky pixels where the ideal OTF exceeds `fraction` of its peak on every kz plane of offsets [first, stop).

    Below that level the discretised OTF has tiny negative lobes (phase pi) that are no part of the analytic case.
    """
    return (IDEAL[16 + first:16 + stop] > fraction * IDEAL.max()).all(dim=0)


def test_unwrap_recovers_a_steep_consistent_phase_exactly_inside_the_mask():
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    truth = 0.03 * ((x - 16) ** 2 + (y - 16) ** 2) + 0.7 * x - 11.2
    mask = ((x - 16) ** 2 + (y - 16) ** 2 < 14**2)
    noisy_outside = wrap(truth) + (~mask) * torch.randn(32, 32, generator=torch.Generator().manual_seed(0)) * 3
    result = unwrap_phase(noisy_outside, mask)
    difference = (result - truth)[mask]
    steps = difference / (2 * math.pi)
    assert truth[mask].max() - truth[mask].min() > 15  # several wraps
    assert torch.allclose(steps, steps.round(), atol=1e-4) and steps.round().unique().numel() == 1
    assert (result[~mask] == 0).all()


def test_no_aberration_gives_unit_amplitude_and_zero_phase():
    psf = GENERATOR(torch.zeros(1, 15))
    planes = EMBEDDER(psf / psf.max(), remove_interference=False)[0]
    mask = EMBEDDER.mask[16]
    assert planes.shape == (6, 32, 32)
    assert torch.allclose(planes[0][mask], torch.ones(()), atol=1e-5)
    assert (planes[0][~mask] == 0).all()
    assert planes[3:].abs().max() < 1e-4  # everywhere: inside the support the phase is 0, outside it is masked


def test_known_tilt_gives_a_linear_phase_ramp_beyond_pi():
    shift_um = 0.4
    coefficients = torch.zeros(1, 15)
    coefficients[0, 2] = shift_um * MICROSCOPE.numerical_aperture / 2
    psf = GENERATOR(coefficients)
    planes = EMBEDDER(psf / psf.max(), remove_interference=False)[0]
    kx = (torch.arange(32) - 16) * DK
    expected = (2 * math.pi * kx * shift_um)[None, :].expand(32, 32)
    inside = EMBEDDER.mask[16]
    assert expected[inside].abs().max() > 2 * math.pi  # unwrapping was needed
    assert (planes[3] - expected)[inside].abs().max() < 1e-3
    assert torch.allclose(planes[0][EMBEDDER.mask[16]], torch.ones(()), atol=1e-3)


def test_known_axial_defocus_gives_the_expected_phase_per_kz_band():
    # The phase is unwrapped modulo pi (issue 17), so each plane's constant is known up to pi: the shift keeps every
    # plane's constant phase within (-pi/2, pi/2) (0.4 um would put the outermost plane exactly at -pi/2).
    shift_um = 0.3
    psf = GENERATOR(torch.zeros(1, 15), axial_shift_um=shift_um)
    planes = EMBEDDER(psf / psf.max(), remove_interference=False)[0]
    first, second = band_offsets(MICROSCOPE)
    masks = EMBEDDER.mask[16:16 + second].float()
    offsets = torch.arange(second, dtype=torch.float32)[:, None, None]
    # A shift by z0 multiplies the OTF by exp(-2 pi i kz z0): constant phase on each kz plane.
    expected = -2 * math.pi * offsets * DKZ * shift_um * masks
    inside = core(first, second)
    assert (planes[3][core()]).abs().max() < 0.02
    assert (planes[4] - expected[:first].mean(0))[core(0, first)].abs().max() < 0.12
    assert (planes[5] - expected[first:].mean(0))[inside].abs().max() < 0.12
    assert (planes[5] - expected[first:].mean(0))[inside].abs().mean() < 0.02
    assert planes[5][inside].mean() < -0.5  # a real signal, not zero


def test_bead_removal_recovers_the_embedding_of_an_off_centre_bead():
    coefficients = torch.zeros(1, 15)
    coefficients[0, 7] = 0.06
    psf = GENERATOR(coefficients)
    shifted = torch.roll(psf, shifts=(3, -5, 4), dims=(1, 2, 3))
    centred = EMBEDDER(psf / psf.max())[0]
    moved = EMBEDDER(shifted / shifted.max())[0]
    inside = core()
    assert (centred - moved)[:, inside].abs().max() < 1e-3
    assert centred[3][inside].abs().max() > 0.3  # coma leaves a phase signature
