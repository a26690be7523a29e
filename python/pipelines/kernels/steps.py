"""The training and inference steps of each pipeline, as the profile measures them and the swap benchmark times them.

AOViFT: training = ViT forward + MSE + backward + AdamW on a batch of stored Fourier embeddings (what `train` runs);
inference = bead volumes -> Fourier embedding (bead removal, 3D FFT, phase unwrap) -> ViT forward (what `predict`
and the correction loop run on fresh volumes). ExFM: training = draw a batch of rows from the stream (jagged
select) + forward + the variant's loss + backward + Adam (what `train-vertical` runs); inference = select +
forward without gradients. `outputs()` runs a step once from a fixed state and returns what it produced, so a
swapped kernel can be compared with the torch ops (loss, updated parameters, predictions).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict

import torch

PIPELINES = ("aovift", "exfm")


class Steps:
    """A pipeline's steps: `step(kind)` runs one (for timing), `outputs(kind)` returns its results from a fixed state."""

    name = ""
    kinds = ("training", "inference")

    def step(self, kind: str) -> Any:
        return self._steps()[kind]()

    def _steps(self) -> Dict[str, Callable[[], Any]]:
        raise NotImplementedError

    def outputs(self, kind: str) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def describe(self) -> Dict[str, Any]:
        raise NotImplementedError


class AoviftSteps(Steps):
    name = "aovift"

    def __init__(self, preset: str = "vit-tiny", batch: int = 8, seed: int = 0, device: str = "cpu", model: torch.nn.Module | None = None,
                 microscope=None, simulation=None):
        from ..aovift.aberrations import sample_aberrations
        from ..aovift.config import Microscope, Simulation
        from ..aovift.dataset import Imager
        from ..aovift.imaging import place_beads
        from ..aovift.metrics import live_only
        from ..aovift.models import build_model, describe, model_spec

        torch.manual_seed(seed)
        self.device = device
        self.model = (model if model is not None else build_model(model_spec(preset))).to(device)
        self.label = describe(self.model)
        microscope = microscope or Microscope(size=self.model.config.image_size)
        simulation = simulation or Simulation()
        generator = torch.Generator().manual_seed(seed)
        self.imager = Imager(microscope, simulation, device)
        coefficients = sample_aberrations(batch, simulation, generator)
        self.volumes = self.imager.image(coefficients, place_beads(batch, microscope, simulation, generator), generator).to(device)
        with torch.no_grad():
            self.embeddings = self.imager.embedder(self.volumes)
        self.targets = live_only(coefficients).to(device) / 0.1  # scaled as in training.train
        self.optimiser = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
        self.batch = batch
        self._initial = (copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimiser.state_dict()))

    def _train(self) -> torch.Tensor:
        self.model.train()
        loss = torch.nn.functional.mse_loss(self.model(self.embeddings), self.targets)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimiser.step()
        return loss.detach()

    def _infer(self) -> torch.Tensor:
        self.model.eval()
        with torch.no_grad():
            return self.model(self.imager.embedder(self.volumes))

    def _steps(self):
        return {"training": self._train, "inference": self._infer}

    def outputs(self, kind: str) -> Dict[str, torch.Tensor]:
        self.model.load_state_dict(self._initial[0])
        self.optimiser.load_state_dict(self._initial[1])
        if kind == "inference":
            with torch.no_grad():
                embeddings = self.imager.embedder(self.volumes)
            return {"embeddings": embeddings, "predictions": self._infer()}
        loss = self._train()
        result = {"loss": loss, **{f"param.{name}": value.detach().clone() for name, value in self.model.named_parameters()}}
        self.model.load_state_dict(self._initial[0])
        self.optimiser.load_state_dict(self._initial[1])
        return result

    def describe(self) -> Dict[str, Any]:
        return {"pipeline": "aovift", "model": self.label, "batch": self.batch, "volume": list(self.volumes.shape[1:])}


class ExfmSteps(Steps):
    name = "exfm"

    def __init__(self, target: str = "fm", batch: int = 1024, examples: int = 8192, seed: int = 0, device: str = "cpu", data=None,
                 model=None):
        from ..exfm.config import DataConfig, FM_DEFAULT, ModelConfig, VM_DEFAULT
        from ..exfm.data import generate_stream
        from ..exfm.losses import exfm_loss
        from ..exfm.vertical import build_vertical

        if target not in ("fm", "vm"):
            raise ValueError(f"target must be 'fm' or 'vm', got {target!r}")
        torch.manual_seed(seed)
        self.device, self.target, self.batch_size = device, target, batch
        stream, meta = generate_stream(data or DataConfig(windows=2, domains=1, examples_per_window=max(examples // 2, batch), seed=seed))
        if stream.rows < batch:
            raise ValueError(f"batch {batch} exceeds the {stream.rows} generated examples")
        self.stream = stream.to(device)
        self.variant = "adapter" if target == "vm" else "plain"
        architecture = model or ModelConfig(**(VM_DEFAULT if target == "vm" else FM_DEFAULT))
        self.model = build_vertical(meta["vocabulary"], meta["dense_features"], architecture, self.variant, 8).to(device)
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        generator = torch.Generator().manual_seed(seed)
        self.fm_logit = torch.randn(stream.rows, generator=generator).to(device)
        self.generator = generator
        self.loss_fn = exfm_loss
        self.fixed_rows = torch.randint(0, stream.rows, (batch,), generator=torch.Generator().manual_seed(seed + 1)).to(device)
        self._initial = (copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimiser.state_dict()))

    def _rows(self) -> torch.Tensor:
        return torch.randint(0, self.stream.rows, (self.batch_size,), generator=self.generator).to(self.device)

    def _train(self, rows: torch.Tensor | None = None) -> torch.Tensor:
        rows = self._rows() if rows is None else rows
        part = self.stream.select(rows)
        self.model.train()
        outputs = self.model(part)
        loss, _ = self.loss_fn(self.model, outputs, part.label, self.fm_logit[rows], self.variant, 1.0, 1.0)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        return loss.detach()

    def _infer(self, rows: torch.Tensor | None = None) -> torch.Tensor:
        rows = self._rows() if rows is None else rows
        self.model.eval()
        with torch.no_grad():
            return self.model(self.stream.select(rows))["serve"]

    def _steps(self):
        return {"training": self._train, "inference": self._infer}

    def outputs(self, kind: str) -> Dict[str, torch.Tensor]:
        self.model.load_state_dict(self._initial[0])
        self.optimiser.load_state_dict(self._initial[1])
        if kind == "inference":
            return {"serve": self._infer(self.fixed_rows)}
        loss = self._train(self.fixed_rows)
        result = {"loss": loss, **{f"param.{name}": value.detach().clone() for name, value in self.model.named_parameters()}}
        self.model.load_state_dict(self._initial[0])
        self.optimiser.load_state_dict(self._initial[1])
        return result

    def describe(self) -> Dict[str, Any]:
        return {"pipeline": "exfm", "target": self.target, "variant": self.variant, "batch": self.batch_size,
                "parameters": sum(p.numel() for p in self.model.parameters())}


def build_steps(pipeline: str, **options) -> Steps:
    """The steps of 'aovift' (options: preset, batch, seed, device) or 'exfm' (target, batch, examples, seed, device)."""
    if pipeline == "aovift":
        return AoviftSteps(**options)
    if pipeline == "exfm":
        return ExfmSteps(**options)
    raise ValueError(f"pipeline must be one of {PIPELINES}, got {pipeline!r}")
