"""Performance measurements of bench against its targets (`python benchmarks/run.py`); not tests."""
