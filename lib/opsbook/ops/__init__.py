"""Time and people: job files (`jobs`), the scheduler (`schedule`), the run history and its page (`history`),
alerts (`notify`). Imports `engine` and everything below it."""
