"""The blinded judge: anonymize and order (blind.py), prompts (prompts.py), parse (parsing.py); the stages that
ask it through an `ask` callable: rankings and pairwise comparisons (compare.py), planted-instruction trials
(adversarial.py)."""
