"""Training and evaluation of the ViT and the CNN on simulated datasets, with checkpoints that carry their configuration."""
from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

import torch

from .config import ConfigError, microscope_from, simulation_from, to_dict
from .dataset import Dataset
from .metrics import evaluate_predictions, live_only
from .models import build_model, count_parameters, describe, forward_flops, model_input_kind

FORMAT = "aovift-checkpoint-v1"


def inputs_of(dataset: Dataset, spec: dict[str, Any]) -> torch.Tensor:
    """The tensor a model of this spec reads: embeddings for the ViT, volumes for the CNN."""
    return dataset.embeddings if model_input_kind(spec) == "embeddings" else dataset.volumes


def check_compatible(model: torch.nn.Module, dataset: Dataset) -> None:
    """Raises a ConfigError when the dataset's volume size differs from the model's."""
    if model.config.image_size != dataset.microscope.size:
        raise ConfigError(f"the model expects size {model.config.image_size} but the dataset has size {dataset.microscope.size}; "
                          f"simulate with microscope.size={model.config.image_size} or pick a matching model preset")


def learning_rate(step: int, total: int, peak: float, warmup_fraction: float = 0.05) -> float:
    """Linear warm-up then cosine decay to zero."""
    warmup = max(1, int(total * warmup_fraction))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def predict(model: torch.nn.Module, inputs: torch.Tensor, target_scale: float, batch: int = 128, device: str = "cpu") -> torch.Tensor:
    """Coefficients in um (fixed modes zeroed) for a stack of model inputs."""
    model.eval()
    outputs = [model(inputs[start:start + batch].to(device, torch.float32)).cpu() for start in range(0, inputs.shape[0], batch)]
    return live_only(torch.cat(outputs) * target_scale)


def train(spec: dict[str, Any], train_set: Dataset, validation_set: Dataset | None, epochs: int, batch: int, lr: float,
          seed: int, target_scale: float = 0.1, weight_decay: float = 1e-2, device: str = "cpu", log=None) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Trains a model with AdamW (MSE on scaled coefficients, warm-up + cosine, clip 1) and returns it with its history."""
    if epochs < 1 or batch < 1 or lr <= 0:
        raise ConfigError("epochs and batch must be >= 1 and lr > 0")
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    torch.manual_seed(seed)
    model = build_model(spec).to(device)
    check_compatible(model, train_set)
    inputs, targets = inputs_of(train_set, spec), live_only(train_set.coefficients) / target_scale
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(train_set) / batch)
    total, step = epochs * steps_per_epoch, 0
    generator = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    started = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_set), generator=generator)
        running = 0.0
        for start in range(0, len(train_set), batch):
            rows = order[start:start + batch]
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(step, total, lr)
            loss = torch.nn.functional.mse_loss(model(inputs[rows].to(device, torch.float32)), targets[rows].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            running += loss.item() * rows.numel()
            step += 1
        record = {"epoch": epoch + 1, "train_loss": running / len(train_set), "seconds": time.time() - started}
        if validation_set is not None:
            predicted = predict(model, inputs_of(validation_set, spec), target_scale, device=device)
            result = evaluate_predictions(validation_set.coefficients, predicted, validation_set.microscope.wavelength_um)
            record["validation_residual_pv_waves_mean"] = result["residual_pv_waves"]["mean"]
            record["validation_mse_um2"] = result["mse_um2"]
        history.append(record)
        log(f"train {describe(model)}: " + ", ".join(f"{key} {value:.4g}" for key, value in record.items()))
    flops = forward_flops(model)
    summary = {
        "model": describe(model), "parameters": count_parameters(model), "forward_flops_per_sample": flops,
        # Training costs about three forward passes per sample (forward, input and weight gradients).
        "training_flops": 3 * flops * len(train_set) * epochs, "seconds": time.time() - started, "history": history,
        "target_scale": target_scale, "seed": seed, "epochs": epochs, "batch": batch, "lr": lr,
    }
    return model.cpu(), summary


def save_checkpoint(path: str, model: torch.nn.Module, spec: dict[str, Any], dataset: Dataset, summary: dict[str, Any]) -> None:
    """Writes weights, model spec, the optics the model was trained for and the training summary."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save({
        "format": FORMAT, "model": spec, "state": model.state_dict(), "target_scale": summary["target_scale"],
        "microscope": to_dict(dataset.microscope), "simulation": to_dict(dataset.simulation), "summary": summary,
    }, path)


def load_checkpoint(path: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuilds the model of a checkpoint; returns it and the checkpoint dict (microscope and simulation as records)."""
    if not os.path.isfile(path):
        raise ConfigError(f"checkpoint not found: {path}; train one with the train command")
    data = torch.load(path, weights_only=False)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path} is not an AOViFT checkpoint (expected format {FORMAT})")
    model = build_model(data["model"])
    model.load_state_dict(data["state"])
    model.eval()
    data["microscope"] = microscope_from(data["microscope"])
    data["simulation"] = simulation_from(data["simulation"])
    return model, data
