"""The positions table: where a learner stopped in each video (position, duration, seconds played).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("learner", sa.String(255), primary_key=True),
        sa.Column("course", sa.String(200), primary_key=True),
        sa.Column("lesson", sa.String(200), primary_key=True),
        sa.Column("item", sa.String(200), primary_key=True),
        sa.Column("position", sa.Float, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("played", sa.Float, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_positions_course_learner", "positions", ["course", "learner"])


def downgrade() -> None:
    op.drop_index("ix_positions_course_learner", "positions")
    op.drop_table("positions")
