"""The seed specs on hosts that run the Python runtime without Node (the GPU host): contract/seed-specs.json, the specs of
seeds/specs/*.yaml as the TypeScript loader validates them (written by `npm run contract:schemas`; a jest test fails when
it is stale). Specs reach Python as JSON only: there is no YAML reader here."""
import json
import os

from .spec import SpecError, normalize_spec

_REPOSITORY = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
SEED_SPECS = os.path.join(_REPOSITORY, "contract", "seed-specs.json")
SEEDS_FOLDER = os.path.join(_REPOSITORY, "seeds", "specs")


def load_seed_specs(path=SEED_SPECS):
    """Every spec by id, each checked by normalize_spec. `path`: the seed-spec export (default; any file of the form
    {"specs": {id: spec}}), the seeds/specs folder (read through that export), or a folder of .json spec files."""
    if os.path.isdir(path) and os.path.isdir(SEEDS_FOLDER) and os.path.samefile(path, SEEDS_FOLDER):
        path = SEED_SPECS
    if os.path.isdir(path):
        specs = {}
        for name in sorted(os.listdir(path)):
            if name.endswith((".yaml", ".yml")):
                raise SpecError(f"{os.path.join(path, name)}: specs reach the Python runtime as JSON; write this one with "
                                "`kernelevolve specs show <file> --json`")
            if name.endswith(".json"):
                spec = load_spec_json(os.path.join(path, name))
                specs[spec["id"]] = spec
        return specs
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    if not isinstance(document, dict) or not isinstance(document.get("specs"), dict):
        raise SpecError(f"{path}: expected {{\"specs\": {{id: spec, ...}}}} (the form of contract/seed-specs.json)")
    return {spec_id: normalize_spec(spec) for spec_id, spec in document["specs"].items()}


def load_spec_json(path):
    """One spec from a .json file: a spec, or the output of `kernelevolve specs show <id> --json` (its `spec` field)."""
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    return normalize_spec(raw["spec"] if isinstance(raw, dict) and isinstance(raw.get("spec"), dict) else raw)
