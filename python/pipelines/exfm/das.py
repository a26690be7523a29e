"""Data Augmentation System: FM predictions logged per window and joined into the VMs' training stream."""
from __future__ import annotations

import os
from typing import Dict, Tuple

import torch

from .config import ConfigError


def snapshot_for_window(window: int, history_windows: int, staleness: int) -> int:
    """The last window the published FM had trained on when `window` is served: refreshes every `staleness` windows.

    The FM first publishes after its history (through window history_windows-1); a refresh publishes the
    model trained through the window just before it, so with staleness 1 the FM is always one window behind.
    """
    if window < history_windows:
        raise ValueError(f"window {window} precedes the end of the FM's history ({history_windows} windows)")
    return history_windows - 1 + ((window - history_windows) // staleness) * staleness


def join_fm_logits(rows: int, window_of_row: torch.Tensor, predictions: Dict[int, Tuple[torch.Tensor, torch.Tensor, int]]) -> Dict[str, torch.Tensor]:
    """Joins per-window FM predictions (row ids, logits, snapshot) into columns aligned with the dataset's rows.

    Rows without a prediction keep NaN and snapshot -1, so a VM can tell 'no FM yet' from a prediction.
    """
    fm_logit = torch.full((rows,), float("nan"))
    snapshot = torch.full((rows,), -1, dtype=torch.int64)
    for window, (row_ids, logits, source) in predictions.items():
        if not bool((window_of_row[row_ids] == window).all()):
            raise ValueError(f"DAS rows for window {window} include rows of another window")
        fm_logit[row_ids] = logits.float()
        snapshot[row_ids] = source
    return {"fm_logit": fm_logit, "fm_snapshot": snapshot}


def join_unseen_ids(rows: int, predictions: Dict[int, Tuple[torch.Tensor, torch.Tensor, int]], unseen: Dict[int, Tuple[torch.Tensor, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """Per-row flags: the user / the ad id was absent from everything the serving FM snapshot trained on."""
    user, ad = torch.zeros(rows, dtype=torch.bool), torch.zeros(rows, dtype=torch.bool)
    for window, (row_ids, _, _) in predictions.items():
        user[row_ids], ad[row_ids] = unseen[window]
    return {"fm_unseen_user": user, "fm_unseen_ad": ad}


def adapter_context(columns: Dict[str, torch.Tensor], window: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """The student adapter's cheap inputs besides the FM logit, one row per example.

    [staleness age = window - FM snapshot window, user id unseen by the FM, ad id unseen by the FM, dense...]:
    all known at serving time of the FM prediction, none needs the VM's trunk. DAS files without the id flags
    (older files) give zeros there.
    """
    rows = window.numel()
    device = dense.device
    age = (window.to(device) - columns["fm_snapshot"].to(device)).float().clamp(min=0)
    flags = [columns.get(name, torch.zeros(rows, dtype=torch.bool)).to(device).float() for name in ("fm_unseen_user", "fm_unseen_ad")]
    return torch.cat([age.unsqueeze(1), torch.stack(flags, 1), dense.float()], dim=1)


def adapter_context_width(dense_features: int) -> int:
    """Number of columns adapter_context returns."""
    return 3 + dense_features


def write_das(path: str, columns: Dict[str, torch.Tensor], staleness: int) -> None:
    """Saves one DAS file (the FM columns for every row of the dataset)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    torch.save({**columns, "staleness": torch.tensor(staleness)}, path)


def load_das(path: str, rows: int) -> Dict[str, torch.Tensor]:
    """Reads a DAS file and checks it belongs to a dataset of `rows` examples."""
    if not os.path.isfile(path):
        raise ConfigError(f"no DAS file at {path!r}; run train-foundation and pass one of the 'das' paths it returned")
    columns = torch.load(path, weights_only=True)
    if columns["fm_logit"].numel() != rows:
        raise ConfigError(f"DAS file {path!r} has {columns['fm_logit'].numel()} rows but the dataset has {rows}; it was made for another dataset")
    return columns
