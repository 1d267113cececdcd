"""The implementation of ./stack (see docs/stack.md). Standard library only at import time:
the database and Kafka clients are imported where they are used, from .local/venv."""
