"""Load programs: ``python -m benchmarks.NAME`` prints its figures and a baseline measured in the same run."""
