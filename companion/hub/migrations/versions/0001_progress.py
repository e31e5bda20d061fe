"""The progress table: one row per learner, course, lesson and item.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "progress",
        sa.Column("learner", sa.String(255), primary_key=True),
        sa.Column("course", sa.String(200), primary_key=True),
        sa.Column("lesson", sa.String(200), primary_key=True),
        sa.Column("item", sa.String(200), primary_key=True),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_progress_course_learner", "progress", ["course", "learner"])


def downgrade() -> None:
    op.drop_index("ix_progress_course_learner", "progress")
    op.drop_table("progress")
