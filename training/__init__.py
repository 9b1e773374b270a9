"""Training recipes: distill, sft, qat, export_gguf; each a script with a YAML config (see README.md)."""
