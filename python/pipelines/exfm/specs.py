"""Kernel specifications (KernelSpecSchema YAML) for the ExFM hot operators, with PyTorch references."""
from __future__ import annotations

import json
import os
from typing import Dict, List

EMBEDDING_BAG_REFERENCE = '''import torch

def reference(weight, indices, offsets):
    # Table-batched form: one table holding every feature's rows; bag i sums rows indices[offsets[i]:offsets[i+1]].
    return torch.nn.functional.embedding_bag(indices, weight, offsets, mode="sum", include_last_offset=True)
'''

DOT_INTERACTION_REFERENCE = '''import torch

def reference(features):
    # DLRM interaction: dot products of every pair of the F vectors, strictly lower triangle, row-major.
    count = features.shape[1]
    gram = torch.bmm(features, features.transpose(1, 2))
    rows, cols = torch.tril_indices(count, count, offset=-1)
    return gram[:, rows, cols].contiguous()
'''

CROSS_REFERENCE = '''import torch

def reference(x0, x, weight, bias):
    # DCNv2 cross layer: x0 * (x W^T + b) + x.
    return x0 * torch.nn.functional.linear(x, weight, bias) + x
'''

MLP_REFERENCE = '''import torch

def reference(x, weight1, bias1, weight2, bias2):
    # Top of the DLRM tower: a hidden Linear+ReLU, then a Linear without activation.
    hidden = torch.relu(torch.nn.functional.linear(x, weight1, bias1))
    return torch.nn.functional.linear(hidden, weight2, bias2)
'''

LOSS_REFERENCE = '''import torch
import torch.nn.functional as F

def reference(serve, aux, adapter, label, teacher, aux_weight, adapter_weight):
    # ExFM multi-term loss: hard labels on the serving head, FM soft targets on the auxiliary head,
    # hard labels on the student adapter; each term is a mean over the batch.
    loss = (F.binary_cross_entropy_with_logits(serve, label)
            + aux_weight * F.binary_cross_entropy_with_logits(aux, teacher)
            + adapter_weight * F.binary_cross_entropy_with_logits(adapter, label))
    return loss.reshape(())
'''


def _tensor(name: str, dtype: str, shape: list, init: dict | None = None, description: str = "") -> dict:
    entry = {"name": name, "dtype": dtype, "shape": shape}
    if init is not None:
        entry["init"] = init
    if description:
        entry["description"] = description
    return entry


