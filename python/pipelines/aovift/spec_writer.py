"""Kernel specifications (KernelSpecSchema, see core/spec.ts) for the pipeline's hot operators, and a small YAML emitter."""
from __future__ import annotations

import json
from typing import Any

SOURCE = "aovift profile (python -m pipelines.aovift profile)"

OTF_REFERENCE = """import torch

def reference(x):
    axes = (-3, -2, -1)
    spectrum = torch.fft.fftshift(torch.fft.fftn(torch.fft.ifftshift(x, dim=axes), dim=axes), dim=axes)
    return spectrum.real.contiguous(), spectrum.imag.contiguous()
"""

PATCH_EMBED_REFERENCE = """import torch

def reference(planes, weight, bias, position, plane_code):
    batch, count, size, _ = planes.shape
    patch = int(round(weight.shape[1] ** 0.5))
    n = size // patch
    patches = planes.reshape(batch, count, n, patch, n, patch).permute(0, 1, 2, 4, 3, 5).reshape(batch, count, n * n, patch * patch)
    tokens = torch.nn.functional.linear(patches, weight, bias) + position[None, None] + plane_code[None, :, None]
    return tokens.reshape(batch, count * n * n, patch * patch)
"""

ATTENTION_REFERENCE = """import torch

def reference(q, k, v):
    return torch.nn.functional.scaled_dot_product_attention(q, k, v)
"""

MLP_REFERENCE = """import torch

def reference(x, norm_weight, norm_bias, w1, b1, w2, b2, eps):
    hidden = torch.nn.functional.layer_norm(x, (x.shape[-1],), norm_weight, norm_bias, eps)
    hidden = torch.nn.functional.gelu(torch.nn.functional.linear(hidden, w1, b1))
    return x + torch.nn.functional.linear(hidden, w2, b2)
"""


def _tensor(name: str, shape: list, description: str, init: dict | None = None) -> dict[str, Any]:
    tensor: dict[str, Any] = {"name": name, "dtype": "float32", "shape": shape}
    if init is not None:
        tensor["init"] = init
    tensor["description"] = description
    return tensor


