"""Evaluation runtime: datasets, runs, results, scheduling glue, reports."""
