"""Messaging: RabbitMQ names and queue arguments (topology), the confirmed
publisher the intakes use, the transactional outbox and its nameko relay, RPC
from outside nameko, and how a nameko service process starts."""
