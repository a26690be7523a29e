"""Static checks on a candidate's source before anything is compiled or run.

Each check has a name, a default mode (strict rejects, warn records) and a function returning
findings. Extend CHECKS to add checks (e.g. KernelBench reward-hack patterns); options.staticChecks
overrides the mode per check name ("strict", "warn" or "off").
"""


def _line_of(source, offset):
    return source.count("\n", 0, offset) + 1


def check_forbidden_calls(source, language, spec):
    """Finds the spec's constraints.forbiddenCalls substrings in the source."""
    findings = []
    for needle in spec.get("constraints", {}).get("forbiddenCalls", []) or []:
        if not needle:
            continue
        offset = source.find(needle)
        if offset >= 0:
            findings.append({"message": f"the source uses '{needle}', which this spec forbids", "line": _line_of(source, offset)})
    return findings


def check_include_paths(source, language, spec):
    """C++/CUDA: every #include names a header literally, by a relative path without '..' (the compile's view holds
    only the system's and the runtime's headers anyway, mounts.minimal_view); no #embed, #include_next or .incbin."""
    if language not in ("cpp", "cuda"):
        return []
    from ..kernelbench.source_scan import include_findings

    return include_findings(source)


# name -> (default mode, function(source, language, spec) -> [{message, line?}])
CHECKS = {
    "forbidden_call": ("strict", check_forbidden_calls),
    "include_path": ("strict", check_include_paths),
}

# Reward-hack checks (library compute, fallbacks, threads, streams, patched timers, lazy outputs, precision,
# outside access, caching): python/kernelevolve_runtime/kernelbench/hack_checks.py.
from ..kernelbench.hack_checks import HACK_CHECKS  # noqa: E402 - registered after the built-in checks

CHECKS.update(HACK_CHECKS)

# The failure reason a strict finding of each check produces; other checks give "static_check".
REASONS = {"forbidden_call": "forbidden_call", "include_path": "forbidden_call", "precision_downgrade": "precision_downgrade"}


def run_static_checks(source, language, spec, modes=None):
    """Runs every check not switched off and returns StaticFinding dicts (check, severity, message, line)."""
    modes = modes or {}
    findings = []
    for name, (default_mode, check) in CHECKS.items():
        mode = modes.get(name, default_mode)
        if mode == "off":
            continue
        for finding in check(source, language, spec):
            entry = {"check": name, "severity": mode, "message": finding["message"]}
            if finding.get("line") is not None:
                entry["line"] = finding["line"]
            findings.append(entry)
    return findings


def rejection_reason(findings):
    """The failure reason of the first strict finding, or None when nothing is strict."""
    for finding in findings:
        if finding["severity"] == "strict":
            return REASONS.get(finding["check"], "static_check")
    return None
