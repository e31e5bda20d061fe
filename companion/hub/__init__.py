"""The companion on JupyterHub: a hub-managed service that collects learners' ticks (never their
answers) into PostgreSQL or SQLite, and shows an instructor who is where in each course.

Needs the `hub` extra (jupyterhub, jinja2, sqlalchemy, alembic, psycopg); its pages are the Jinja2
templates in `templates/`. The learner's side, the sender that passes ticks here, is
`companion.kernel.sender` (standard library only).
"""
