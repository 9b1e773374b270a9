"""bench: an evaluation harness for small fine-tuned language models."""

__version__ = "0.1.0"
