"""Loads a KernelBench-style `ModelNew(torch.nn.Module)` candidate; shared by every platform."""
import importlib.util
import sys

import torch

from .base import MissingEntry


class ModelBinding:
    """One call of a ModelNew on fixed inputs: the outputs are whatever forward returns."""

    def __init__(self, model, inputs, scalars):
        self.model = model
        self.inputs = inputs
        self.scalars = scalars
        self.outputs = None

    def __call__(self):
        with torch.no_grad():
            result = self.model(*self.inputs, **self.scalars)
        self.outputs = list(result) if isinstance(result, (tuple, list)) else [result]
        return self.outputs


class ModelKernel:
    """A loaded ModelNew instance."""

    returns_outputs = True

    def __init__(self, model):
        self.model = model

    def bind(self, inputs, dimensions, scalars, output_specs, outputs=None):
        """Prepares a call with the inputs positionally and the spec's scalars as keyword arguments (it returns its outputs)."""
        return ModelBinding(self.model, inputs, scalars)


def load_model_module(path, spec, place):
    """Imports the candidate file and builds ModelNew(*spec['initInputs']) (no arguments by default)."""
    module_spec = importlib.util.spec_from_file_location("candidate", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["candidate"] = module
    module_spec.loader.exec_module(module)
    model_class = getattr(module, "ModelNew", None)
    if not isinstance(model_class, type) or not issubclass(model_class, torch.nn.Module):
        raise MissingEntry("the source defines no class ModelNew(torch.nn.Module)")
    init_seed = (spec.get("kernelbench") or {}).get("initSeed")
    if init_seed is not None:
        # The reference Model was built under this seed: equal layers created in the same order get equal weights.
        torch.manual_seed(int(init_seed))
    model = model_class(*spec.get("initInputs", []))
    model.eval()
    return ModelKernel(model.to(place(torch.empty(0)).device))