def build_specs(prefix: str, source: str, sizes: Dict[str, Dict[str, Dict[str, int]]], weights: Dict[str, float]) -> List[dict]:
    """The five ExFM specs; `sizes[op]` maps size names (smallest first) to dimension values."""
    return [
        {
            "id": f"{prefix}-embedding-bag-sum",
            "description": "Table-batched embedding bag: sum-pool the rows of a jagged list of ids per bag (one bag per example and sparse feature), as in DLRM's sparse arch.",
            "category": "embedding",
            "source": source,
            "dimensions": ["S", "V", "D", "N"],
            "inputs": [
                _tensor("weight", "float32", ["V", "D"], {"kind": "normal", "mean": 0, "std": 1}, "Concatenated embedding tables"),
                _tensor("indices", "int64", ["N"], {"kind": "integers", "low": 0, "high": "V"}, "Jagged ids of all bags, concatenated"),
                _tensor("offsets", "int64", ["S+1"], {"kind": "offsets", "total": "N"}, "Bag i holds indices[offsets[i]:offsets[i+1]]; empty bags pool to zero"),
            ],
            "outputs": [_tensor("pooled", "float32", ["S", "D"], description="Sum of each bag's rows")],
            "reference": EMBEDDING_BAG_REFERENCE,
            "sizes": sizes["embedding_bag"],
            "tolerances": {"float32": {"atol": 1e-4, "rtol": 1e-4}},
            "targets": ["cpu", "cuda", "triton"],
            "cost": {"flops": "N*D", "bytes": "4*(N*D + S*D) + 8*(N + S + 1)"},
        },
        {
            "id": f"{prefix}-dot-interaction",
            "description": "DLRM pairwise interaction: dot products of every pair among F feature vectors per example, lower triangle flattened.",
            "category": "interaction",
            "source": source,
            "dimensions": ["B", "F", "D"],
            "inputs": [_tensor("features", "float32", ["B", "F", "D"], {"kind": "normal", "mean": 0, "std": 1}, "Bottom-MLP output and pooled embeddings")],
            "outputs": [_tensor("pairs", "float32", ["B", "F*(F-1)/2"], description="Pairwise dot products (i > j), row-major")],
            "reference": DOT_INTERACTION_REFERENCE,
            "sizes": sizes["dot_interaction"],
            "tolerances": {"float32": {"atol": 1e-4, "rtol": 1e-4}},
            "targets": ["cpu", "cuda", "triton"],
            "cost": {"flops": "B*F*(F-1)*D", "bytes": "4*(B*F*D + B*F*(F-1)/2)"},
        },
        {
            "id": f"{prefix}-dcn-cross",
            "description": "DCNv2 cross layer: x0 * (x W^T + b) + x over the interaction features.",
            "category": "interaction",
            "source": source,
            "dimensions": ["B", "K"],
            "inputs": [
                _tensor("x0", "float32", ["B", "K"], {"kind": "normal", "mean": 0, "std": 1}, "Layer-0 input"),
                _tensor("x", "float32", ["B", "K"], {"kind": "normal", "mean": 0, "std": 1}, "Current layer input"),
                _tensor("weight", "float32", ["K", "K"], {"kind": "normal", "mean": 0, "std": 0.1}, "Cross weight"),
                _tensor("bias", "float32", ["K"], {"kind": "normal", "mean": 0, "std": 0.1}, "Cross bias"),
            ],
            "outputs": [_tensor("y", "float32", ["B", "K"], description="Next layer's input")],
            "reference": CROSS_REFERENCE,
            "sizes": sizes["cross"],
            "tolerances": {"float32": {"atol": 1e-4, "rtol": 1e-4}},
            "targets": ["cpu", "cuda", "triton"],
            "cost": {"flops": "2*B*K*K + 3*B*K", "bytes": "4*(3*B*K + K*K + K)"},
        },
        {
            "id": f"{prefix}-mlp",
            "description": "Top MLP block: Linear + bias + ReLU, then Linear + bias (GEMM with fused epilogues).",
            "category": "linear",
            "source": source,
            "dimensions": ["B", "K", "H", "O"],
            "inputs": [
                _tensor("x", "float32", ["B", "K"], {"kind": "normal", "mean": 0, "std": 1}, "Interaction output"),
                _tensor("weight1", "float32", ["H", "K"], {"kind": "normal", "mean": 0, "std": 0.1}, "Hidden weight"),
                _tensor("bias1", "float32", ["H"], {"kind": "normal", "mean": 0, "std": 0.1}, "Hidden bias"),
                _tensor("weight2", "float32", ["O", "H"], {"kind": "normal", "mean": 0, "std": 0.1}, "Output weight"),
                _tensor("bias2", "float32", ["O"], {"kind": "normal", "mean": 0, "std": 0.1}, "Output bias"),
            ],
            "outputs": [_tensor("y", "float32", ["B", "O"], description="Block output")],
            "reference": MLP_REFERENCE,
            "sizes": sizes["mlp"],
            "tolerances": {"float32": {"atol": 1e-4, "rtol": 1e-4}},
            "targets": ["cpu", "cuda", "triton"],
            "cost": {"flops": "2*B*K*H + 2*B*H*O + 2*B*H + B*O", "bytes": "4*(B*K + H*K + H + O*H + O + B*O)"},
        },
        {
            "id": f"{prefix}-multi-term-bce",
            "description": "ExFM fused loss: BCE-with-logits of the serving head on labels, of the auxiliary head on FM soft targets, and of the student adapter on labels, weighted and summed.",
            "category": "loss",
            "source": source,
            "dimensions": ["B"],
            "scalars": {"aux_weight": weights["aux_weight"], "adapter_weight": weights["adapter_weight"]},
            "inputs": [
                _tensor("serve", "float32", ["B"], {"kind": "normal", "mean": 0, "std": 2}, "Serving-head logits"),
                _tensor("aux", "float32", ["B"], {"kind": "normal", "mean": 0, "std": 2}, "Auxiliary-head logits"),
                _tensor("adapter", "float32", ["B"], {"kind": "normal", "mean": 0, "std": 2}, "Student-adapter logits"),
                _tensor("label", "float32", ["B"], {"kind": "binary", "probability": 0.3}, "Clicks"),
                _tensor("teacher", "float32", ["B"], {"kind": "uniform", "low": 0.01, "high": 0.99}, "FM probabilities (soft targets)"),
            ],
            "outputs": [_tensor("loss", "float32", [], description="Scalar total loss")],
            "reference": LOSS_REFERENCE,
            "sizes": sizes["loss"],
            "tolerances": {"float32": {"atol": 1e-5, "rtol": 1e-4}},
            "targets": ["cpu", "cuda", "triton"],
            "cost": {"flops": "30*B", "bytes": "4*5*B + 4"},
        },
    ]


def to_yaml(value, indent: int = 0) -> str:
    """Block YAML for the spec's nested dicts/lists; scalars and small flat containers use JSON (valid YAML 1.2)."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, str) and "\n" in item:
                body = "\n".join((pad + "  " + line) if line else "" for line in item.rstrip("\n").split("\n"))
                lines.append(f"{pad}{key}: |\n{body}")
            elif _is_flat(item):
                lines.append(f"{pad}{key}: {json.dumps(item)}")
            else:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 2)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if _is_flat(item):
                lines.append(f"{pad}- {json.dumps(item)}")
            else:
                inner = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {inner[indent + 2:]}")
        return "\n".join(lines)
    return pad + json.dumps(value)


def _is_flat(value) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) and not (isinstance(v, str) and "\n" in v) for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    return not (isinstance(value, str) and "\n" in value)


def write_specs(folder: str, specs: List[dict]) -> List[str]:
    """Writes each spec as <id>.yaml in a folder; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for spec in specs:
        path = os.path.join(folder, f"{spec['id']}.yaml")
        with open(path, "w") as handle:
            handle.write(f"# Generated by `python -m pipelines.exfm profile`; sizes come from the profiled step.\n{to_yaml(spec)}\n")
        paths.append(path)
    return paths
