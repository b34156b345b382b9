"""pending actions: the per-service index carries the effective date, so that a service page's
scheduled changes are read through it in date order (SQLite otherwise walked every pending row)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('pending_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_actions_service')
        batch_op.create_index('ix_pending_actions_service', ['service_id', 'status', 'effective_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_actions_service')
        batch_op.create_index('ix_pending_actions_service', ['service_id', 'status'], unique=False)
