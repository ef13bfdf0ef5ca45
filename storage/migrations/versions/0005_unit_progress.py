"""unit progress: running totals per unit and task, and what each submission counts; indexes on the
pending rows of the inbox and outbox

Submissions stored before this revision get ``counted`` NULL; the service fills it in from the
campaign's rules at start-up and rebuilds ``unitprogress`` (``dialogs.supervision.backfill_progress``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unitprogress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("village_cadres", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "task_id"),
    )
    with op.batch_alter_table("unitprogress", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unitprogress_campaign_id"), ["campaign_id"], unique=False)

    # the pending rows of the inbox and the outbox in order, without walking past the ones done
    with op.batch_alter_table("inboxupdate", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inboxupdate_channel_status_update_id", ["channel", "status", "update_id"], unique=False
        )
    with op.batch_alter_table("outboxmessage", schema=None) as batch_op:
        batch_op.create_index("ix_outboxmessage_channel_status_id", ["channel", "status", "id"], unique=False)

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("village_cadre", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outboxmessage", schema=None) as batch_op:
        batch_op.drop_index("ix_outboxmessage_channel_status_id")
    with op.batch_alter_table("inboxupdate", schema=None) as batch_op:
        batch_op.drop_index("ix_inboxupdate_channel_status_update_id")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("village_cadre")
        batch_op.drop_column("counted")

    with op.batch_alter_table("unitprogress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unitprogress_campaign_id"))

    op.drop_table("unitprogress")
