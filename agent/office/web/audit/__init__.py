"""The audit log: append-only, hash-chained entries of who viewed, revealed or changed what."""
