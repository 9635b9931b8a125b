"""The interactive wizard (`mtls-doctor`, `mtls-doctor wizard`): symptom first, at most five questions to a verdict,
then the same pipeline as `check`.

asker.py asks (questionary, counted against the budget), symptoms.py maps what a person sees to a branch, flow.py
decides which questions a branch needs, session.py runs the check and the after-verdict menu.
"""