def build_specs(image_size: int, patches: list[int], heads: list[int], batch: int, mlp_ratio: int = 4) -> list[dict[str, Any]]:
    """Specs of the 3D FFT embedding, patch embedding, attention and MLP block, sized from a model and a profiling batch."""
    planes = 6
    otf = {
        "id": "aovift-otf-fft3d", "category": "fft", "source": SOURCE,
        "description": "Centred 3D FFT (fftshift(fftn(ifftshift(x)))) of bead volumes, the first step of the AOViFT Fourier embedding; returns real and imaginary parts.",
        "dimensions": ["B", "N"], "scalars": {},
        "inputs": [_tensor("x", ["B", "N", "N", "N"], "Preprocessed volumes (z, y, x)", {"kind": "uniform", "low": 0.0, "high": 1.0})],
        "outputs": [_tensor("otf_real", ["B", "N", "N", "N"], "Real part of the centred OTF"),
                    _tensor("otf_imag", ["B", "N", "N", "N"], "Imaginary part of the centred OTF")],
        "reference": OTF_REFERENCE,
        "sizes": {"small": {"B": 2, "N": 16}, "profiled": {"B": batch, "N": image_size}, "large": {"B": 32, "N": 64}},
        "tolerances": {"float32": {"atol": 2.0e-2, "rtol": 1.0e-3}},
        "targets": ["cpu", "cuda", "triton"],
        "constraints": {"forbiddenCalls": ["torch.fft", "numpy.fft", "np.fft"], "notes": "Implement the transform; library FFTs are the reference."},
        "cost": {"bytes": "4*B*N*N*N*3"},
    }
    first, last = patches[0], patches[-1]
    patch_embed = {
        "id": "aovift-patch-embed", "category": "linear", "source": SOURCE,
        "description": "AOViFT patch embedding: per-plane space-to-depth into QxQ patches, a linear map Q*Q -> Q*Q, plus position and plane codes.",
        "dimensions": ["B", "P", "S", "Q"], "scalars": {},
        "inputs": [
            _tensor("planes", ["B", "P", "S", "S"], "Fourier embedding planes (amplitude ratio and phase)", {"kind": "normal", "mean": 0.5, "std": 1.0}),
            _tensor("weight", ["Q*Q", "Q*Q"], "Linear weight (out, in)", {"kind": "normal", "mean": 0.0, "std": 0.05}),
            _tensor("bias", ["Q*Q"], "Linear bias", {"kind": "normal", "mean": 0.0, "std": 0.1}),
            _tensor("position", ["(S/Q)*(S/Q)", "Q*Q"], "Position code of each patch", {"kind": "normal", "mean": 0.0, "std": 0.1}),
            _tensor("plane_code", ["P", "Q*Q"], "Learned code of each plane", {"kind": "normal", "mean": 0.0, "std": 0.1}),
        ],
        "outputs": [_tensor("tokens", ["B", "P*(S/Q)*(S/Q)", "Q*Q"], "Tokens of all planes' patches")],
        "reference": PATCH_EMBED_REFERENCE,
        "sizes": {"small": {"B": 2, "P": planes, "S": 16, "Q": 8},
                  "profiled-stage1": {"B": batch, "P": planes, "S": image_size, "Q": first},
                  "profiled-stage2": {"B": batch, "P": planes, "S": image_size, "Q": last},
                  "gpu-t": {"B": 256, "P": planes, "S": 64, "Q": 32}},
        "tolerances": {"float32": {"atol": 1.0e-4, "rtol": 1.0e-4}},
        "targets": ["cpu", "cuda", "triton"],
        "cost": {"flops": "2*B*P*S*S*Q*Q", "bytes": "4*(2*B*P*S*S + Q*Q*Q*Q)"},
    }
    tokens = [planes * (image_size // patch) ** 2 for patch in patches]
    head_dims = [patch * patch // head for patch, head in zip(patches, heads)]
    attention = {
        "id": "aovift-attention", "category": "attention", "source": SOURCE,
        "description": "Softmax self-attention of AOViFT blocks over all planes' patches (short sequences: 24 or 96 tokens), scale 1/sqrt(E).",
        "dimensions": ["B", "H", "T", "E"], "scalars": {},
        "inputs": [_tensor(name, ["B", "H", "T", "E"], f"{name.upper()} per head", {"kind": "normal", "mean": 0.0, "std": 1.0}) for name in ("q", "k", "v")],
        "outputs": [_tensor("out", ["B", "H", "T", "E"], "Attention output per head")],
        "reference": ATTENTION_REFERENCE,
        "sizes": {"small": {"B": 2, "H": 2, "T": 24, "E": 16},
                  **{f"profiled-stage{index + 1}": {"B": batch, "H": heads[index], "T": tokens[index], "E": head_dims[index]} for index in range(len(patches))},
                  "gpu-t-stage1": {"B": 256, "H": 16, "T": 24, "E": 64}},
        "tolerances": {"float32": {"atol": 1.0e-4, "rtol": 1.0e-4}},
        "targets": ["cpu", "cuda", "triton"],
        "cost": {"flops": "4*B*H*T*T*E", "bytes": "16*B*H*T*E"},
    }
    mlp = {
        "id": "aovift-mlp-block", "category": "linear", "source": SOURCE,
        "description": "AOViFT MLP sub-block: y = x + W2 gelu(W1 layer_norm(x) + b1) + b2 (fusing LayerNorm, GEMM, GELU and the residual).",
        "dimensions": ["R", "D", "F"], "scalars": {"eps": 1.0e-5},
        "inputs": [
            _tensor("x", ["R", "D"], "Tokens (batch x sequence rows)", {"kind": "normal", "mean": 0.0, "std": 1.0}),
            _tensor("norm_weight", ["D"], "LayerNorm scale", {"kind": "normal", "mean": 1.0, "std": 0.1}),
            _tensor("norm_bias", ["D"], "LayerNorm shift", {"kind": "normal", "mean": 0.0, "std": 0.1}),
            _tensor("w1", ["F", "D"], "First linear weight", {"kind": "normal", "mean": 0.0, "std": 0.05}),
            _tensor("b1", ["F"], "First linear bias", {"kind": "normal", "mean": 0.0, "std": 0.1}),
            _tensor("w2", ["D", "F"], "Second linear weight", {"kind": "normal", "mean": 0.0, "std": 0.05}),
            _tensor("b2", ["D"], "Second linear bias", {"kind": "normal", "mean": 0.0, "std": 0.1}),
        ],
        "outputs": [_tensor("y", ["R", "D"], "Updated tokens")],
        "reference": MLP_REFERENCE,
        "sizes": {"small": {"R": 48, "D": 64, "F": 64 * mlp_ratio},
                  **{f"profiled-stage{index + 1}": {"R": batch * tokens[index], "D": patch * patch, "F": mlp_ratio * patch * patch}
                     for index, patch in enumerate(patches)},
                  "gpu-t-stage1": {"R": 256 * 24, "D": 1024, "F": 4096}},
        "tolerances": {"float32": {"atol": 2.0e-4, "rtol": 2.0e-4}},
        "targets": ["cpu", "cuda", "triton"],
        "cost": {"flops": "4*R*D*F + 10*R*D", "bytes": "4*(2*R*D + 2*D*F)"},
    }
    return [otf, patch_embed, attention, mlp]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # Python's repr of a float (e.g. 1e-05) is a float in YAML 1.2
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value: Any, indent: int = 0) -> str:
    """YAML text of nested dicts, lists and scalars; multi-line strings become literal blocks."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for key, item in value.items():
            if isinstance(item, str) and "\n" in item:
                body = "\n".join(pad + "  " + line if line else "" for line in item.rstrip("\n").split("\n"))
                lines.append(f"{pad}{key}: |\n{body}")
            elif isinstance(item, dict) and item:
                if all(not isinstance(v, (dict, list)) for v in item.values()):
                    lines.append(f"{pad}{key}: {{ " + ", ".join(f"{k}: {_scalar(v)}" for k, v in item.items()) + " }")
                else:
                    lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 1)}")
            elif isinstance(item, list) and item and any(isinstance(v, (dict, list)) for v in item):
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {to_yaml(item, indent + 1) if isinstance(item, (dict, list)) else _scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(not isinstance(v, (dict, list)) for v in value):
            return "[" + ", ".join(_scalar(v) for v in value) + "]"
        items = []
        for item in value:
            text = to_yaml(item, indent + 1).lstrip()
            items.append(f"{pad}- {text}")
        return "\n".join(items)
    return _scalar(value)
