"""What the command-line tools share: env parameters as `--set KEY=VALUE ...`, device sync, JSON rows.

`python -m gpu_envs.play`, `python -m gpu_envs.benchmark` and the scripts in benchmarks/ and
tools/ import it, so that every CLI spells env parameters the same way and writes the same JSON.
It lives in the package (not in benchmarks/) because play and the benchmark ship as console
scripts. Internal to the project: not part of gpu_envs' API.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys

SET_FLAG = "--set"
DEPRECATED_SET_FLAGS = ("--param",)  # the benchmark's old name; still accepted, with a warning


class UsageError(ValueError):
    """A mistake in what the user asked for: a CLI reports it through `parser.error` (one
    `prog: error: ...` line, exit status 2), not as a traceback."""


def parse_params(items: list[str]) -> dict:
    """Env keyword arguments from KEY=VALUE strings, values parsed as Python literals where they
    parse (`substeps=4` -> 4, `object_mass_scale=(1.0,1.0)` -> a tuple, `asset=my.xml` -> a str).
    UsageError for an item without `KEY=`."""
    params = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"env parameters take KEY=VALUE (got {item!r})")
        try:
            params[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[key] = text
    return params


class _SetAction(argparse.Action):
    """Collects KEY=VALUE items (the flag may repeat); warns on a deprecated spelling."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in DEPRECATED_SET_FLAGS:
            print(f"{parser.prog}: warning: {option_string} is deprecated, use {SET_FLAG}", file=sys.stderr)
        setattr(namespace, self.dest, [*getattr(namespace, self.dest), *values])


def add_set_argument(parser: argparse.ArgumentParser, help_text: str = "env parameters (the env's config "
                     "fields), e.g. substeps=4 solver_iterations=8") -> None:
    """`--set KEY=VALUE ...` into `args.set` (a list of strings; `env_params` turns it into a dict)."""
    parser.add_argument(SET_FLAG, dest="set", nargs="*", default=[], action=_SetAction, metavar="KEY=VALUE",
                        help=help_text)
    parser.add_argument(*DEPRECATED_SET_FLAGS, dest="set", nargs="*", default=[], action=_SetAction,
                        help=argparse.SUPPRESS)


def env_params(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict:
    """`args.set` as env keyword arguments; a malformed item ends the program through `parser.error`."""
    try:
        return parse_params(args.set)
    except UsageError as err:
        parser.error(str(err))


def _int_at_least(text: str, minimum: int, words: str) -> int:
    """`text` as an int >= `minimum`; otherwise an argparse error naming the value and `words`."""
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be a {words} integer (got {text!r})")
    return value


def positive_int(text: str) -> int:
    """argparse type: an int >= 1; otherwise an error naming the value and what is allowed."""
    return _int_at_least(text, 1, "positive")


def non_negative_int(text: str) -> int:
    """argparse type: an int >= 0 (a seed); otherwise an error naming the value."""
    return _int_at_least(text, 0, "non-negative")


def make_env(env_id: str, **kwargs):
    """`gymnasium.make_vec(env_id, **kwargs)`, with what the user got wrong (an unknown id, a
    bad parameter, device or backend, a missing model, too many envs) as a UsageError."""
    import gymnasium as gym

    from .sim import AssetError

    try:
        return gym.make_vec(env_id, **kwargs)
    except gym.error.Error as err:  # unknown env id (gymnasium's NameNotFound and the like)
        from .tasks import env_ids

        raise UsageError(f"{err} (gpu_envs' env ids: {', '.join(env_ids())})") from err
    except (ValueError, TypeError, AssetError, ImportError, MemoryError) as err:
        raise UsageError(f"cannot create {env_id}: {err}") from err


def positive_ints(text: str) -> list[int]:
    """argparse type: comma-separated positive ints, e.g. "4096,65536"."""
    try:
        values = [positive_int(item) for item in text.split(",") if item.strip()]
    except argparse.ArgumentTypeError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers (got {text!r})")
    return values


def block_until_ready(env) -> None:
    """Wait until the device has finished every reset and step issued so far on a gpu_envs env
    or a gymnasium wrapper of one (JAX and torch dispatch asynchronously: time with this)."""
    env.unwrapped.block_until_ready()


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """`--json PATH` into `args.json` (None: no file)."""
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the rows to this JSON file")


def print_row(row: dict) -> None:
    """One result row as one line of JSON on stdout."""
    print(json.dumps(row), flush=True)


def write_rows(rows: list[dict], path: str | None) -> None:
    """Write result rows as a JSON list to `path` (nothing when path is None)."""
    if path:
        with open(path, "w") as f:
            json.dump(rows, f, indent=1)
