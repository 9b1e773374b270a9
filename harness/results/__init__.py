"""A run's results: the typed model (model.py), computed from the store and a run id (build.py)."""
