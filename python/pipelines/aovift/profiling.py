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
from ..kernels.profile import profile_steps
from ..kernels.steps import AoviftSteps
from .spec_writer import SOURCE, build_specs, to_yaml
from .training import load_checkpoint
from .vit import AOViFT


# The profiled region each pipeline spec implements (record_function names in embedding.py and vit.py).
SPEC_REGIONS = {
    "aovift-otf-fft3d": "aovift.embedding.fft3d",
    "aovift-patch-embed": "aovift.patch_embed",
    "aovift-attention": "aovift.attention",
    "aovift-mlp-block": "aovift.mlp",
}


def _rows(events, key: str, limit: int, shapes: bool = False) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        row = {"name": event.key, "calls": int(event.count),
               "self_ms": round(event.self_cpu_time_total / 1000, 3), "total_ms": round(event.cpu_time_total / 1000, 3)}
        if shapes:
            row["input_shapes"] = [list(shape) for shape in (event.input_shapes or [])]
        rows.append(row)
    return sorted(rows, key=lambda row: row[key], reverse=True)[:limit]


def rank_specs(region_ms: dict[str, float], max_specs: int, min_share: float) -> list[dict[str, Any]]:
    """The pipeline specs whose regions were measured, hottest first: at most max_specs, each at least min_share of the measured total."""
    measured = {spec_id: region_ms.get(region, 0.0) for spec_id, region in SPEC_REGIONS.items()}
    total = sum(measured.values())
    if total <= 0:
        return []
    ranked = sorted(((spec_id, ms) for spec_id, ms in measured.items() if ms > 0), key=lambda item: item[1], reverse=True)
    hot = [{"id": spec_id, "region": SPEC_REGIONS[spec_id], "total_ms": round(ms, 3), "share": round(ms / total, 4)}
           for spec_id, ms in ranked if ms / total >= min_share]
    return hot[:max_specs]


def profile(out_dir: str, checkpoint: str | None = None, preset: str = "vit-tiny", batch: int = 16, repeats: int = 3, log=None,
            max_specs: int = 4, min_share: float = 0.0, top_operators: int = 6, min_operator_share: float = 0.02) -> dict[str, Any]:
    """Profiles the pipeline and writes kernel specs (YAML) to out_dir; returns the breakdown and the paths.

    Operators: the training step (ViT forward, backward, AdamW on embeddings) and the inference step (volumes ->
    Fourier embedding -> ViT) are measured, aten operators ranked by self time, and the `top_operators` hottest (each
    at least `min_operator_share` of the measured time) get a spec (pipelines/kernels/catalog.py): a swappable
    operator's spec with seed kernels (the embedding's max pool, the unwrap's Poisson solve), a seeded repository
    spec (LayerNorm, GELU, softmax) or the measured aten call at the measured shapes (`hot_operators`,
    `operator_spec_paths`). Regions: embedding + forward on a simulated batch; the regions measured hottest (at most
    max_specs, each at least min_share of the pipeline regions' time) get the fixed region specs (`spec_paths`)."""
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
        with torch_profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else []),
                           record_shapes=True) as profiler:
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
    # Operators grouped by input shape, so a spec can be sized from the shapes actually measured.
    operators = [event for event in profiler.key_averages(group_by_input_shape=True) if not event.key.startswith("aovift.")]
    config = model.config
    hot = rank_specs({event.key: event.cpu_time_total / 1000 for event in regions}, max_specs, min_share)
    by_id = {spec["id"]: spec for spec in build_specs(config.image_size, list(config.patches), list(config.heads), batch, config.mlp_ratio)}
    specs = [by_id[item["id"]] for item in hot]
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for spec in specs:
        path = os.path.abspath(os.path.join(out_dir, f"{spec['id']}.yaml"))
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(to_yaml(spec) + "\n")
        paths.append(path)
    log(f"profile: wrote {len(paths)} region specs to {out_dir}")
    steps = AoviftSteps(batch=batch, model=model, microscope=microscope, simulation=simulation)
    measured = profile_steps(steps, out_dir, "aovift", SOURCE, to_yaml, top=top_operators, min_share=min_operator_share,
                             repeats=repeats, warmup=1)
    ranked = ", ".join(f"{row['operator']} {row['share']:.0%}" for row in measured["hot_operators"])
    log(f"profile: hottest measured operators {ranked}; wrote {len(measured['operator_spec_paths'])} operator specs")
    return {
        **measured,
        "model": describe(model), "batch": batch, "repeats": repeats, "threads": torch.get_num_threads(),
        "forward_ms_per_batch": round(forward_ms, 3),
        "regions": _rows(regions, "total_ms", 20),
        "operators": _rows(operators, "self_ms", 50, shapes=True),  # deep enough that the seedable LayerNorm/GELU/softmax rows stay in under load
        "hot_specs": hot,
        "spec_paths": paths, "spec_ids": [spec["id"] for spec in specs],
    }
