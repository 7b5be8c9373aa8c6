"""The engine: graph wiring, the SessionRunner, and the EventBus that reports what happened."""
