"""The rule book: the only layer that decides anything (rules, identity, audit)."""
