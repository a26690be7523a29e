"""Typed configurations of the ExFM pipeline, built from JSON with errors that name the bad field."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar


class ConfigError(ValueError):
    """A user-supplied configuration is invalid; the message names the field and what was expected."""


T = TypeVar("T")


def _check_value(path: str, expected: Any, value: Any) -> Any:
    """Checks one value against a type annotation and returns it (ints widened to floats)."""
    origin = typing.get_origin(expected)
    if expected is Any:
        return value
    if origin is typing.Union:
        arguments = [a for a in typing.get_args(expected) if a is not type(None)]
        if value is None:
            return None
        return _check_value(path, arguments[0], value)
    if origin in (list, List):
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}")
        (item_type,) = typing.get_args(expected)
        return [_check_value(f"{path}[{i}]", item_type, item) for i, item in enumerate(value)]
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected an object, got {type(value).__name__}")
        _, value_type = typing.get_args(expected)
        return {str(k): _check_value(f"{path}.{k}", value_type, v) for k, v in value.items()}
    if dataclasses.is_dataclass(expected):
        return from_dict(expected, value, path)
    if expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if expected is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {expected}")


def from_dict(cls: Type[T], data: Any, path: str = "args") -> T:
    """Builds dataclass `cls` from a JSON object, rejecting unknown keys and wrong types, then validating."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{path}: unknown field(s) {', '.join(unknown)}; known fields: {', '.join(names)}")
    values = {name: _check_value(f"{path}.{name}", hints[name], data[name]) for name in names if name in data}
    try:
        instance = cls(**values)
    except TypeError as error:
        raise ConfigError(f"{path}: {error}") from None
    validate = getattr(instance, "validate", None)
    if validate is not None:
        validate(path)
    return instance


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def check_device(device: str, path: str) -> None:
    """Rejects devices that do not exist on this machine, before any work starts."""
    import torch

    _require(device in ("cpu", "cuda") or device.startswith("cuda:"), f"{path}.device: expected 'cpu' or 'cuda', got {device!r}")
    _require(device == "cpu" or torch.cuda.is_available(), f"{path}.device: {device!r} requested but no CUDA device is available; use 'cpu'")


@dataclass
class DataConfig:
    """Shape and dynamics of the synthetic streaming ads data."""

    seed: int = 0
    domains: int = 3
    windows: int = 8
    examples_per_window: int = 2000  # per domain and window
    users: int = 3000  # active users at any time
    ads_per_domain: int = 300  # active ads of each domain at any time
    categories: int = 24
    context_vocabulary: int = 16
    dense_features: int = 4
    latent_dim: int = 8
    history_max: int = 6
    churn: float = 0.1  # fraction of active users and ads replaced each window
    drift: float = 0.25  # radians per window that the shared preference rotates
    ctr_drift: float = 0.15  # std of the per-window random walk of each domain's base logit
    base_logit: float = -1.5
    domain_shift: float = 1.0  # strength of the domain-specific preference term
    signal: float = 1.6  # scale of the user-ad affinity in the logit
    zipf: float = 1.05
    # Full-rank category interactions (off at 0, the first two designs): the logit gains
    # cross_signal * (sum over history categories h of H[h, c] + sum over context tokens t of C[t, c]) for the
    # ad's category c, each sum scaled to unit RMS. H and C have singular values falling as (i + 1)^-cross_decay,
    # so a model whose embeddings have d dimensions can express only the top-d part of each: signal that
    # model capacity can exploit, shared by every domain (the FM, trained on all of them, sees it most).
    cross_signal: float = 0.0
    cross_decay: float = 0.5

    def validate(self, path: str) -> None:
        """Rejects values the generator cannot honour."""
        _require(self.domains >= 1, f"{path}.domains: must be at least 1")
        _require(self.windows >= 2, f"{path}.windows: must be at least 2 (train on one, evaluate on the next)")
        for name in ("examples_per_window", "users", "ads_per_domain", "categories", "context_vocabulary", "latent_dim"):
            _require(getattr(self, name) >= 1, f"{path}.{name}: must be at least 1")
        _require(self.dense_features >= 0, f"{path}.dense_features: must be >= 0")
        _require(self.history_max >= 1, f"{path}.history_max: must be at least 1")
        _require(0.0 <= self.churn < 1.0, f"{path}.churn: must be in [0, 1)")
        _require(self.drift >= 0 and self.ctr_drift >= 0, f"{path}.drift and ctr_drift: must be >= 0")
        _require(self.zipf >= 0, f"{path}.zipf: must be >= 0")
        _require(self.cross_signal >= 0 and self.cross_decay >= 0, f"{path}.cross_signal and cross_decay: must be >= 0")
        _require(self.windows * self.domains * self.examples_per_window <= 20_000_000, f"{path}: more than 20M examples; reduce windows, domains or examples_per_window")


@dataclass
class ModelConfig:
    """Architecture of one DLRM-style model (the FM or a VM)."""

    embedding_dim: int = 8
    bottom_mlp: List[int] = field(default_factory=lambda: [16])
    top_mlp: List[int] = field(default_factory=lambda: [32])
    cross_layers: int = 1
    cross_rank: int = 0  # 0: full-rank DCNv2 cross; otherwise a low-rank U(Vx) factorisation
    pooling: str = "sum"

    def validate(self, path: str) -> None:
        """Rejects architectures that cannot be built."""
        _require(self.embedding_dim >= 1, f"{path}.embedding_dim: must be at least 1")
        _require(all(w >= 1 for w in self.bottom_mlp + self.top_mlp), f"{path}: MLP widths must be positive")
        _require(self.cross_layers >= 0 and self.cross_rank >= 0, f"{path}.cross_layers/cross_rank: must be >= 0")
        _require(self.pooling in ("sum", "mean"), f"{path}.pooling: expected 'sum' or 'mean', got {self.pooling!r}")


