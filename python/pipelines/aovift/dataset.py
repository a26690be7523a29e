"""Synthetic datasets: aberrations -> PSFs -> bead images with camera noise -> preprocessed volumes and Fourier embeddings."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import torch

from .aberrations import sample_aberrations
from .config import ConfigError, Microscope, Simulation, microscope_from, simulation_from, to_dict
from .embedding import FourierEmbedder
from .imaging import bead_volume, camera, convolve, place_beads, preprocess
from .psf import PsfGenerator

FORMAT = "aovift-dataset-v1"


class Imager:
    """Images known beads through an aberrated microscope: PSF, convolution, camera noise, preprocessing."""

    def __init__(self, microscope: Microscope, simulation: Simulation, device: str | torch.device = "cpu"):
        self.microscope, self.simulation = microscope, simulation
        self.psfs = PsfGenerator(microscope, device)
        self.embedder = FourierEmbedder(microscope, device)

    def image(self, coefficients: torch.Tensor, beads: list[torch.Tensor], generator: torch.Generator) -> torch.Tensor:
        """Preprocessed volumes (B, z, y, x), max 1, for coefficients (B, 15) and one bead table per sample."""
        size = self.microscope.size
        objects = torch.stack([bead_volume(table, size) for table in beads]).to(self.psfs.device)
        # Convolution runs where the PSFs are (GPU if any); noise is drawn on the CPU so seeds reproduce everywhere.
        photons = convolve(objects, self.psfs(coefficients)).cpu()
        return preprocess(camera(photons, self.simulation, generator), self.simulation)


@dataclass
class Dataset:
    """Arrays of one synthetic dataset and the configuration that produced it."""

    coefficients: torch.Tensor  # (N, 15) um RMS
    embeddings: torch.Tensor  # (N, 6, size, size)
    volumes: torch.Tensor  # (N, size, size, size), float16, max 1
    bead_counts: torch.Tensor  # (N,)
    microscope: Microscope
    simulation: Simulation
    seed: int

    def __len__(self) -> int:
        return self.coefficients.shape[0]

    def save(self, path: str) -> None:
        """Writes the dataset as one torch file (folders created as needed)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        torch.save({
            "format": FORMAT, "coefficients": self.coefficients, "embeddings": self.embeddings, "volumes": self.volumes,
            "bead_counts": self.bead_counts, "microscope": to_dict(self.microscope), "simulation": to_dict(self.simulation),
            "seed": self.seed,
        }, path)


def load_dataset(path: str) -> Dataset:
    """Reads a dataset written by `simulate`; a missing or foreign file is a ConfigError."""
    if not os.path.isfile(path):
        raise ConfigError(f"dataset not found: {path}; create one with the simulate command")
    data: dict[str, Any] = torch.load(path, weights_only=False)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path} is not an AOViFT dataset (expected format {FORMAT})")
    return Dataset(data["coefficients"], data["embeddings"], data["volumes"], data["bead_counts"],
                   microscope_from(data["microscope"]), simulation_from(data["simulation"]), data["seed"])


def simulate(samples: int, seed: int, microscope: Microscope, simulation: Simulation, batch: int = 128,
             device: str = "cpu", log=None) -> Dataset:
    """Draws `samples` aberrations and bead images deterministically from `seed` and embeds them."""
    if samples < 1:
        raise ConfigError("samples must be >= 1")
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    generator = torch.Generator().manual_seed(seed)
    imager = Imager(microscope, simulation, device)
    coefficients = sample_aberrations(samples, simulation, generator)
    beads = place_beads(samples, microscope, simulation, generator)
    embeddings, volumes = [], []
    started = time.time()
    for start in range(0, samples, batch):
        stop = min(samples, start + batch)
        volume = imager.image(coefficients[start:stop], beads[start:stop], generator)
        embeddings.append(imager.embedder(volume).cpu())
        volumes.append(volume.to(torch.float16).cpu())
        log(f"simulate: {stop}/{samples} samples ({time.time() - started:.1f} s)")
    counts = torch.tensor([table.shape[0] for table in beads])
    return Dataset(coefficients, torch.cat(embeddings), torch.cat(volumes), counts, microscope, simulation, seed)
