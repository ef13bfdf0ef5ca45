"""share target: the village-cadre columns named for what they count, the campaign's share target

The campaign file now says which task, field and answer the city's share reads (city_targets.share);
``submission.village_cadre`` and ``unitprogress.village_cadres`` become ``in_share``. Values stay.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission") as batch:
        batch.alter_column("village_cadre", new_column_name="in_share")
    with op.batch_alter_table("unitprogress") as batch:
        batch.alter_column("village_cadres", new_column_name="in_share")


def downgrade() -> None:
    with op.batch_alter_table("unitprogress") as batch:
        batch.alter_column("in_share", new_column_name="village_cadres")
    with op.batch_alter_table("submission") as batch:
        batch.alter_column("in_share", new_column_name="village_cadre")
