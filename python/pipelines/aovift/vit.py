"""Multistage vision transformer on the 6 Fourier planes: patchify, transformer blocks, merge back, re-patchify smaller."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.profiler import record_function

from .config import require
from .zernike import NUM_MODES


@dataclass
class VitConfig:
    """Shape of the multistage ViT; the token width of a stage is patch**2 so stages can be merged back into planes."""

    image_size: int = 32
    planes: int = 6
    patches: tuple[int, ...] = (16, 8)
    blocks: tuple[int, ...] = (1, 1)
    heads: tuple[int, ...] = (4, 2)
    mlp_ratio: int = 4
    radial_frequencies: int = 16
    outputs: int = NUM_MODES
    # Input planes the model reads (indices into its input); empty: all of them. The amplitude-only ablation
    # reads (0, 1, 2) of the 6-plane embedding, so it takes the same input as the full model.
    select: tuple[int, ...] = ()
    # Read-out of the last stage's tokens: "mean" pools them (the first version), "flatten" concatenates them
    # (position-aware) before the linear head; see AOViFT.
    head: str = "mean"

    def validate(self, where: str = "model") -> None:
        """Checks that patches tile the planes and heads divide each stage's width."""
        self.patches, self.blocks, self.heads = tuple(self.patches), tuple(self.blocks), tuple(self.heads)
        self.select = tuple(int(index) for index in self.select)
        require(self.head in ("mean", "flatten"), f"{where}.head must be 'mean' or 'flatten', got '{self.head}'")
        require(not self.select or len(self.select) == self.planes,
                f"{where}: select lists {len(self.select)} planes but planes is {self.planes}")
        require(len(self.patches) == len(self.blocks) == len(self.heads) >= 1,
                f"{where}: patches, blocks and heads need one entry per stage")
        for patch, heads in zip(self.patches, self.heads):
            require(patch >= 2 and self.image_size % patch == 0, f"{where}: patch {patch} must divide image_size {self.image_size}")
            require(heads >= 1 and (patch * patch) % heads == 0, f"{where}: heads {heads} must divide the stage width {patch * patch}")


class RadialPositionEncoding(nn.Module):
    """Rotation-aware position code of each patch centre in k-space: [r, sin k*theta, cos k*theta] through a linear layer."""

    def __init__(self, image_size: int, patch: int, width: int, frequencies: int):
        super().__init__()
        count = image_size // patch
        centres = (torch.arange(count, dtype=torch.float32) + 0.5) * patch - image_size / 2
        y, x = torch.meshgrid(centres, centres, indexing="ij")
        radius = torch.sqrt(x**2 + y**2).flatten() / (image_size / 2)
        theta = torch.atan2(y, x).flatten()
        orders = torch.arange(1, frequencies + 1, dtype=torch.float32)
        features = torch.cat([radius[:, None], torch.sin(theta[:, None] * orders), torch.cos(theta[:, None] * orders)], dim=1)
        self.register_buffer("features", features, persistent=False)
        self.project = nn.Linear(features.shape[1], width)

    def forward(self) -> torch.Tensor:
        return self.project(self.features)


class TransformerBlock(nn.Module):
    """Pre-norm block: multi-head self-attention then a GELU MLP, each with a residual."""

    def __init__(self, width: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, mlp_ratio * width)
        self.fc2 = nn.Linear(mlp_ratio * width, width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, length, width = tokens.shape
        with record_function("aovift.attention"):
            q, k, v = self.qkv(self.norm1(tokens)).reshape(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
            attended = F.scaled_dot_product_attention(q, k, v)
            tokens = tokens + self.proj(attended.transpose(1, 2).reshape(batch, length, width))
        with record_function("aovift.mlp"):
            tokens = tokens + self.fc2(F.gelu(self.fc1(self.norm2(tokens))))
        return tokens


class Stage(nn.Module):
    """One stage: per-plane patches of size p (width p*p) + position and plane codes, attention over all planes' patches."""

    def __init__(self, config: VitConfig, index: int):
        super().__init__()
        self.patch = config.patches[index]
        width = self.patch * self.patch
        self.embed = nn.Linear(width, width)
        self.position = RadialPositionEncoding(config.image_size, self.patch, width, config.radial_frequencies)
        self.plane = nn.Parameter(torch.zeros(config.planes, 1, width))
        self.blocks = nn.ModuleList(TransformerBlock(width, config.heads[index], config.mlp_ratio) for _ in range(config.blocks[index]))
        self.norm = nn.LayerNorm(width)

    def patchify(self, planes: torch.Tensor) -> torch.Tensor:
        """(B, P, S, S) -> (B, P, (S/p)^2, p*p), like space_to_depth per plane."""
        batch, count, size, _ = planes.shape
        p, n = self.patch, size // self.patch
        return planes.reshape(batch, count, n, p, n, p).permute(0, 1, 2, 4, 3, 5).reshape(batch, count, n * n, p * p)

    def merge(self, tokens: torch.Tensor, size: int) -> torch.Tensor:
        """Inverse of patchify: (B, P, (S/p)^2, p*p) -> (B, P, S, S)."""
        batch, count = tokens.shape[:2]
        p, n = self.patch, size // self.patch
        return tokens.reshape(batch, count, n, n, p, p).permute(0, 1, 2, 4, 3, 5).reshape(batch, count, size, size)

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, count, size, _ = planes.shape
        with record_function("aovift.patch_embed"):
            tokens = self.embed(self.patchify(planes)) + self.position()[None, None] + self.plane[None]
        patches = tokens.shape[2]
        tokens = tokens.reshape(batch, count * patches, -1)
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens)
        merged = self.merge(tokens.reshape(batch, count, patches, -1), size)
        return planes + merged, tokens


class AOViFT(nn.Module):
    """Predicts Zernike coefficients (B, 15) from Fourier embeddings (B, 6, S, S), with a long residual around each stage."""

    def __init__(self, config: VitConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.stages = nn.ModuleList(Stage(config, index) for index in range(len(config.patches)))
        last = config.patches[-1] ** 2
        tokens = config.planes * (config.image_size // config.patches[-1]) ** 2
        # Mean pooling cancels patterns whose sign changes with the k-space angle (cos 2 theta for astigmatism,
        # cos 4 theta for quadrafoil) unless the blocks first multiply content by position; a flattened read-out
        # weighs each token by where it is, as a linear fit on the embedding does.
        self.head = nn.Linear(last * tokens if config.head == "flatten" else last, config.outputs)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        if self.config.select:
            planes = planes[:, list(self.config.select)]
        tokens = planes
        for stage in self.stages:
            planes, tokens = stage(planes)
        pooled = tokens.flatten(1) if self.config.head == "flatten" else tokens.mean(dim=1)
        return self.head(pooled)


def describe(config: VitConfig) -> str:
    """One-line description, e.g. 'AOViFT p16-8 blocks 1-1 heads 4-2'."""
    join = lambda values: "-".join(str(value) for value in values)  # noqa: E731
    extra = f", planes {join(config.select)}" if config.select else ""
    extra += ", flattened read-out" if config.head == "flatten" else ""
    return f"AOViFT p{join(config.patches)} blocks {join(config.blocks)} heads {join(config.heads)} (tokens {'/'.join(str(config.planes * (config.image_size // p) ** 2) for p in config.patches)}){extra}"


