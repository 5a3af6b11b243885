"""The sample V1 project under v1_project/ has its own tests: run as a subprocess, not here."""

collect_ignore = ["v1_project"]
