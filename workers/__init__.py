"""RQ job functions and the worker command."""
