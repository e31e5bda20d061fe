"""The companion on JupyterHub: a hub-managed service that collects learners' ticks (never their
answers) into PostgreSQL or SQLite, and shows an instructor who is where in each course.

Needs the `hub` extra (jupyterhub, sqlalchemy, alembic, psycopg). The learner's side, the sender
that passes ticks here, is `companion.kernel.sender` (standard library only).
"""
