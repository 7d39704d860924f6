"""Services: the rules of each area, called by routes (HTTP), jobs (worker) and the CLI.

Areas are packages (grading, games, flashcards, instructor, live); the few modules
at this level are shared by all of them: the exercise catalog, accounts, the audit
log, the seed command and the one error type (StatusError) every service raises.
"""
