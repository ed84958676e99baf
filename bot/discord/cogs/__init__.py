"""One cog per user-facing feature: ask, admin, feedback, and the error handler."""
