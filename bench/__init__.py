"""Benchmarks of visitlog at street and district scale: ``python -m bench``.

Each case is timed as whole processes (the TUI headless) against a baseline
measured in the same run; see ``bench/README.md``.
"""
