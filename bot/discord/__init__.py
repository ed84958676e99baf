"""The Discord front end: a discord.py bot with one cog per feature; the cogs call the engine."""
