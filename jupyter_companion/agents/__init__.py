"""Agents that run by themselves: definitions, schedules, webhooks, runs, saved prompts (issue 13).

- :mod:`.definitions` -- an agent body checked field by field;
- :mod:`.schedule` -- cron expressions in a time zone (pure, clock passed in);
- :mod:`.scheduler` -- the schedule trigger on the event loop;
- :mod:`.runs` -- a run from its trigger to the end of its session's turn;
- :mod:`.service` -- agents, secrets, webhooks, saved prompts, import/export.
"""
