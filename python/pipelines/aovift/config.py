"""Configuration records of the pipeline (microscope, simulation), with validation that names the bad field."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


class ConfigError(ValueError):
    """A bad argument from the caller; the message names the field and what was expected."""


def build(cls, values: dict[str, Any] | None, where: str):
    """Builds dataclass `cls` from a dict, rejecting unknown keys with the list of known ones."""
    values = dict(values or {})
    known = {item.name for item in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; known fields: {', '.join(sorted(known))}")
    try:
        instance = cls(**values)
    except TypeError as error:
        raise ConfigError(f"{where}: {error}") from error
    instance.validate(where)
    return instance


def require(condition: bool, message: str) -> None:
    """Raises ConfigError with `message` when `condition` is false."""
    if not condition:
        raise ConfigError(message)


@dataclass
class Microscope:
    """Widefield detection optics and sampling of the simulated volume."""

    wavelength_um: float = 0.510
    numerical_aperture: float = 1.0
    refractive_index: float = 1.33
    lateral_voxel_um: float = 0.125
    axial_voxel_um: float = 0.2
    size: int = 32  # voxels along z, y and x

    def validate(self, where: str = "microscope") -> None:
        """Checks physical plausibility and that the pupil is sampled without aliasing."""
        require(self.wavelength_um > 0, f"{where}.wavelength_um must be > 0")
        require(0 < self.numerical_aperture < self.refractive_index,
                f"{where}.numerical_aperture must be in (0, refractive_index={self.refractive_index})")
        require(self.lateral_voxel_um > 0 and self.axial_voxel_um > 0, f"{where}: voxel sizes must be > 0")
        require(self.size in (16, 32, 64, 128), f"{where}.size must be one of 16, 32, 64, 128 (got {self.size})")
        nyquist = 1 / (2 * self.lateral_voxel_um)
        require(2 * self.numerical_aperture / self.wavelength_um <= nyquist * 1.0001,
                f"{where}: the OTF support 2*NA/lambda={2 * self.numerical_aperture / self.wavelength_um:.2f} cycles/um "
                f"exceeds the lateral Nyquist frequency {nyquist:.2f}; use lateral_voxel_um <= "
                f"{self.wavelength_um / (4 * self.numerical_aperture):.4f}")


@dataclass
class Simulation:
    """How aberrations, beads and camera noise are drawn for a synthetic dataset."""

    min_rms_um: float = 0.0
    max_rms_um: float = 0.12
    distributions: tuple[str, ...] = ("single", "powerlaw", "dirichlet", "bimodal")
    min_beads: int = 1
    max_beads: int = 5
    min_photons: float = 5.0e4
    max_photons: float = 2.0e5
    quantum_efficiency: float = 0.82
    read_noise_counts: float = 40.0
    electrons_per_count: float = 0.22
    offset_counts: float = 100.0
    # ANSI modes that may be aberrated; empty means every live mode (zernike.LIVE_MODES).
    modes: tuple[int, ...] = ()
    # Photons per bead drawn uniformly in [min, max] (False) or log-uniformly (True, for a wide low-photon range).
    log_photons: bool = False

    def validate(self, where: str = "simulation") -> None:
        """Checks ranges of every field."""
        from .zernike import LIVE_MODES
        self.distributions = tuple(self.distributions)
        self.modes = tuple(int(mode) for mode in self.modes)
        require(set(self.modes) <= set(LIVE_MODES) and len(set(self.modes)) == len(self.modes),
                f"{where}.modes must be distinct live ANSI modes from {list(LIVE_MODES)} (piston, tip, tilt, defocus are fixed)")
        known = {"single", "powerlaw", "dirichlet", "bimodal"}
        require(len(self.distributions) > 0 and set(self.distributions) <= known,
                f"{where}.distributions must be a non-empty subset of {sorted(known)}")
        require(0 <= self.min_rms_um <= self.max_rms_um <= 1.0,
                f"{where}: need 0 <= min_rms_um <= max_rms_um <= 1.0 um RMS")
        require(1 <= self.min_beads <= self.max_beads <= 20, f"{where}: need 1 <= min_beads <= max_beads <= 20")
        require(0 < self.min_photons <= self.max_photons, f"{where}: need 0 < min_photons <= max_photons")
        require(0 < self.quantum_efficiency <= 1, f"{where}.quantum_efficiency must be in (0, 1]")
        require(self.read_noise_counts >= 0 and self.electrons_per_count > 0 and self.offset_counts >= 0,
                f"{where}: camera noise parameters must be non-negative (electrons_per_count > 0)")


def to_dict(instance) -> dict[str, Any]:
    """Plain-dict form of a config record (tuples become lists, for JSON)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(instance).items()}


def microscope_from(values: dict[str, Any] | None) -> Microscope:
    """Validated Microscope from a dict (defaults for missing fields)."""
    return build(Microscope, values, "microscope")


def simulation_from(values: dict[str, Any] | None) -> Simulation:
    """Validated Simulation from a dict (defaults for missing fields)."""
    return build(Simulation, values, "simulation")


