"""Legacy langswarm import path, kept by langswarm-compat (see toolware.compat.v1)."""
