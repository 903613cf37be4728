"""Files mypy checks and pytest never collects: the public API as a program uses it."""
