"""API keys of integrators: created on the command line, stored hashed, shown once."""
