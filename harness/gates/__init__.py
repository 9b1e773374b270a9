"""Quality gates: specs and expressions (spec.py, imported by config), pure evaluation over Results
(evaluate.py), and outputs (output.py: Markdown and JUnit)."""
