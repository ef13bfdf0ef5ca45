"""outbox: an index on one chat's pending messages

The web page and the console take one contact's waiting messages (returns, reminders); without this
index that read walked every pending message of the channel, and 1,000 messages queued for other
browsers hid a contact's own.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outboxmessage_channel_chat_key_status_id",
        "outboxmessage",
        ["channel", "chat_key", "status", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_outboxmessage_channel_chat_key_status_id", table_name="outboxmessage")
