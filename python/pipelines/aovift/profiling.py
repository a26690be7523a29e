"""Per-operator time breakdown of the embedding and the model forward (torch.profiler), turned into kernel specs."""
from __future__ import annotations

import os
import time
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile as torch_profile, record_function

from .aberrations import sample_aberrations
from .config import ConfigError, Microscope, Simulation
from .dataset import Imager
from .imaging import place_beads
from .models import build_model, describe, model_spec
from .spec_writer import build_specs, to_yaml
from .training import load_checkpoint
from .vit import AOViFT


def _rows(events, key: str, limit: int) -> list[dict[str, Any]]:
    rows = [{"name": event.key, "calls": int(event.count),
             "self_ms": round(event.self_cpu_time_total / 1000, 3), "total_ms": round(event.cpu_time_total / 1000, 3)}
            for event in events]
    return sorted(rows, key=lambda row: row[key], reverse=True)[:limit]


def profile(out_dir: str, checkpoint: str | None = None, preset: str = "vit-tiny", batch: int = 16, repeats: int = 3, log=None) -> dict[str, Any]:
    """Profiles embedding + forward on a simulated batch, writes kernel specs (YAML) to out_dir, returns breakdown and paths."""
    if checkpoint:
        model, data = load_checkpoint(checkpoint)
        microscope, simulation = data["microscope"], data["simulation"]
    else:
        model = build_model(model_spec(preset))
        microscope, simulation = Microscope(size=model.config.image_size), Simulation()
    if not isinstance(model, AOViFT):
        raise ConfigError(f"profile needs a Fourier ViT (got {describe(model)}); pick a vit-* preset or a ViT checkpoint")
    log = log or (lambda message: None)
    generator = torch.Generator().manual_seed(0)
    imager = Imager(microscope, simulation)
    volumes = imager.image(sample_aberrations(batch, simulation, generator), place_beads(batch, microscope, simulation, generator), generator)
    model.eval()
    with torch.no_grad():
        model(imager.embedder(volumes))  # warm-up: first calls allocate and pick kernels
        with torch_profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])) as profiler:
            for _ in range(repeats):
                with record_function("aovift.embedding"):
                    embeddings = imager.embedder(volumes)
                with record_function("aovift.forward"):
                    model(embeddings)
        started = time.perf_counter()
        for _ in range(repeats):
            model(embeddings)
        forward_ms = (time.perf_counter() - started) / repeats * 1000
    events = profiler.key_averages()
    regions = [event for event in events if event.key.startswith("aovift.")]
    operators = [event for event in events if not event.key.startswith("aovift.")]
    config = model.config
    specs = build_specs(config.image_size, list(config.patches), list(config.heads), batch, config.mlp_ratio)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for spec in specs:
        path = os.path.abspath(os.path.join(out_dir, f"{spec['id']}.yaml"))
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(to_yaml(spec) + "\n")
        paths.append(path)
    log(f"profile: wrote {len(paths)} specs to {out_dir}")
    return {
        "model": describe(model), "batch": batch, "repeats": repeats, "threads": torch.get_num_threads(),
        "forward_ms_per_batch": round(forward_ms, 3),
        "regions": _rows(regions, "total_ms", 20),
        "operators": _rows(operators, "self_ms", 15),
        "spec_paths": paths, "spec_ids": [spec["id"] for spec in specs],
    }
