"""Builds compare.json and compare.md from the files compare_kernelbench.sh leaves in $OUT (missing ones are reported)."""
import argparse
import json
import os

KERNELBENCH_CHECKS = [
    ("correctness trials", "5 (fresh seeded get_inputs() each)"),
    ("sizes", "1 (the problem's own)"),
    ("comparison", "shape, then torch.allclose atol=rtol=1e-2 against Model in fp32"),
    ("float64 / precision check", "no"),
    ("NaN/Inf check", "only through allclose (NaN fails)"),
    ("input mutation / output aliasing / stale result", "no"),
    ("re-verification of large speed-ups", "no (a >10x speed-up prints a warning)"),
    ("timing", "3 warm-up, 1 discarded + 100 timed, CUDA events, 256 MB L2 flush before each, mean reported"),
    ("hidden-work check (side streams, host threads)", "no (events on the current stream only)"),
    ("sandbox", "none: the candidate runs in the harness process"),
]

PROJECT_CHECKS = [
    ("correctness trials", "options.trials per size (odd trials reuse the buffers: stale_result)"),
    ("sizes", "every size of the spec (small and bench = full here)"),
    ("comparison", "per-element tolerance against the reference at the declared dtype"),
    ("float64 / precision check", "yes: error vs a float64 reference, compared with fp32's own error"),
    ("NaN/Inf check", "yes (nan_or_inf)"),
    ("input mutation / output aliasing / stale result", "yes"),
    ("re-verification of large speed-ups", "yes: fresh inputs and a second timing"),
    ("timing", "interleaved candidate/reference, CUDA events, L2 flush, median; wall-clock cross-check"),
    ("hidden-work check (side streams, host threads)", "yes (suspicious_timing), launch guard on torch compute"),
    ("sandbox", "confined worker: namespaces, seccomp, no network, own /tmp"),
]


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--kernelbench-wall", type=float, required=True)
    parser.add_argument("--kernelbench-exit", type=int, required=True)
    parser.add_argument("--project-wall", type=float, required=True)
    parser.add_argument("--project-exit", type=int, required=True)
    parser.add_argument("--project-timeout", type=float, required=True)
    parser.add_argument("--project-options", default="{}")
    parser.add_argument("--label", default="")
    arguments = parser.parse_args(argv)
    out = arguments.out
    kernelbench = _read(os.path.join(out, "kernelbench.json")) or {}
    project_file = _read(os.path.join(out, "project.json")) or {}
    profile = _read(os.path.join(out, "project-profile.json")) or {}
    stages = _read(os.path.join(out, "stages.json")) or {}
    project = (project_file.get("results") or [{}])[0].get("result", {})
    timed_out = arguments.project_exit in (124, 137)
    summary = {
        "label": arguments.label,
        "problem": "KernelBench level 1 #19 ReLU, 4096 x 393216 float32",
        "candidate": "scripts/gpu/kernelbench/relu_modelnew_triton.py (@triton.jit ModelNew)",
        "device": (kernelbench.get("metadata") or {}).get("hardware") or stages.get("device"),
        "kernelbench": {"wallSeconds": arguments.kernelbench_wall, "exit": arguments.kernelbench_exit,
                        "correct": kernelbench.get("correctness"), "runtimeMs": kernelbench.get("runtime"),
                        "referenceMs": kernelbench.get("ref_runtime"), "speedup": kernelbench.get("speedup"),
                        "phaseSeconds": kernelbench.get("phaseSeconds"), "trialSeconds": kernelbench.get("trialSeconds")},
        "project": {"wallSeconds": arguments.project_wall, "exit": arguments.project_exit, "timedOut": timed_out,
                    "timeoutSeconds": arguments.project_timeout, "options": arguments.project_options,
                    "status": project.get("status"), "stage": project.get("stage"), "reason": project.get("reason"),
                    "speedup": project.get("speedup"), "durations": project.get("durations"), "flags": project.get("flags"),
                    "trials": len(project.get("trials") or []),
                    "timings": [{"size": entry.get("size"), "candidateMedianMs": (entry.get("candidate") or {}).get("medianMs"),
                                 "referenceMedianMs": (entry.get("reference") or {}).get("medianMs"), "speedup": entry.get("speedup")}
                                for entry in project.get("timings") or []],
                    "runtimeSide": profile.get("runtimeSide"), "peakRssMiB": profile.get("peakRssMiB")},
        "stages": stages.get("medianSeconds"),
        "checks": {"kernelbench": dict(KERNELBENCH_CHECKS), "project": dict(PROJECT_CHECKS)},
    }
    kb_wall, project_wall = arguments.kernelbench_wall, arguments.project_wall
    summary["ratioProjectOverKernelbench"] = round(project_wall / kb_wall, 2) if kb_wall > 0 else None
    with open(os.path.join(out, "compare.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)

    def fmt(value, digits=2):
        return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))

    lines = [f"# KernelBench loop vs this project's evaluate: {summary['problem']}", "",
             f"Device: {summary['device'] or 'unknown'}. Candidate: {summary['candidate']}. {arguments.label}", "",
             "| | KernelBench loop | this project |", "|---|---|---|",
             f"| wall seconds per candidate (fresh process) | {fmt(kb_wall, 1)} | {fmt(project_wall, 1)}{' (timed out)' if timed_out else ''} |",
             f"| verdict | {'correct' if kernelbench.get('correctness') else kernelbench.get('metadata', {}).get('correctness_issue', 'failed')} | "
             f"{project.get('status', 'no result')}{(' at ' + str(project.get('stage')) + ': ' + str(project.get('reason'))) if project.get('status') == 'failed' else ''} |",
             f"| candidate time (ms) | {fmt(kernelbench.get('runtime'), 3)} (mean) | "
             f"{', '.join(fmt(entry['candidateMedianMs'], 3) + ' @' + str(entry['size']) for entry in summary['project']['timings']) or '-'} (median) |",
             f"| reference time (ms) | {fmt(kernelbench.get('ref_runtime'), 3)} | "
             f"{', '.join(fmt(entry['referenceMedianMs'], 3) + ' @' + str(entry['size']) for entry in summary['project']['timings']) or '-'} |",
             f"| speed-up | {fmt(kernelbench.get('speedup'))} | {fmt(project.get('speedup'))} |"]
    for name, kb_text in KERNELBENCH_CHECKS:
        lines.append(f"| {name} | {kb_text} | {dict(PROJECT_CHECKS)[name]} |")
    lines += ["", "KernelBench phases (s): " + json.dumps(kernelbench.get("phaseSeconds")),
              "", "Project stage durations (s): " + json.dumps(project.get("durations")),
              "", "Project runtime-side functions (s, calls): " + json.dumps(profile.get("runtimeSide"))
              + f"; peak RSS of the runtime process {fmt(profile.get('peakRssMiB'), 0)} MiB"]
    if stages.get("medianSeconds"):
        lines += ["", "One correctness trial's steps at the full size (profile_stages.py, s):", "",
                  "| step | seconds |", "|---|---|"] + [f"| {name} | {fmt(value, 3)} |" for name, value in stages["medianSeconds"].items()]
    with open(os.path.join(out, "compare.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
