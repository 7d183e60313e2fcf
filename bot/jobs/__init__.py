"""APScheduler jobs: scheduled work that claims each tick before it runs."""
