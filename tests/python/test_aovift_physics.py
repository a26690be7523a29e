"""AOViFT optics: Zernike basis, PSF normalisation and centring, aberration sampling, camera noise determinism."""
import math

import pytest
import torch

from pipelines.aovift.aberrations import sample_aberrations, twin_pairs
from pipelines.aovift.config import ConfigError, Microscope, Simulation, microscope_from
from pipelines.aovift.imaging import camera
from pipelines.aovift.psf import PsfGenerator
from pipelines.aovift.zernike import FIXED_MODES, WavefrontMetrics, ansi_to_nm, nm_to_ansi, unit_disk_samples, zernike_basis

SMALL = Microscope(size=16, lateral_voxel_um=0.125, axial_voxel_um=0.2)


def test_ansi_indexing_round_trips_and_matches_known_modes():
    assert [ansi_to_nm(j) for j in (0, 1, 2, 3, 4, 5, 7, 12)] == [(0, 0), (1, -1), (1, 1), (2, -2), (2, 0), (2, 2), (3, -1), (4, 0)]
    assert all(nm_to_ansi(*ansi_to_nm(j)) == j for j in range(15))


def test_zernike_basis_is_orthonormal_on_a_fine_disk_grid():
    rho, theta = unit_disk_samples(300)
    basis = zernike_basis(rho, theta, 15)
    gram = basis @ basis.T / rho.numel()
    assert torch.allclose(gram, torch.eye(15, dtype=gram.dtype), atol=3e-3), (gram - torch.eye(15)).abs().max()


def test_peak_to_valley_of_pure_defocus_is_analytic():
    # Z4 = sqrt(3)(2 rho^2 - 1): P-V = 2 sqrt(3) per um of coefficient.
    metrics = WavefrontMetrics(wavelength_um=0.5, points=256)
    coefficients = torch.zeros(1, 15)
    coefficients[0, 4] = 0.1
    assert metrics.peak_to_valley_waves(coefficients).item() == pytest.approx(2 * math.sqrt(3) * 0.1 / 0.5, rel=2e-3)


def test_psf_is_normalised_and_centred_and_aberrations_lower_the_peak():
    generator = PsfGenerator(SMALL)
    coefficients = torch.zeros(2, 15)
    coefficients[1, 7] = 0.08  # coma
    psfs = generator(coefficients)
    assert psfs.shape == (2, 16, 16, 16)
    assert torch.allclose(psfs.sum(dim=(1, 2, 3)), torch.ones(2), atol=1e-5)
    ideal = psfs[0]
    assert (ideal == ideal.max()).nonzero().tolist() == [[8, 8, 8]]
    # Circular centroid (the lateral FFT grid is periodic); every z plane holds the same energy, so z is checked by the peak.
    phasor = torch.exp(2j * math.pi * torch.arange(16) / 16)
    for axes in ((0, 2), (0, 1)):
        profile = ideal.sum(dim=axes).to(torch.complex64)
        centroid = (torch.angle((profile * phasor).sum()) / (2 * math.pi) * 16) % 16
        assert float(centroid) == pytest.approx(8.0, abs=1e-3)
    assert psfs[1].max() < 0.9 * ideal.max()


def test_tilt_moves_the_psf_by_the_analytic_distance():
    # W = a * 2 rho cos(theta) shifts the focus by 2a/NA um laterally.
    generator = PsfGenerator(SMALL)
    coefficients = torch.zeros(1, 15)
    coefficients[0, 2] = 0.125 * SMALL.numerical_aperture  # a shift of 0.25 um = 2 voxels
    psf = generator(coefficients)[0]
    assert (psf == psf.max()).nonzero().tolist() == [[8, 8, 6]]


def test_sampled_aberrations_respect_fixed_modes_amplitude_and_seed():
    simulation = Simulation(min_rms_um=0.05, max_rms_um=0.1)
    first = sample_aberrations(200, simulation, torch.Generator().manual_seed(4))
    again = sample_aberrations(200, simulation, torch.Generator().manual_seed(4))
    assert torch.equal(first, again)
    assert first[:, list(FIXED_MODES)].abs().max() == 0
    rms = torch.linalg.vector_norm(first, dim=1)
    assert rms.min() >= 0.05 - 1e-6 and rms.max() <= 0.1 + 1e-6
    assert twin_pairs() == [(3, 5), (6, 9), (7, 8), (10, 14), (11, 13)]
    assert (first[:, 3:] < 0).any() and (first[:, 3:] > 0).any()


def test_camera_noise_statistics_and_determinism():
    simulation = Simulation()
    photons = torch.full((200_000,), 1000.0)
    counts = camera(photons, simulation, torch.Generator().manual_seed(0))
    electrons = (counts - simulation.offset_counts) * simulation.electrons_per_count
    assert float(electrons.mean()) == pytest.approx(820, rel=0.01)
    expected_variance = 820 + (simulation.read_noise_counts * simulation.electrons_per_count) ** 2
    assert float(electrons.var()) == pytest.approx(expected_variance, rel=0.03)
    assert torch.equal(counts, camera(photons, simulation, torch.Generator().manual_seed(0)))


def test_bad_microscope_configuration_is_named():
    with pytest.raises(ConfigError, match="numerical_aperture"):
        microscope_from({"numerical_aperture": 1.5})
    with pytest.raises(ConfigError, match="unknown field"):
        microscope_from({"wavelength": 0.5})
    with pytest.raises(ConfigError, match="Nyquist"):
        microscope_from({"lateral_voxel_um": 0.3})
