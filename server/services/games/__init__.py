"""Live trivia games: banks, games as stored state machines, players, answers, scores, reports.

The area owns the Quiz, Game, Player, Answer and MissedQuestion rows. Its modules:
service (the public face routes and other areas call), core (shared lookups, errors,
events to the host), host (the host's actions), play (joining, answering, self-paced
moves), views (what each viewer sees, stream filters), scoring (settling questions and
final ranks), report (results after a game), banks (trivia banks in the database, Kahoot
CSV), names (nicknames, PINs, tokens), rate (the per-player answer limit) and timers
(deadline timers, coalesced host updates). The lateness rule is graders.trivia.is_late.

Import the modules themselves (`from server.services.games import service`); this file
imports nothing, so importing one module does not load the others.
"""
