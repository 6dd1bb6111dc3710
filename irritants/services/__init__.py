"""Domain operations: validate, write, commit, then enqueue side effects."""
