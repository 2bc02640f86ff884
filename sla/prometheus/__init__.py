"""Prometheus: the server the harness starts for a run (server.py) and the client every read goes
through (client.py)."""
