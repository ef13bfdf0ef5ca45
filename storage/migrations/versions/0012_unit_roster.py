"""one roster of units: ``unit`` is the city's (one row per code), ``campaignunit`` the units each
campaign picks; progress rows are unique per campaign, unit and task

Every row is kept. One campaign: each unit gets a link row for its campaign. Several campaigns holding
the same code: the oldest row of the code (lowest id) becomes the roster's unit, with the name, area and
kind of the newest (the latest campaign file's); every row naming another row of that code (contact,
invite, draft, submission, unit progress, reminder) is repointed to it, and each campaign gets its link
row. Contacts of one code are then that unit's contacts in every campaign picking it.

Downgrade gives each campaign its own unit rows again: a unit picked by several campaigns stays the first
campaign's (the first to pick it) and is copied for each other one, whose drafts, submissions,
progress and reminders move to the copy; contacts and invites stay with the first. A unit no campaign
picks gets an empty campaign id.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: Names for the unnamed constraints SQLite reflects, so that batch mode can drop them.
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}
#: Every table whose rows name a unit, and whether the row belongs to one campaign (``campaign_id``).
UNIT_REFERENCES = {
    "contact": False,
    "invite": False,
    "draft": True,
    "submission": True,
    "unitprogress": True,
    "nudgerecord": True,
}


def _unique_name(table: str, columns: list[str]) -> str:
    """The name of an unnamed unique constraint: PostgreSQL's default, or ``SQLITE_NAMES``'s."""
    if op.get_bind().dialect.name == "sqlite":
        return f"uq_{table}_{'_'.join(columns)}"
    return f"{table}_{'_'.join(columns)}_key"


def _replace_unique(table: str, old: list[str], new: list[str]) -> None:
    with op.batch_alter_table(table, naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint(_unique_name(table, old), type_="unique")
        batch_op.create_unique_constraint(_unique_name(table, new), new)


def upgrade() -> None:
    op.create_table(
        "campaignunit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "unit_id"),
    )
    op.create_index("ix_campaignunit_unit_id", "campaignunit", ["unit_id"])

    # Finding a code's oldest row for every row that names a unit: without an index on the code that
    # is a scan of the units per row (minutes for 16,000 units held by two campaigns).
    op.create_index("ix_unit_code_id_merging", "unit", ["code", "id"])
    survivor = "(SELECT min(k.id) FROM unit k WHERE k.code = {code})"
    op.execute(
        "INSERT INTO campaignunit (campaign_id, unit_id) "
        f"SELECT u.campaign_id, {survivor.format(code='u.code')} FROM unit u ORDER BY u.id"
    )
    # Two campaigns' rows of one code and task become one unit's: progress is unique per campaign now.
    _replace_unique("unitprogress", ["unit_id", "task_id"], ["campaign_id", "unit_id", "task_id"])
    merged = "(SELECT min(id) FROM unit GROUP BY code)"
    for table in UNIT_REFERENCES:
        code = f"(SELECT u.code FROM unit u WHERE u.id = {table}.unit_id)"
        op.execute(
            f"UPDATE {table} SET unit_id = {survivor.format(code=code)} "
            f"WHERE unit_id IS NOT NULL AND unit_id NOT IN {merged}"
        )
    newest = "(SELECT n.{column} FROM unit n WHERE n.code = unit.code ORDER BY n.id DESC LIMIT 1)"
    op.execute(
        "UPDATE unit SET "
        + ", ".join(f"{column} = {newest.format(column=column)}" for column in ("name", "area", "kind"))
    )
    op.execute(f"DELETE FROM unit WHERE id NOT IN {merged}")
    op.drop_index("ix_unit_code_id_merging", table_name="unit")

    with op.batch_alter_table("unit", naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint(_unique_name("unit", ["campaign_id", "code"]), type_="unique")
        batch_op.drop_index("ix_unit_campaign_id")
        batch_op.drop_column("campaign_id")
        batch_op.create_unique_constraint(_unique_name("unit", ["code"]), ["code"])


def downgrade() -> None:
    with op.batch_alter_table("unit", naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint(_unique_name("unit", ["code"]), type_="unique")
        batch_op.add_column(sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))

    first = "(SELECT p.campaign_id FROM campaignunit p WHERE p.unit_id = unit.id ORDER BY p.id LIMIT 1)"
    op.execute(f"UPDATE unit SET campaign_id = coalesce({first}, '')")
    op.execute(
        "INSERT INTO unit (campaign_id, code, name, area, kind) "
        "SELECT p.campaign_id, u.code, u.name, u.area, u.kind FROM campaignunit p "
        "JOIN unit u ON u.id = p.unit_id WHERE p.campaign_id <> u.campaign_id ORDER BY p.id"
    )
    with op.batch_alter_table("unit", naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.alter_column("campaign_id", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False)
        batch_op.create_unique_constraint(
            _unique_name("unit", ["campaign_id", "code"]), ["campaign_id", "code"]
        )
        batch_op.create_index("ix_unit_campaign_id", ["campaign_id"], unique=False)
    for table, per_campaign in UNIT_REFERENCES.items():
        if per_campaign:  # a campaign's rows move to its copy of the unit, found by (campaign, code)
            copy = (
                f"(SELECT c.id FROM unit c JOIN unit u ON u.code = c.code "
                f"WHERE u.id = {table}.unit_id AND c.campaign_id = {table}.campaign_id)"
            )
            owner = f"(SELECT u.campaign_id FROM unit u WHERE u.id = {table}.unit_id)"
            op.execute(
                f"UPDATE {table} SET unit_id = {copy} "
                f"WHERE unit_id IS NOT NULL AND campaign_id <> {owner} AND {copy} IS NOT NULL"
            )
    _replace_unique("unitprogress", ["campaign_id", "unit_id", "task_id"], ["unit_id", "task_id"])
    op.drop_index("ix_campaignunit_unit_id", table_name="campaignunit")
    op.drop_table("campaignunit")
