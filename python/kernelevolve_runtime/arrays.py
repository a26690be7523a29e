"""Moves tensors between the worker and the runtime as .npy files, read back without pickle and without following links."""
import os
import stat

import numpy as np
import torch

from .inputs import DTYPE_NAMES, TORCH_DTYPES


class TransferError(ValueError):
    """A file the worker handed back that is missing, not a regular file, too large or not a plain array."""


def save_tensor(path, tensor):
    """Writes a CPU tensor to an .npy file and returns its description {file, dtype, shape}."""
    tensor = tensor.detach().to("cpu").contiguous()
    dtype = DTYPE_NAMES.get(tensor.dtype, str(tensor.dtype))
    # numpy has no bfloat16: the raw 16-bit patterns travel as int16.
    array = tensor.view(torch.int16).numpy() if tensor.dtype == torch.bfloat16 else tensor.numpy()
    np.save(path, array, allow_pickle=False)
    return {"file": os.path.basename(path), "dtype": dtype, "shape": list(tensor.shape)}


def load_tensor(directory, description, max_bytes):
    """Reads one array the worker wrote, refusing links, special files, pickles and oversized files."""
    name = description.get("file") if isinstance(description, dict) else None
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise TransferError(f"bad file name {name!r} in the worker's answer")
    path = os.path.join(directory, name)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise TransferError(f"cannot open {name}: {error.strerror}") from error
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
            raise TransferError(f"{name} is not a plain file")
        if status.st_size > max_bytes:
            raise TransferError(f"{name} is larger than expected ({status.st_size} bytes)")
        try:
            array = np.load(handle, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise TransferError(f"{name} is not a plain .npy array: {error}") from error
    dtype = description.get("dtype")
    if dtype == "bfloat16" and array.dtype == np.int16:
        return torch.from_numpy(array.copy()).view(torch.bfloat16), "bfloat16"
    tensor = torch.from_numpy(array.copy())
    return tensor, DTYPE_NAMES.get(tensor.dtype, str(tensor.dtype))


def expected_bytes(shape, dtype):
    """Bytes of a tensor of this shape and dtype (for the size cap on transfers)."""
    count = 1
    for extent in shape:
        count *= int(extent)
    return count * torch.empty(0, dtype=TORCH_DTYPES[dtype]).element_size()
