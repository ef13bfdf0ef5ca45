"""numberedlist: the numbered list a 公众号 follower was last asked to choose from, in its own table

The 公众号 channel kept it among the access tokens (``apitoken``, keys ``mp-menu:…``); those rows are
dropped (a list is only read for 7 days: a follower who answers one by its number after the upgrade
is asked again).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "numberedlist",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("chat_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("menu", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("shown_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_key"),
    )
    op.execute("DELETE FROM apitoken WHERE key LIKE 'mp-menu:%'")


def downgrade() -> None:
    op.drop_table("numberedlist")
