# A CLI call is short and its start-up is mostly imports (SQLAlchemy, the models, pydantic), which
# allocate many objects and few cycles: the cyclic collector pays ~10% of the start-up CPU for
# nothing. It is off until the command's services are open (cli/context.py turns it back on), so a
# long-running command (serve, demo, learn) collects as usual.
import gc

gc.disable()

from sottovoce.cli import app  # noqa: E402

app(prog_name="sottovoce")
