"""Tests of the rule engine's invariants: Kleene logic of the conditions, a crashing rule, not_evaluated."""
