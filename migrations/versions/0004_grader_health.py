"""grader health: each worker's sandbox state and heartbeat, read by the web process

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 08:10:00

"""

from alembic import op
import sqlalchemy as sa

import server.models.base


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "grader_health",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", server.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", server.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grader_health")),
        sa.UniqueConstraint("worker", name=op.f("uq_grader_health_worker")),
    )
    with op.batch_alter_table("grader_health", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grader_health_checked_at"), ["checked_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("grader_health", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grader_health_checked_at"))
    op.drop_table("grader_health")
