"""From measured hot operators to kernel specs (KernelSpecSchema, core/spec.ts), each with seed kernels where one fits.

An operator measured hot is mapped, in this order, to:
1. a swappable pipeline operator (pipelines/kernels/swap.py) when at least a quarter of its time was spent inside that operator's
   `swap::<name>` region: the spec is that operator's (reference = its torch code), sized from the arguments the
   pipeline passed it, with this package's seed kernels (seeds/<platform>/<stem>/) or the repository's
   (seeds/kernels/<platform>/<id>/) beside it; the optimised kernel can be swapped back in;
2. a repository spec with seed kernels that computes the same operator (LayerNorm, GELU, softmax), sized from
   the measured input shape;
3. otherwise a spec whose reference calls the measured aten overload with the measured constants, at the
   measured shapes (a smaller size is added where the reference runs at a quarter of every dimension).
"""
from __future__ import annotations

import math
import os
import re
import shutil
from typing import Any, Dict, List, Optional

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PACKAGE_SEEDS = os.path.join(HERE, "seeds")
REPOSITORY_SEEDS = os.path.join(REPOSITORY, "seeds")

MAX_POOL_REFERENCE = """import torch

def reference(x, KZ, KY, KX):
    kz, ky, kx = int(KZ), int(KY), int(KX)
    # stride 1, 'same' padding (padded voxels count as -inf), odd windows: the pool of find_beads
    return torch.nn.functional.max_pool3d(x, kernel_size=(kz, ky, kx), stride=1, padding=(kz // 2, ky // 2, kx // 2))
"""

POISSON_REFERENCE = """import math
import torch

def reference(residual):
    # Neumann-Laplacian solve by FFT of the mirrored field (the phase unwrap's preconditioner, aovift/unwrap.py)
    height, width = residual.shape[-2:]
    iy = torch.arange(2 * height, dtype=residual.dtype)
    ix = torch.arange(2 * width, dtype=residual.dtype)
    eigen = 4 - 2 * torch.cos(math.pi * iy / height)[:, None] - 2 * torch.cos(math.pi * ix / width)[None, :]
    eigen[0, 0] = 1.0
    inverse = 1 / eigen
    inverse[0, 0] = 0.0
    mirrored = torch.cat([residual, residual.flip(-1)], dim=-1)
    mirrored = torch.cat([mirrored, mirrored.flip(-2)], dim=-2)
    return torch.fft.ifft2(torch.fft.fft2(mirrored) * inverse).real[..., :height, :width].contiguous()
"""


def _tensor(name: str, dtype: str, shape: list, init: dict | None = None, description: str = "") -> dict:
    entry: Dict[str, Any] = {"name": name, "dtype": dtype, "shape": shape}
    if init is not None:
        entry["init"] = init
    if description:
        entry["description"] = description
    return entry


def _seed_folder(platform: str, stem: str) -> Optional[str]:
    folder = os.path.join(PACKAGE_SEEDS, platform, stem)
    return folder if os.path.isdir(folder) else None


# --- specs of the swappable operators, from the arguments the pipeline passed them --------------------------------

def max_pool3d_spec(spec_id: str, source: str, args: list) -> dict:
    shape, (kz, ky, kx) = args[0]["shape"], args[1:4]
    b, c, z, y, x = shape
    return {
        "id": spec_id, "category": "pooling", "source": source,
        "description": f"Stride-1 3D max pool with a {kz}x{ky}x{kx} window and 'same' padding (padded voxels are -inf), "
                       "the local-maximum search of AOViFT's bead finding (find_beads) before the Wiener bead removal.",
        "dimensions": ["B", "C", "Z", "Y", "X"], "scalars": {"KZ": float(kz), "KY": float(ky), "KX": float(kx)},
        "inputs": [_tensor("x", "float32", ["B", "C", "Z", "Y", "X"], {"kind": "uniform", "low": 0.0, "high": 1.0}, "Bead volumes")],
        "outputs": [_tensor("pooled", "float32", ["B", "C", "Z", "Y", "X"], description="Max over each voxel's window")],
        "reference": MAX_POOL_REFERENCE,
        "sizes": {"small": {"B": 2, "C": 1, "Z": 9, "Y": 11, "X": 13}, "profiled": {"B": b, "C": c, "Z": z, "Y": y, "X": x},
                  "large": {"B": 4 * b, "C": c, "Z": z, "Y": y, "X": x}},
        "tolerances": {"float32": {"atol": 0.0, "rtol": 0.0}},
        "targets": ["cpu", "cuda", "triton"],
        "cost": {"flops": f"B*C*Z*Y*X*{kz * ky * kx}", "bytes": "8*B*C*Z*Y*X"},
    }


