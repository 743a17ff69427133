from sottovoce.cli import app

app(prog_name="sottovoce")
