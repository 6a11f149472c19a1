"""What people touch: the `opsbook` command (`cli`), the forms server (`serve`) and its pages (`forms`).
Nothing imports this package."""
