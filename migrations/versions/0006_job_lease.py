"""submissions.worker and lease_until: who is grading a running job, and until when

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 12:00:00

A running job's worker renews its lease every few seconds; a job whose lease ran out (or
whose worker is gone) is queued again at once instead of after its time limit. Rows
running before this upgrade have no lease and are judged by age, as before.
"""

from alembic import op
import sqlalchemy as sa

import server.models.base


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", server.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("worker")
