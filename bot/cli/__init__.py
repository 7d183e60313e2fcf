"""The `convbot` command line."""
