"""stronger sign-in: an administrator role, email, TOTP and recovery codes,
session stage and idle time, sign-in locks, password reset links, the audit

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-28 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'c0002'
down_revision = 'c0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_pending_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('totp_enrolled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_console_users_email'), ['email'])

    # Sessions from before have no stage or idle time: everyone signs in again, once.
    op.execute("DELETE FROM console_sessions")
    with op.batch_alter_table('console_sessions', schema=None, recreate='always') as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=16), server_default='signed_in', nullable=False))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False))

    op.create_table('console_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['console_users.id'],
                            name=op.f('fk_console_recovery_codes_user_id_console_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_recovery_codes')),
    sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_console_recovery_codes_user_id'))
    )
    op.create_table('console_password_resets',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['console_users.id'],
                            name=op.f('fk_console_password_resets_user_id_console_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_console_password_resets'))
    )
    with op.batch_alter_table('console_password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_password_resets_user_id'), ['user_id'], unique=False)

    op.create_table('console_sign_in_locks',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_console_sign_in_locks'))
    )
    with op.batch_alter_table('console_sign_in_locks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sign_in_locks_last_failure_at'), ['last_failure_at'],
                              unique=False)

    op.create_table('console_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('user_name', sa.String(length=100), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_audit'))
    )
    with op.batch_alter_table('console_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_audit_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_audit_at'))
    op.drop_table('console_audit')
    with op.batch_alter_table('console_sign_in_locks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sign_in_locks_last_failure_at'))
    op.drop_table('console_sign_in_locks')
    with op.batch_alter_table('console_password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_password_resets_user_id'))
    op.drop_table('console_password_resets')
    op.drop_table('console_recovery_codes')
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('stage')
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_console_users_email'), type_='unique')
        batch_op.drop_column('totp_enrolled_at')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_pending_secret')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('email')
