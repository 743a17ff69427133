"""Human review: sampling (sampler.py), task leases (tasks.py), submissions (submissions.py),
quality (quality.py), what a reviewer may see (projection.py) and removing it all (purge.py)."""
