"""Pytest fixtures that give a host project's tests an offline Defacto."""
