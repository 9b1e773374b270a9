"""The blinded judge: anonymize and order (blind.py), ask (prompts.py), parse and retry (judge.py)."""
