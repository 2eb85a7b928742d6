"""Storage: engines for SQLite and PostgreSQL (db), and each service's
Alembic migrations (migrations, alembic_env)."""
