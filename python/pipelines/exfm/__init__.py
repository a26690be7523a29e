"""ExFM at small scale: a foundation model distilled into per-domain vertical models over a drifting ads stream."""
