"""Experiments: commands that reproduce a claim and write its table (and figures)."""
