"""inbox: each update's place in its chat's order, given by its channel

A messenger's own update ids do not always order a chat's messages: a 企业微信 card press has no MsgId
(its key is a hash of its fields), so ordered by id it could be handled before a text sent before it.
Each row now carries ``sequence`` — Telegram's update id, WeCom's CreateTime — and a chat's pending
updates are taken by (sequence, arrival). Rows already there keep their update id as their sequence.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inboxupdate") as batch:
        batch.add_column(sa.Column("sequence", sa.BigInteger(), nullable=True))
    op.execute("UPDATE inboxupdate SET sequence = update_id")
    with op.batch_alter_table("inboxupdate") as batch:
        batch.alter_column("sequence", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_index("ix_inboxupdate_channel_status_update_id")
        batch.create_index(
            "ix_inboxupdate_channel_status_sequence_id", ["channel", "status", "sequence", "id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inboxupdate") as batch:
        batch.drop_index("ix_inboxupdate_channel_status_sequence_id")
        batch.create_index("ix_inboxupdate_channel_status_update_id", ["channel", "status", "update_id"])
        batch.drop_column("sequence")
