"""On-call: schedules (who is on call, when) and escalation policies (whom to page, in order).

`config` models the `oncall:` section of convbot.yml; `rota` answers who is on call at an instant
and when that changes. Both are pure: no I/O, no clock.
"""
