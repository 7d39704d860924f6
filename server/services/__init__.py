"""Services: the only code that commits, enqueues jobs or publishes events."""
