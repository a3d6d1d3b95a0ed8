"""Prompt optimization, pure: the `Optimization` aggregate, its config, the Pareto front,
parent selection, acceptance and stopping rules, and the strategies (``gepa``, ``fewshot``,
``random``) that propose candidates. No I/O: the engine's loop (`engine.optimization`)
evaluates candidates as runs and asks the reflection model.
"""
