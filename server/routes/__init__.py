"""Blueprints: parse the request, call a service, render or answer JSON."""
