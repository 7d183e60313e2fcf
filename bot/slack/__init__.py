"""The Slack surface: Bolt listeners (thin), Block Kit drawing, identity and permissions."""