def neumann_poisson_spec(spec_id: str, source: str, args: list) -> dict:
    m, h, w = args[0]["shape"]
    return {
        "id": spec_id, "category": "solver", "source": source,
        "description": "Neumann-Laplacian (Poisson) solve of M residual maps, H x W each, with the constant mode removed: "
                       "the preconditioner applied in every conjugate-gradient iteration of AOViFT's weighted least-squares "
                       "phase unwrap. The reference solves it by FFT of the mirrored (2H, 2W) field.",
        "dimensions": ["M", "H", "W"], "scalars": {},
        "inputs": [_tensor("residual", "float64", ["M", "H", "W"], {"kind": "normal", "mean": 0.0, "std": 1.0}, "Residual maps")],
        "outputs": [_tensor("solution", "float64", ["M", "H", "W"], description="Solution with zero mean")],
        "reference": POISSON_REFERENCE,
        "sizes": {"small": {"M": 3, "H": 7, "W": 9}, "profiled": {"M": m, "H": h, "W": w}, "large": {"M": 8 * m, "H": h, "W": w}},
        "tolerances": {"float64": {"atol": 1.0e-9, "rtol": 1.0e-7}},
        "targets": ["cpu", "cuda", "triton"],
        "cost": {"flops": "4*M*H*W*(H+W)", "bytes": "16*M*H*W"},  # flops of the cosine-transform solve
    }


def dot_interaction_spec(spec_id: str, source: str, args: list) -> dict:
    b, f, d = args[0]["shape"]
    reference = ("import torch\n\ndef reference(features):\n"
                 "    count = features.shape[1]\n"
                 "    gram = torch.bmm(features, features.transpose(1, 2))\n"
                 "    rows, cols = torch.tril_indices(count, count, offset=-1)\n"
                 "    return gram[:, rows, cols].contiguous()\n")
    return {
        "id": spec_id, "category": "interaction", "source": source,
        "description": "DLRM pairwise interaction of the ExFM trunk: dot products of every pair among F feature vectors per "
                       "example (bottom-MLP output and pooled embeddings), strictly lower triangle, row-major.",
        "dimensions": ["B", "F", "D"], "scalars": {},
        "inputs": [_tensor("features", "float32", ["B", "F", "D"], {"kind": "normal", "mean": 0, "std": 1}, "Feature vectors per example")],
        "outputs": [_tensor("pairs", "float32", ["B", "F*(F-1)/2"], description="Pairwise dot products (i > j), row-major")],
        "reference": reference,
        "sizes": {"small": {"B": 5, "F": 7, "D": 11}, "profiled": {"B": b, "F": f, "D": d}, "large": {"B": 8 * b, "F": f, "D": d}},
        "tolerances": {"float32": {"atol": 1e-4, "rtol": 1e-4}},
        "targets": ["cpu", "cuda", "triton"],
        "cost": {"flops": "B*F*(F-1)*D", "bytes": "4*(B*F*D + B*F*(F-1)/2)"},
    }


