"""Issue 17: the sign of even Zernike modes (astigmatism, quadrafoil) must reach the embedding consistently.

Physics: flipping an even mode mirrors the widefield PSF in z, PSF(-a)(r, z) = PSF(+a)(r, -z), and the PSF stays
centrosymmetric in r, so the OTF is conjugated: the phase planes must negate (kz != 0) and the kz = 0 plane, where
the OTF is real, must be the same for +a and -a. Flipping an odd mode conjugates the kz = 0 plane.
"""
import torch

from pipelines.aovift.config import Microscope, Simulation
from pipelines.aovift.dataset import Imager
from pipelines.aovift.embedding import FourierEmbedder, unwrapped_phase
from pipelines.aovift.imaging import place_beads
from pipelines.aovift.psf import PsfGenerator

MICROSCOPE = Microscope(size=32)
GENERATOR = PsfGenerator(MICROSCOPE)
EVEN = (3, 5, 10, 11, 13, 14)
ODD = (6, 7, 8, 9)


def embed_pair(mode: int, amplitude: float, phase_mode: str) -> torch.Tensor:
    coefficients = torch.zeros(2, 15)
    coefficients[0, mode], coefficients[1, mode] = amplitude, -amplitude
    psf = GENERATOR(coefficients)
    return FourierEmbedder(MICROSCOPE, phase_mode=phase_mode)(psf / psf.amax(dim=(1, 2, 3), keepdim=True), remove_interference=False)


def test_even_modes_flip_the_kz_planes_and_leave_kz0_alone():
    for mode in EVEN:
        plus, minus = embed_pair(mode, 0.06, "modulo-pi")
        # Amplitude is sign-blind, as it must be (up to the one unpaired z plane of an even-sized grid).
        assert (plus[:3] - minus[:3]).abs().mean() < 0.03, mode
        assert (plus[3] - minus[3]).abs().max() < 1e-3, mode  # kz = 0: real OTF, identical planes
        for plane in (4, 5):
            signal = (plus[plane] - minus[plane]).abs().mean()
            assert signal > 0.1, (mode, plane)  # the sign is there...
            assert (plus[plane] + minus[plane]).abs().mean() < 0.1 * signal, (mode, plane)  # ...antisymmetrically


def test_odd_modes_flip_the_kz0_plane():
    for mode in ODD:
        plus, minus = embed_pair(mode, 0.06, "modulo-pi")
        signal = (plus[3] - minus[3]).abs().mean()
        assert signal > 0.2, mode
        assert (plus[3] + minus[3]).abs().max() < 1e-3, mode


def test_the_full_phase_unwrap_was_the_defect_on_kz0():
    """The first embedding unwrapped angle(OTF): the contrast reversals of a real OTF are +-pi jumps whose direction is
    arbitrary, so the kz = 0 plane of +a and -a differ by multiples of pi although the OTFs are equal."""
    for mode in (3, 5, 14):
        plus, minus = embed_pair(mode, 0.06, "full")
        assert (plus[3] - minus[3]).abs().max() > 3.0, mode
        plus, minus = embed_pair(mode, 0.06, "modulo-pi")
        assert (plus[3] - minus[3]).abs().max() < 1e-3, mode


def test_conjugate_otf_gives_exactly_negated_phase():
    generator = torch.Generator().manual_seed(0)
    transfer = torch.complex(torch.randn(3, 32, 32, generator=generator), torch.randn(3, 32, 32, generator=generator))
    mask = torch.ones(32, 32, dtype=torch.bool)
    assert torch.allclose(unwrapped_phase(transfer.conj(), mask), -unwrapped_phase(transfer, mask), atol=1e-5)
    # Real OTFs of either sign carry no phase at all.
    signs = torch.where(torch.rand(32, 32, generator=generator) < 0.5, -1.0, 1.0)
    assert unwrapped_phase(torch.complex(signs * 2, torch.zeros(32, 32)), mask).abs().max() < 1e-6


def test_with_beads_and_noise_the_sign_pattern_is_consistent_for_astigmatism():
    """Through bead removal and camera noise, +a and -a give phase planes whose difference points the same way in every sample."""
    simulation = Simulation()
    imager = Imager(MICROSCOPE, simulation)
    count = 4
    beads = place_beads(count, MICROSCOPE, simulation, torch.Generator().manual_seed(5))
    for mode in (3, 14):
        clean_plus, clean_minus = embed_pair(mode, 0.06, "modulo-pi")
        template = (clean_plus - clean_minus)[4:6].flatten()
        embeddings = []
        for sign in (1.0, -1.0):
            coefficients = torch.zeros(count, 15)
            coefficients[:, mode] = sign * 0.06
            embeddings.append(imager.embedder(imager.image(coefficients, beads, torch.Generator().manual_seed(7))))
        difference = (embeddings[0] - embeddings[1])[:, 4:6].flatten(1)
        correlation = difference @ template / (difference.norm(dim=1) * template.norm())
        assert (correlation > 0.2).all() and correlation.mean() > 0.4, (mode, correlation)
