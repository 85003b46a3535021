"""The ledger's reads, one module per concept, each a part of the ledger class.

``runs``: the runs themselves (finding, listing, baselines, pruning, reaping);
``results``: what a run's tests did (records, tasks, totals, troubled tests);
``details``: the rest a run recorded (events, workers, gates, validations, tools,
progress, routing, schedule, reports); ``history``: across runs (trends,
durations, flakiness); ``costs``; ``coverage`` (and the change under test);
``workstreams`` (a CI build's steps, and their combined run).
"""