def repeat_interleave_spec(spec_id: str, source: str, args: list) -> dict:
    m, n = args[0]["shape"][0], args[1]["last"]
    return {
        "id": spec_id, "category": "jagged", "source": source,
        "description": "Jagged repeat: out[offsets[i]:offsets[i+1]] = values[i], i.e. torch.repeat_interleave(values, lengths) "
                       "with the lengths given as offsets; ExFM's row selection (Jagged.select) runs it for every sparse feature "
                       "of every training and inference batch.",
        "dimensions": ["M", "N"], "scalars": {},
        "inputs": [_tensor("values", "int64", ["M"], {"kind": "integers", "low": -1000000, "high": 1000000}, "One value per row"),
                   _tensor("offsets", "int64", ["M+1"], {"kind": "offsets", "total": "N"}, "Row i fills out[offsets[i]:offsets[i+1]]")],
        "outputs": [_tensor("out", "int64", ["N"], description="Each row's value repeated over its run")],
        "reference": "import torch\n\ndef reference(values, offsets):\n    return torch.repeat_interleave(values, offsets[1:] - offsets[:-1])\n",
        "sizes": {"small": {"M": 7, "N": 20}, "profiled": {"M": m, "N": max(n, 1)}, "large": {"M": 8 * m, "N": 8 * max(n, 1)}},
        "tolerances": {"int64": {"atol": 0.0, "rtol": 0.0}},
        "targets": ["cpu", "cuda", "triton"],
        "cost": {"bytes": "8*(2*M + 1 + N)"},
    }


# swap op -> (spec builder, seeds: [(platform, folder)] as a function of nothing)
SWAP_SPECS = {
    "aovift.max_pool3d": (max_pool3d_spec, lambda: [("cpu", _seed_folder("cpu", "max-pool3d")), ("triton", _seed_folder("triton", "max-pool3d"))]),
    "aovift.neumann_poisson": (neumann_poisson_spec, lambda: [("cpu", _seed_folder("cpu", "neumann-poisson")),
                                                              ("triton", _seed_folder("triton", "neumann-poisson"))]),
    "exfm.repeat_interleave": (repeat_interleave_spec, lambda: [("cpu", _seed_folder("cpu", "repeat-interleave")),
                                                                ("triton", _seed_folder("triton", "repeat-interleave"))]),
    "exfm.dot_interaction": (dot_interaction_spec, lambda: [(platform, os.path.join(REPOSITORY_SEEDS, "kernels", platform, "dlrm-interaction"))
                                                             for platform in ("cpu", "cuda", "triton")]),
}

INSIDE_SHARE = 0.25  # share of an operator's time inside a swappable operator's region that maps it to that operator

# aten operators computed by a repository spec that has seed kernels: spec id, dimensions from the first input's shape
SEEDED = {
    "aten::native_layer_norm": ("layernorm", ("R", "D")),
    "aten::gelu": ("gelu", ("R", "C")),
    "aten::_softmax": ("row-softmax", ("R", "C")),
}


def _copy_seeds(out_dir: str, spec_id: str, seeds: List[tuple]) -> List[str]:
    written = []
    for platform, folder in seeds:
        if not folder or not os.path.isdir(folder):
            continue
        target = os.path.join(out_dir, "seeds", platform, spec_id)
        os.makedirs(target, exist_ok=True)
        for name in sorted(os.listdir(folder)):
            if name.startswith(("baseline.", "template.")):
                shutil.copyfile(os.path.join(folder, name), os.path.join(target, name))
                written.append(os.path.join(target, name))
    return written


def seeded_spec(row: dict, prefix: str, source: str) -> Optional[tuple]:
    """A repository seed spec re-sized from the measured input shape, or None (no seed fits, no YAML reader)."""
    entry = SEEDED.get(row["name"])
    shapes = row["shapes"][0]["input_shapes"] if row.get("shapes") else []
    if entry is None or not shapes or not shapes[0]:
        return None
    try:
        import yaml
    except ImportError:
        return None
    seed_id, (rows_name, columns_name) = entry
    path = os.path.join(REPOSITORY_SEEDS, "specs", f"{seed_id}.yaml")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    shape = shapes[0]
    size = {rows_name: int(math.prod(shape[:-1])), columns_name: int(shape[-1])}
    first_name, first_size = next(iter(spec["sizes"].items()))
    spec.update({"id": f"{prefix}-{seed_id}", "source": f"{source}: {row['name']} on input {shape}",
                 "description": f"{spec['description'].strip()} Sized from the {prefix} profile, where {row['name']} took "
                                f"{row['self_ms']} ms of self time per step set.",
                 "sizes": {first_name: first_size, "profiled": size}})
    seeds = [(platform, os.path.join(REPOSITORY_SEEDS, "kernels", platform, seed_id)) for platform in ("cpu", "cuda", "triton")]
    return spec, seeds


