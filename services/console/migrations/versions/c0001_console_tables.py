"""console tables

Revision ID: c0001
Revises:
Create Date: 2026-11-23 11:16:19.859986
"""

import sqlalchemy as sa
from alembic import op

revision = 'c0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_kb_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_kb_articles'))
    )
    with op.batch_alter_table('console_kb_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_kb_articles_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_kb_articles_language'), ['language'], unique=False)

    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
    sa.UniqueConstraint('name', name=op.f('uq_console_users_name'))
    )
    op.create_table('console_kb_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('helped', sa.Boolean(), nullable=False),
    sa.Column('query', sa.String(length=300), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['console_kb_articles.id'],
                            name=op.f('fk_console_kb_feedback_article_id_console_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_kb_feedback'))
    )
    with op.batch_alter_table('console_kb_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_kb_feedback_article_id'), ['article_id'], unique=False)

    op.create_table('console_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['console_users.id'],
                            name=op.f('fk_console_sessions_user_id_console_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_console_sessions'))
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_sessions_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_console_sessions_expires_at'))

    op.drop_table('console_sessions')
    with op.batch_alter_table('console_kb_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_kb_feedback_article_id'))

    op.drop_table('console_kb_feedback')
    op.drop_table('console_users')
    with op.batch_alter_table('console_kb_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_kb_articles_language'))
        batch_op.drop_index(batch_op.f('ix_console_kb_articles_category'))

    op.drop_table('console_kb_articles')
