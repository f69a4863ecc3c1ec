"""The `recommend` command line: a thin click shell over the Python API.

Sub-command groups live in small private modules (``_cli_library``, ``_cli_bench``, ...)
and are registered here, the one place where names map to objects.
"""

from __future__ import annotations

import importlib
import sys

import click

from library.exceptions import WarmstartError

# command name -> "module:attribute" (imported lazily so `recommend --help` stays fast)
_COMMANDS: dict[str, str] = {
    "library": "recommender._cli_library:library_group",
    "bench": "recommender._cli_bench:bench_group",
    "suggest": "recommender._cli_suggest:suggest_command",
    "run": "recommender._cli_run:run_command",
    "featurize": "recommender._cli_featurize:featurize_command",
    "refresh": "recommender._cli_refresh:refresh_command",
    "explain": "recommender._cli_explain:explain_command",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in _COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:  # command not built yet
                return None
            raise
        return getattr(module, attribute)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """hp-warmstart: warm-start hyperparameter searches from a library of past tasks."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `recommend` console script.

    A `WarmstartError` becomes one line on stderr and exit code 1 (2 for usage errors);
    `--debug` shows the traceback instead.
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        cli.main(args=args, standalone_mode=False, prog_name="recommend")
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except WarmstartError as error:
        if "--debug" in args:
            raise
        click.echo(f"Error: {type(error).__name__}: {error}", err=True)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
