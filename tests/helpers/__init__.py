"""Test helpers: local fake API servers and the real SmolLM2 checkpoints the model tests build."""