# --- generic specs: the measured aten overload with its measured constants ----------------------------------------

_DTYPES = {"float32": "float32", "float64": "float64", "int64": "int64", "int32": "int32", "bool": "bool", "float16": "float16", "bfloat16": "bfloat16"}


def _meta(shape: list, dtype: str) -> torch.Tensor:
    return torch.empty(shape, dtype=getattr(torch, dtype), device="meta")


def generic_spec(spec_id: str, source: str, call: dict) -> Optional[dict]:
    """A spec calling the captured aten overload on tensors of the captured shapes, or None where that cannot be
    expressed (no float tensor output, tensors nested in lists, unsupported dtypes, in-place operators)."""
    overload = call["overload"]  # e.g. aten.mm.default
    if overload.split(".")[1].endswith("_"):
        return None
    names: List[str] = []
    tensors: List[dict] = []
    pieces: List[str] = []
    for index, arg in enumerate(call["args"]):
        if isinstance(arg, dict) and arg.get("tensor"):
            if arg["dtype"] not in _DTYPES:
                return None
            name = f"x{len(tensors)}"
            names.append(name)
            tensors.append(arg)
            pieces.append(name)
        elif isinstance(arg, list) and any(isinstance(item, dict) for item in arg):
            return None
        else:
            pieces.append(repr(arg))
    for key, value in call["kwargs"].items():
        if isinstance(value, dict):
            return None
        pieces.append(f"{key}={value!r}")
    if not tensors:
        return None
    # Name each distinct dimension value once, so equal extents stay equal when the spec is scaled.
    values = sorted({v for t in tensors for v in t["shape"]})
    dimension = {v: f"D{i}" for i, v in enumerate(values)}
    op_path = overload.replace("aten.", "torch.ops.aten.", 1)
    reference = f"import torch\n\ndef reference({', '.join(names)}):\n    result = {op_path}({', '.join(pieces)})\n" \
                "    return tuple(r.contiguous() for r in result if isinstance(r, torch.Tensor)) if isinstance(result, (tuple, list)) else result.contiguous()\n"

    def run(size: Dict[str, int]):
        namespace: Dict[str, Any] = {}
        exec(reference, namespace)  # the reference is built above from the captured call
        inputs = [_meta([size[dimension[v]] for v in t["shape"]], t["dtype"]) for t in tensors]
        result = namespace["reference"](*inputs)
        return result if isinstance(result, tuple) else (result,)

    measured = {dimension[v]: v for v in values}
    try:
        outputs = run(measured)
    except Exception:
        return None
    if not outputs or not all(o.dtype.is_floating_point for o in outputs):
        return None
    small = {name: max(1, value // 4) for name, value in measured.items()}
    try:
        small_outputs = run(small)
        scaled = len(small_outputs) == len(outputs)
    except Exception:
        scaled = False
    out_dims: Dict[int, str] = dict(dimension)

    def symbolic(shape) -> list:
        result = []
        for v in shape:
            v = int(v)
            if v not in out_dims:
                return [int(x) for x in shape]  # an extent no input has: fixed
            result.append(out_dims[v])
        return result

    output_shapes = [symbolic(o.shape) for o in outputs]
    if scaled:
        for o, small_o, shape in zip(outputs, small_outputs, output_shapes):
            expected = [small[s] if isinstance(s, str) else s for s in shape]
            if list(small_o.shape) != expected:
                scaled = False
    sizes = {"small": small, "profiled": measured} if scaled and small != measured else {"profiled-a": measured, "profiled": measured}
    inits = [{"kind": "normal", "mean": 0.0, "std": 1.0} if t["dtype"].startswith(("float", "bfloat")) else {"kind": "integers", "low": 0, "high": 2}
             for t in tensors]
    return {
        "id": spec_id, "category": "elementwise" if len(values) == 1 else "other", "source": source,
        "description": f"The measured operator {overload} ({call['schema'][:200]}) with the constants of its hottest call, "
                       "at the measured shapes; its reference calls the operator.",
        "dimensions": [dimension[v] for v in values], "scalars": {},
        "inputs": [_tensor(n, t["dtype"], [dimension[v] for v in t["shape"]], init) for n, t, init in zip(names, tensors, inits)],
        "outputs": [_tensor(f"y{i}", str(o.dtype).replace("torch.", ""), shape) for i, (o, shape) in enumerate(zip(outputs, output_shapes))],
        "reference": reference,
        "sizes": sizes,
        "tolerances": {"float32": {"atol": 1e-4, "rtol": 1e-4}, "float64": {"atol": 1e-9, "rtol": 1e-9}},
        "targets": ["cpu", "cuda", "triton"],
    }


def spec_stem(name: str) -> str:
    """aten::max_pool3d_with_indices -> max-pool3d-with-indices."""
    return re.sub(r"[^a-z0-9]+", "-", name.split("::")[-1].lower()).strip("-")


def write_hot_specs(hot: List[dict], observed: Dict[str, list], calls: Dict[str, dict], out_dir: str, prefix: str, source: str,
                    to_yaml, limit: int | None = None) -> List[dict]:
    """Writes one spec per hot operator (a swappable operator's spec once, however many of its aten ops are hot) and its
    seeds into out_dir, stopping once `limit` operators got a spec; returns, hottest first, what each operator was mapped
    to (those without a spec say why)."""
    os.makedirs(out_dir, exist_ok=True)
    results: List[dict] = []
    written: Dict[str, dict] = {}
    specified = 0
    for row in hot:
        if limit is not None and specified >= limit:
            break
        entry: Dict[str, Any] = {"operator": row["name"], "self_ms": row["self_ms"], "share": round(row["share"], 4), "steps": row["steps"]}
        inside = row.get("inside_swap") or {}
        swap_name = max(inside, key=inside.get) if inside else None
        spec, seeds, mapping = None, [], "none"
        # A quarter is enough: an operator's backward runs outside the forward's region (the autograd engine), and the
        # swapped operator replaces the backward too (its registered formula).
        if swap_name and inside[swap_name] >= INSIDE_SHARE * row["self_ms"] and swap_name in SWAP_SPECS and swap_name in observed:
            entry["inside_share"] = round(inside[swap_name] / max(row["self_ms"], 1e-9), 3)
            builder, seed_list = SWAP_SPECS[swap_name]
            spec_id = f"{prefix}-{builder.__name__.replace('_spec', '').replace('_', '-')}"
            spec, seeds, mapping = (written[spec_id]["spec"] if spec_id in written else builder(spec_id, source, observed[swap_name])), seed_list(), "swappable"
            entry["swap_op"] = swap_name
        elif row["name"] in SEEDED and (found := seeded_spec(row, prefix, source)):
            spec, seeds = found
            mapping = "seeded"
        elif row["name"] in calls:
            spec = generic_spec(f"{prefix}-{spec_stem(row['name'])}", f"{source}: {calls[row['name']]['overload']}", calls[row["name"]])
            mapping = "generic" if spec else "none"
        entry["mapping"] = mapping
        if spec is None:
            entry["reason"] = "no spec: in-place, bookkeeping or non-float operator, or its call was not captured"
            results.append(entry)
            continue
        entry["spec_id"] = spec["id"]
        if spec["id"] not in written:
            path = os.path.abspath(os.path.join(out_dir, f"{spec['id']}.yaml"))
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(f"# Written by the {prefix} profile from the measured operator {row['name']}.\n{to_yaml(spec)}\n")
            written[spec["id"]] = {"spec": spec, "path": path, "seeds": _copy_seeds(out_dir, spec["id"], seeds)}
        entry["path"] = written[spec["id"]]["path"]
        entry["seeds"] = written[spec["id"]]["seeds"]
        entry["sizes"] = spec["sizes"]
        specified += 1
        results.append(entry)
    return results
