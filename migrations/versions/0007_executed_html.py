"""submissions.executed_html: the executed notebook's cells, rendered once by the worker

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 19:30:00

The web process serves this HTML instead of rendering the notebook per request, so it never
loads nbconvert. Rows graded before this upgrade have none; the notebook page asks the
worker to render it on their first view.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("executed_html", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("executed_html")
