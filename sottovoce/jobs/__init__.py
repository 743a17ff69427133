"""Background work: the durable job queue and its worker, periodic duties, crash recovery, and the job functions."""
