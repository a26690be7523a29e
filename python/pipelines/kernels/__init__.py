"""Pipeline -> kernels -> pipeline: measure a pipeline's hot operators, write kernel specs for them, and swap optimised
kernels back into the pipeline's training and inference steps as torch custom operators (see docs/pipeline-kernels.md)."""
