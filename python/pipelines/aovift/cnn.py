"""Real-space baseline: a 3D convolutional network on the preprocessed volume, predicting Zernike coefficients."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import require
from .zernike import NUM_MODES


@dataclass
class CnnConfig:
    """Widths of the 3D CNN: a strided stem, then per stage a strided convolution and `depth` residual 3x3x3 blocks."""

    image_size: int = 32
    widths: tuple[int, ...] = (8, 16, 32, 64)
    depth: int = 1
    outputs: int = NUM_MODES

    def validate(self, where: str = "model") -> None:
        """Checks that the volume survives the downsampling."""
        self.widths = tuple(self.widths)
        require(len(self.widths) >= 1 and all(width >= 1 for width in self.widths), f"{where}.widths must be positive")
        require(self.image_size % (2 ** len(self.widths)) == 0,
                f"{where}: image_size {self.image_size} must be divisible by 2**len(widths)={2 ** len(self.widths)}")
        require(self.depth >= 0, f"{where}.depth must be >= 0")


class ResidualBlock3d(nn.Module):
    """Two 3x3x3 convolutions with GroupNorm and GELU, plus the identity."""

    def __init__(self, width: int):
        super().__init__()
        groups = max(1, width // 8)
        self.body = nn.Sequential(
            nn.Conv3d(width, width, 3, padding=1), nn.GroupNorm(groups, width), nn.GELU(),
            nn.Conv3d(width, width, 3, padding=1), nn.GroupNorm(groups, width),
        )
        self.activation = nn.GELU()

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        return self.activation(volume + self.body(volume))


class RealSpaceCnn(nn.Module):
    """Volumes (B, z, y, x) -> coefficients (B, 15)."""

    def __init__(self, config: CnnConfig):
        super().__init__()
        config.validate()
        self.config = config
        layers: list[nn.Module] = []
        previous = 1
        for width in config.widths:
            layers += [nn.Conv3d(previous, width, 3, stride=2, padding=1), nn.GroupNorm(max(1, width // 8), width), nn.GELU()]
            layers += [ResidualBlock3d(width) for _ in range(config.depth)]
            previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(previous, config.outputs)

    def forward(self, volumes: torch.Tensor) -> torch.Tensor:
        features = self.features(volumes[:, None].to(torch.float32))
        return self.head(features.mean(dim=(-3, -2, -1)))


def describe(config: CnnConfig) -> str:
    """One-line description of the CNN."""
    return f"3D CNN widths {'-'.join(str(width) for width in config.widths)} depth {config.depth}"


@dataclass
class FourierCnnConfig:
    """2D CNN on the Fourier embedding planes (the ViT's input, a convolutional architecture): baseline that separates input from architecture."""

    image_size: int = 32
    planes: int = 6
    widths: tuple[int, ...] = (16, 32, 64, 128)
    depth: int = 1
    outputs: int = NUM_MODES

    def validate(self, where: str = "model") -> None:
        """Checks widths and that the planes survive the downsampling."""
        self.widths = tuple(self.widths)
        require(self.planes >= 1, f"{where}.planes must be >= 1")
        require(len(self.widths) >= 1 and all(width >= 1 for width in self.widths), f"{where}.widths must be positive")
        require(self.image_size % (2 ** len(self.widths)) == 0,
                f"{where}: image_size {self.image_size} must be divisible by 2**len(widths)={2 ** len(self.widths)}")
        require(self.depth >= 0, f"{where}.depth must be >= 0")


class ResidualBlock2d(nn.Module):
    """Two 3x3 convolutions with GroupNorm and GELU, plus the identity."""

    def __init__(self, width: int):
        super().__init__()
        groups = max(1, width // 8)
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.GroupNorm(groups, width), nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1), nn.GroupNorm(groups, width),
        )
        self.activation = nn.GELU()

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        return self.activation(planes + self.body(planes))


class FourierCnn(nn.Module):
    """Embeddings (B, planes, S, S) -> coefficients (B, 15), with strided 2D convolution stages and a global mean pool."""

    def __init__(self, config: FourierCnnConfig):
        super().__init__()
        config.validate()
        self.config = config
        layers: list[nn.Module] = []
        previous = config.planes
        for width in config.widths:
            layers += [nn.Conv2d(previous, width, 3, stride=2, padding=1), nn.GroupNorm(max(1, width // 8), width), nn.GELU()]
            layers += [ResidualBlock2d(width) for _ in range(config.depth)]
            previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(previous, config.outputs)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(planes.to(torch.float32)).mean(dim=(-2, -1)))


def describe_fourier(config: FourierCnnConfig) -> str:
    """One-line description of the 2D Fourier CNN."""
    return f"2D CNN on the Fourier embedding widths {'-'.join(str(width) for width in config.widths)} depth {config.depth}"
