"""Flashcards: shared decks (trivia banks, exercise facts), members' own decks and their
"missed in games" deck, FSRS study, Anki CSV exchange and review statistics.

Modules, lowest first: base (errors, limits, clock, deck lookups), queries (the hot SQL),
seed (the shared decks), cards (own cards, the missed deck), reviews (due counts, next card,
reviews, settings), csv_io (Anki CSV import and export), stats (heatmap, retention, forecast).
"""
