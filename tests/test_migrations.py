"""Migrations: the head matches the models, and every step downgrades and upgrades cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from sottovoce.db.migrate import alembic_config, downgrade, upgrade
from sottovoce.db.models import Base


def test_head_matches_models(services):
    with services.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}), Base.metadata)
    assert diff == []


def test_every_revision_downgrades_and_upgrades(services):
    script = ScriptDirectory.from_config(alembic_config(services.engine))
    revisions = [r.revision for r in script.walk_revisions()]  # head first
    for revision in revisions:
        down_to = script.get_revision(revision).down_revision or "base"
        downgrade(services.engine, down_to)
    assert set(inspect(services.engine).get_table_names()) <= {"alembic_version"}
    upgrade(services.engine)
    assert {"accounts", "recordings", "hypotheses"} <= set(inspect(services.engine).get_table_names())


def test_script_heads_read_without_alembic_match_alembic():
    """The fast start-up check (migrate.upgrade_if_needed) must agree with Alembic on the head."""
    from alembic.script import ScriptDirectory

    from sottovoce.db.migrate import MIGRATIONS, script_heads

    assert script_heads() == set(ScriptDirectory(str(MIGRATIONS)).get_heads())
