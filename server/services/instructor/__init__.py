"""The instructor's side: members and roles, score overrides, meetup events, statistics,
exports, similarity, and the leaderboards everyone sees (which weigh exercises and trivia).

    members      accounts, roles, submissions filtered for the dashboard
    scores       overrides (kept in history, audited)
    meetups      meetup events: a time window of exercises and games with its own board
    leaderboard  overall, per-exercise, per-event and per-game standings (cached per change)
    stats        per-exercise statistics
    exports      gradebook CSV
    similarity   near-identical graded functions
"""
