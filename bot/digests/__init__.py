"""Scheduled digests of open high-priority conversations."""
