"""Visits, their lifecycle and their patient invites."""
