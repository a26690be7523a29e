"""KernelBench compatibility: problem files (Model, get_inputs, get_init_inputs) imported as kernel specs, with size scaling."""