FM_DEFAULT = {"embedding_dim": 32, "bottom_mlp": [64], "top_mlp": [256, 128], "cross_layers": 2, "cross_rank": 0}
VM_DEFAULT = {"embedding_dim": 8, "bottom_mlp": [16], "top_mlp": [32], "cross_layers": 1, "cross_rank": 0}

VARIANTS = ("plain", "distilled", "auxiliary", "adapter")


@dataclass
class FoundationConfig:
    """How the foundation model is trained in the stream and how DAS publishes its predictions."""

    data: str = ""
    output: str = ""
    model: ModelConfig = field(default_factory=lambda: ModelConfig(**FM_DEFAULT))
    history_windows: int = 2  # windows the FM pre-trains on before the VMs start
    history_epochs: int = 2
    # Passes over each new window: the FM is trained offline on a large budget (it is external to the VMs'
    # training and serving), so unlike a VM it may revisit a window.
    epochs_per_window: int = 1
    learning_rate: float = 0.003
    weight_decay: float = 0.0  # decoupled (AdamW); 0 is plain Adam
    batch_size: int = 256
    staleness: List[int] = field(default_factory=lambda: [1])  # publish every k windows; one DAS file per k
    domain_weights: Dict[str, float] = field(default_factory=dict)  # keep fraction per domain id; biases the FM
    # Keep fraction of each domain's *negative* examples, with no correction of the logits afterwards: the FM
    # over-predicts that domain's CTR by about -log(keep) in logit while its ranking stays sound (a calibration bias).
    negative_keep: Dict[str, float] = field(default_factory=dict)
    seed: int = 0
    threads: int = 0
    device: str = "cpu"  # 'cpu' or 'cuda'

    def validate(self, path: str) -> None:
        """Checks paths and ranges."""
        _require(bool(self.data), f"{path}.data: the dataset folder written by generate-data is required")
        _require(bool(self.output), f"{path}.output: a folder for the FM snapshots and DAS files is required")
        _require(self.history_windows >= 1, f"{path}.history_windows: must be at least 1")
        _require(self.history_epochs >= 1, f"{path}.history_epochs: must be at least 1")
        _require(self.epochs_per_window >= 1, f"{path}.epochs_per_window: must be at least 1")
        _require(self.weight_decay >= 0, f"{path}.weight_decay: must be >= 0")
        _require(self.learning_rate > 0 and self.batch_size >= 1, f"{path}: learning_rate and batch_size must be positive")
        _require(len(self.staleness) >= 1 and all(k >= 1 for k in self.staleness), f"{path}.staleness: a non-empty list of integers >= 1")
        for name in ("domain_weights", "negative_keep"):
            for key, weight in getattr(self, name).items():
                _require(key.isdigit(), f"{path}.{name}: keys are domain numbers such as '0', got {key!r}")
                _require(0.0 <= weight <= 1.0, f"{path}.{name}.{key}: a keep fraction in [0, 1]")
        _require(all(w > 0 for w in self.negative_keep.values()), f"{path}.negative_keep: keep fractions must be > 0")
        check_device(self.device, path)


@dataclass
class VerticalConfig:
    """How one vertical model is trained on its domain's stream."""

    data: str = ""
    das: str = ""  # the DAS file (fm logits); required unless variant is 'plain'
    output: str = ""
    domain: int = 0
    variant: str = "plain"
    model: ModelConfig = field(default_factory=lambda: ModelConfig(**VM_DEFAULT))
    start_window: int = 2
    learning_rate: float = 0.01
    weight_decay: float = 0.1  # decoupled (AdamW) weight decay on every VM parameter, the same for every variant
    batch_size: int = 64  # the best plain-VM NE among 32/64/128/256 at one pass per window
    epochs_per_window: int = 1  # one pass per window: every example is seen once, as in a real stream
    distill_weight: float = 1.0
    adapter_weight: float = 1.0
    adapter_hidden: int = 8
    # The adapter reads the FM logit plus DAS context (staleness age, ids the FM never trained on) and the
    # dense features; False gives the scalar adapter MLP(fm_logit) of the first design.
    adapter_context: bool = True
    seed: int = 0
    threads: int = 0
    device: str = "cpu"  # 'cpu' or 'cuda'

    def validate(self, path: str) -> None:
        """Checks the variant and that distilling variants name a DAS file."""
        _require(self.variant in VARIANTS, f"{path}.variant: expected one of {', '.join(VARIANTS)}, got {self.variant!r}")
        _require(bool(self.data), f"{path}.data: the dataset folder written by generate-data is required")
        _require(self.variant == "plain" or bool(self.das), f"{path}.das: variant '{self.variant}' distils from the FM; pass the DAS file written by train-foundation")
        _require(self.domain >= 0 and self.start_window >= 1, f"{path}: domain must be >= 0 and start_window >= 1")
        _require(self.learning_rate > 0 and self.batch_size >= 1 and self.epochs_per_window >= 1, f"{path}: learning_rate, batch_size and epochs_per_window must be positive")
        _require(self.distill_weight >= 0 and self.adapter_weight >= 0 and self.adapter_hidden >= 1, f"{path}: weights must be >= 0 and adapter_hidden >= 1")
        _require(self.weight_decay >= 0, f"{path}.weight_decay: must be >= 0")
        check_device(self.device, path)
