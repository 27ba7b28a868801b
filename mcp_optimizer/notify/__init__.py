"""Notifications to the operator through apprise (Telegram, ntfy, email, Matrix, webhooks...).

- :mod:`.settings`: ``MCP_NOTIFY_*``, checked at start (a bad URL named without its secret).
- :mod:`.events`: what can be told (the per-event switch's names) and a message.
- :mod:`.format`: pure: a cycle's summary and the journal's changes into messages.
- :mod:`.ratelimit`: pure: at most N messages an hour, the suppressed counted in the next.
- :mod:`.sender`: apprise per URL with tenacity backoff; never raises, counts what failed.
- :mod:`.worker`: the notifier thread (bounded queue): a slow endpoint never delays a cycle.
"""
