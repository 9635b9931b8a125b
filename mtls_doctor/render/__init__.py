"""Renderers: they explain findings and facts; they decide nothing."""
