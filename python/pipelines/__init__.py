"""Production ML pipelines driven as agent tools: AOViFT (microscopy aberration sensing) and ExFM."""
