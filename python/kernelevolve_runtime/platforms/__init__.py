"""Runtime platforms (plug-ins), looked up by id in registry.py."""
